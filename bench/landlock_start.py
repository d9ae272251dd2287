#!/usr/bin/env python3
"""What the Landlock backend adds to `oxvirt start` (and `destroy`), next to dac+cgroup.

Two embedded roots in one run, the same domain (the test guest's kernel and initrd, one
raw disk, a file serial), runs interleaved (A B B A A B ...), medians of N and the median of
the per-pair ratios (robust to the machine's speed drifting):
  dac+cgroup:          user/group = nobody/nogroup, security_driver = "dac"
                       (chown + remembered owners, the cgroup device ACL)
  dac+cgroup+landlock: the same, security_driver = ["dac", "landlock"]
                       (+ the ruleset built at the kernel's ABI, no_new_privs,
                       landlock_restrict_self before exec)
Measured: wall time of `oxvirt start` (returns once QEMU runs after `cont`) and of
`oxvirt destroy`. Needs root.

    python3 bench/landlock_start.py [-n 10]      (after `cargo build --workspace --bins`)
"""
import argparse, os, statistics, subprocess, sys, tempfile, time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OXVIRT = os.path.join(REPO, "target", "debug", "oxvirt")

XML = """<domain type='qemu'>
  <name>bench</name>
  <memory unit='MiB'>128</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{root}/vmlinuz</kernel><initrd>{root}/initrd</initrd>
    <cmdline>console=ttyS0 quiet</cmdline></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{root}/disk.img'/><target dev='vda' bus='virtio'/></disk>
    <serial type='file'><source path='{root}/serial.log'/><target port='0'/></serial>
  </devices>
</domain>
"""

ROWS = (
    ("dac+cgroup", 'security_driver = "dac"\n'),
    ("dac+cgroup+landlock", 'security_driver = ["dac", "landlock"]\n'),
)


def timed(uri, *args):
    t0 = time.monotonic()
    subprocess.run([OXVIRT, "-c", uri, *args], check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - t0


def make_root(base, name, config, kernel, initrd):
    root = os.path.join(base, name)
    os.makedirs(os.path.join(root, "etc"))
    os.chmod(base, 0o711)
    os.chmod(root, 0o711)
    with open(os.path.join(root, "etc", "qemu.toml"), "w") as f:
        f.write('user = "nobody"\ngroup = "nogroup"\n' + config)
    for src, dst in ((kernel, "vmlinuz"), (initrd, "initrd")):
        with open(src, "rb") as i, open(os.path.join(root, dst), "wb") as o:
            o.write(i.read())
    with open(os.path.join(root, "disk.img"), "wb") as f:
        f.truncate(16 << 20)
    xml = os.path.join(root, "bench.xml")
    with open(xml, "w") as f:
        f.write(XML.format(root=root))
    uri = f"qemu:///embed?root={root}"
    subprocess.run([OXVIRT, "-c", uri, "define", xml], check=True, stdout=subprocess.DEVNULL)
    return uri


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=10)
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root")
    kernel, initrd = subprocess.run(
        ["bash", os.path.join(REPO, "tests", "fixtures", "build-guest.sh")],
        check=True, capture_output=True, text=True).stdout.split()
    with tempfile.TemporaryDirectory(prefix="oxl", dir="/tmp") as base:
        uris = [make_root(base, str(i), cfg, kernel, initrd) for i, (_, cfg) in enumerate(ROWS)]
        for uri in uris:  # warm-up (capability cache, page cache)
            timed(uri, "start", "bench")
            timed(uri, "destroy", "bench")
        res = [([], []) for _ in ROWS]
        for k in range(a.n):
            order = range(len(uris)) if k % 2 == 0 else reversed(range(len(uris)))
            for i in order:
                uri = uris[i]
                res[i][0].append(timed(uri, "start", "bench"))
                res[i][1].append(timed(uri, "destroy", "bench"))
        for op, idx in (("start", 0), ("destroy", 1)):
            base_t, ll_t = res[0][idx], res[1][idx]
            b, l = statistics.median(base_t), statistics.median(ll_t)
            ratio = statistics.median(x / y for x, y in zip(ll_t, base_t))
            print(f"{op:8} {ROWS[0][0]} {b * 1000:7.1f} ms   {ROWS[1][0]} {l * 1000:7.1f} ms   "
                  f"ratio {ratio:.3f} (median of pair ratios; min {min(ll_t) * 1000:.1f} / "
                  f"{min(base_t) * 1000:.1f} ms; N={a.n})")


if __name__ == "__main__":
    main()
