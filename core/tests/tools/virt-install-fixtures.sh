#!/bin/sh
# How core/tests/data/virt-install-*.xml and dumpxml-virt-install-*.xml were made
# (virtinst 4.1.0 and libvirt 9.0.0 from Debian 12, no libvirtd):
#   - virt-install runs against qemu:///embed?root=DIR through virt-install-embed.py
#     (registers libvirt's event loop, which the embedded driver needs, and skips
#     storage-pool probing, which it does not have);
#   - as an unprivileged user (as root the embedded driver wants the libvirt-qemu user);
#   - disks must exist already (--import / path=...), no size=;
#   - dumpxml-*: `virsh -c qemu:///embed?root=DIR define` + `dumpxml` of the same output.
# Image paths were then rewritten from $IMGS to /var/lib/libvirt/images.
set -e
W=${W:-/tmp/xml2}
IMGS=$W/imgs
mkdir -p "$W/root" "$IMGS"; chown 65534:65534 "$W/root"; chmod 755 "$W"
truncate -s 1G "$IMGS/g.qcow2"; touch "$IMGS/vmlinuz" "$IMGS/initrd.img" "$IMGS/install.iso"
chmod -R a+rwX "$IMGS"
cp "$(dirname "$0")/virt-install-embed.py" "$W/vi.py"; chmod 644 "$W/vi.py"
vi() { HOME=$W/root setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 "$W/vi.py" \
  --connect "qemu:///embed?root=$W/root" --print-xml --check path_in_use=off "$@"; }
B="--memory 1024 --vcpus 2 --os-variant debian11 --network network=default"
D="--disk path=$IMGS/g.qcow2,format=qcow2"
vi --name g $B $D --import --graphics vnc > "$W/virt-install-q35-vnc.xml"
vi --name g-spice $B $D --import --graphics spice > "$W/virt-install-q35-spice.xml"
vi --name g-pc $B --machine pc $D --import --graphics vnc > "$W/virt-install-pc-vnc.xml"
vi --name g-kernel $B $D --boot kernel=$IMGS/vmlinuz,initrd=$IMGS/initrd.img,kernel_args="console=ttyS0 root=/dev/vda1" --graphics none > "$W/virt-install-kernel-nographics.xml"
# --cdrom prints two documents (install, then post-install); the fixture is the first.
vi --name g-cdrom $B $D --cdrom $IMGS/install.iso --graphics vnc | awk '{print} /^<\/domain>/{exit}' > "$W/virt-install-cdrom.xml"
vi --name g-misc --memory 2048 --vcpus 4,sockets=1,cores=2,threads=2 --cpu qemu64,+x2apic,-vmx \
  --os-variant debian11 --disk path=$IMGS/g.qcow2,format=qcow2,discard=unmap --import \
  --network network=default --graphics vnc,listen=127.0.0.1 --video qxl --sound ac97 \
  --serial pty,log.file=/var/log/libvirt/qemu/g-misc-serial.log,log.append=on \
  --boot loader=/usr/share/OVMF/OVMF_CODE.fd,loader.readonly=yes,loader.type=pflash,nvram.template=/usr/share/OVMF/OVMF_VARS.fd \
  --machine pc > "$W/virt-install-pc-misc.xml"
# --boot uefi fails here: no OVMF installed ("Did not find any UEFI binary path").
V() { HOME=$W/root setpriv --reuid=65534 --regid=65534 --clear-groups virsh -c "qemu:///embed?root=$W/root" "$@"; }
for n in q35-vnc:g q35-spice:g-spice pc-vnc:g-pc pc-misc:g-misc; do
  chmod a+r "$W/virt-install-${n%%:*}.xml"
  V define "$W/virt-install-${n%%:*}.xml" >/dev/null
  V dumpxml "${n#*:}" > "$W/dumpxml-virt-install-${n%%:*}.xml"
done
