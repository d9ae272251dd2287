#!/bin/sh
# What the AppArmor backend adds to `oxvirt start` (and `destroy`), next to DAC only, in
# the LSM test VM (AppArmor enforcing). Two embedded roots, the same domain (one disk, no
# OS: QEMU runs with its disk open), runs interleaved, medians of N:
#   dac:     security_driver = "none" (as root the driver stacks DAC: chown, xattrs)
#   apparmor: security_driver = "apparmor" (+ DAC: oxvirt-aa-helper -c, apparmor_parser -r, exec PROFILE; destroy: -D)
# Measured: wall time of `oxvirt start` (returns when QEMU runs after `cont`) and of
# `oxvirt destroy` (labels restored). Run from the checkout after `cargo build`:
#
#   scripts/lsm-vm --quiet apparmor -- sh "$PWD/bench/apparmor_start.sh" [N]
set -eu
N=${1:-5}
B=$(cd "$(dirname "$0")/.." && pwd)/target/debug
now() { date +%s%N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
for m in dac apparmor; do
    r=/var/lib/oxbench/$m
    mkdir -p $r/etc
    if [ $m = dac ]; then d=none; else d=apparmor; fi
    printf 'security_driver = "%s"\n' $d >$r/etc/qemu.toml
    head -c 1048576 /dev/zero >$r/disk.img
    echo "<domain type='qemu'><name>bench</name><memory unit='MiB'>32</memory><os><type>hvm</type></os><devices><disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$r/disk.img'/><target dev='vda' bus='virtio'/></disk></devices></domain>" >$r/bench.xml
    "$B/oxvirt" -c "qemu:///embed?root=$r" define $r/bench.xml >/dev/null
done
for i in $(seq "$N"); do
    for m in dac apparmor; do
        u="qemu:///embed?root=/var/lib/oxbench/$m"
        t0=$(now); "$B/oxvirt" -c "$u" start bench >/dev/null; t1=$(now)
        "$B/oxvirt" -c "$u" destroy bench >/dev/null; t2=$(now)
        echo "$m start $(((t1 - t0) / 1000000))" >>/tmp/bench.times
        echo "$m destroy $(((t2 - t1) / 1000000))" >>/tmp/bench.times
    done
done
for what in start destroy; do
    dac=$(awk -v w=$what '$1 == "dac" && $2 == w { print $3 }' /tmp/bench.times | median)
    sel=$(awk -v w=$what '$1 == "apparmor" && $2 == w { print $3 }' /tmp/bench.times | median)
    echo "$what: dac ${dac} ms, apparmor ${sel} ms, ratio $(awk -v a=$sel -v b=$dac 'BEGIN { printf "%.2f", a / b }') (median of $N)"
done
