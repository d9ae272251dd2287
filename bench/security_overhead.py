#!/usr/bin/env python3
"""What DAC + the cgroup device ACL add to `oxvirt start`, next to no confinement.

Two embedded roots, same guest and disk, runs interleaved, median of N:
  baseline: security_driver = "none", dynamic_ownership = false, cgroup_controllers = []
            (as root the driver still stacks DAC, as libvirt does; with ownership and
            cgroups off it has nothing to do and QEMU stays root)
  dac:      user/group = a dedicated unprivileged user, dynamic_ownership and
            remember_owner on, the cgroup v1 device ACL
Measured: wall time of `oxvirt start` (returns once QEMU runs after `cont`), and of
`oxvirt destroy` (labels restored, cgroup removed). Needs root.

    python3 bench/security_overhead.py [-n 5]      (after `cargo build --workspace`)
"""
import argparse, os, pwd, statistics, subprocess, sys, tempfile, time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OXVIRT = os.path.join(REPO, "target", "debug", "oxvirt")
USER = "oxvirt-qemu-bench"

XML = """<domain type='qemu'>
  <name>bench</name>
  <memory unit='MiB'>256</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{root}/vmlinuz</kernel><initrd>{root}/initrd</initrd>
    <cmdline>console=ttyS0 quiet</cmdline></os>
  <features><acpi/></features>
  <devices>
    <disk type='file' device='disk'><source file='{root}/disk.img'/><target dev='vda' bus='virtio'/></disk>
    <serial type='file'><source path='{root}/serial.log'/><target port='0'/></serial>
  </devices>
</domain>
"""


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
        f.write(config)
    for src, dst in ((kernel, "vmlinuz"), (initrd, "initrd")):
        with open(src, "rb") as i, open(os.path.join(root, dst), "wb") as o:
            o.write(i.read())
    with open(os.path.join(root, "disk.img"), "wb") as f:
        f.truncate(64 << 20)
    xml = os.path.join(root, "bench.xml")
    with open(xml, "w") as f:
        f.write(XML.format(root=root))
    uri = f"qemu:///embed?root={root}"
    subprocess.run([OXVIRT, "-c", uri, "define", xml], check=True, stdout=subprocess.DEVNULL)
    return uri


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=5)
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root")
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", USER], check=True)
    kernel, initrd = subprocess.run(
        ["bash", os.path.join(REPO, "tests", "fixtures", "build-guest.sh")],
        check=True, capture_output=True, text=True).stdout.split()
    with tempfile.TemporaryDirectory(prefix="oxs", dir="/tmp") as base:
        none = make_root(base, "n", 'security_driver = "none"\ndynamic_ownership = false\ncgroup_controllers = []\n', kernel, initrd)
        dac = make_root(base, "d", f'user = "{USER}"\ngroup = "{USER}"\n', kernel, initrd)
        res = {"none": ([], []), "dac": ([], [])}
        for uri in (none, dac):  # warm-up
            timed(uri, "start", "bench")
            timed(uri, "destroy", "bench")
        for _ in range(a.n):
            for key, uri in (("none", none), ("dac", dac)):
                res[key][0].append(timed(uri, "start", "bench"))
                res[key][1].append(timed(uri, "destroy", "bench"))
        for op, idx in (("start", 0), ("destroy", 1)):
            n, d = statistics.median(res["none"][idx]), statistics.median(res["dac"][idx])
            print(f"{op:8} none {n * 1000:7.1f} ms   dac+cgroup {d * 1000:7.1f} ms   "
                  f"ratio {d / n:.3f}   (+{(d - n) * 1000:.1f} ms, median of {a.n})")


if __name__ == "__main__":
    main()
