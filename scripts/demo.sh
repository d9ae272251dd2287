#!/usr/bin/env bash
# Boot the tiny test guest through oxvirt's embedded QEMU driver, confined, and show its
# console. QEMU runs as the unprivileged user `oxvirt-qemu` (created if missing) with no
# capabilities, in its own cgroup with libvirt's device ACL; its files are chowned to that
# user while it runs and given back afterwards (DAC backend, docs/security.md).
#
#   scripts/demo.sh            (as root on Debian 12 with Rust; installs what it needs)
#
# Steps: apt-get the system packages if missing, build the workspace, build the guest
# (Debian's cloud kernel + a busybox initramfs, cached in ~/.cache/oxvirt/guest), then
# `oxvirt define` + `oxvirt start` in a fresh root, wait for the guest's marker on its
# serial console, print the console, `dominfo`, and `destroy`.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in qemu-system-x86 busybox-static cpio; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if ((${#need[@]})); then
    echo "== installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${need[@]}"
fi

echo "== building oxvirt"
cargo build --workspace --quiet
OXVIRT=$PWD/target/debug/oxvirt

echo "== building the test guest"
mapfile -t files < <(bash tests/fixtures/build-guest.sh)
KERNEL=${files[0]}
INITRD=${files[1]}

QEMU_USER=oxvirt-qemu
id -u "$QEMU_USER" >/dev/null 2>&1 ||
    useradd --system --no-create-home --shell /usr/sbin/nologin "$QEMU_USER"

ROOT=$(mktemp -d /tmp/oxvirt-demo.XXXXXX)
chmod 711 "$ROOT" # the QEMU user must be able to reach its files under the root
URI="qemu:///embed?root=$ROOT"
trap '"$OXVIRT" -c "$URI" destroy demo >/dev/null 2>&1 || true; rm -rf "$ROOT"' EXIT
mkdir -p "$ROOT/etc"
cat >"$ROOT/etc/qemu.toml" <<TOML
user = "$QEMU_USER"
group = "$QEMU_USER"
TOML
# The guest's cache under \$HOME is not reachable by the QEMU user: copy it into the root.
cp "$KERNEL" "$ROOT/vmlinuz"
cp "$INITRD" "$ROOT/initrd"
KERNEL=$ROOT/vmlinuz
INITRD=$ROOT/initrd

cat >"$ROOT/demo.xml" <<XML
<domain type='qemu'>
  <name>demo</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$KERNEL</kernel>
    <initrd>$INITRD</initrd>
    <cmdline>console=ttyS0 quiet</cmdline>
  </os>
  <features><acpi/></features>
  <devices>
    <serial type='file'><source path='$ROOT/console.log'/><target port='0'/></serial>
  </devices>
</domain>
XML

echo "== oxvirt -c '$URI'"
"$OXVIRT" -c "$URI" define "$ROOT/demo.xml"
start=$(date +%s.%N)
"$OXVIRT" -c "$URI" start demo
for _ in $(seq 600); do
    grep -q OXVIRT-GUEST-READY "$ROOT/console.log" 2>/dev/null && break
    sleep 0.1
done
end=$(date +%s.%N)
echo "== guest console ($ROOT/console.log)"
tr -d '\r' <"$ROOT/console.log" | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1bc//g'
echo
if ! grep -q OXVIRT-GUEST-READY "$ROOT/console.log"; then
    echo "== the guest did not print its marker within 60 s; QEMU log:" >&2
    cat "$ROOT/log/qemu/demo.log" >&2
    exit 1
fi
printf '== guest marker %.2f s after oxvirt start\n' "$(python3 -c "print($end-$start)")"
"$OXVIRT" -c "$URI" dominfo demo
PID=$(sed -n "s/.* pid='\([0-9]*\)'.*/\1/p" "$ROOT/run/qemu/demo.xml")
echo "== QEMU (pid $PID) confinement"
grep -E '^(Uid|Gid|Groups|CapEff|CapBnd):' "/proc/$PID/status"
echo "cgroup: $(grep devices "/proc/$PID/cgroup")"
echo "owner of the kernel while running: $(stat -c %U:%G "$KERNEL")"

"$OXVIRT" -c "$URI" destroy demo
"$OXVIRT" -c "$URI" domstate --reason demo
echo "owner of the kernel after destroy: $(stat -c %U:%G "$KERNEL")"

