#!/usr/bin/python3
"""Many domains: oxvirtd against a private libvirtd, the same calls in the same run.

The root grows 0 -> 10 -> 100 -> 1000 (-> 10000 with --sizes); at each size, for each
daemon in turn (oxvirtd, then libvirtd, then oxvirtd again for the repeated figures):

  fill             defining up to the size, per op (python3-libvirt defineXML)
                   (per op = the median call: a define is one fsync on the shared disk)
  define / op      50 more defines at that size, per op
  undefine / op    those 50 undefined again, per op
  listAllDomains   one call, median of 5
  lookupByName     median of 200 calls (random names)
  dom.info         median of 200 calls (virsh dominfo's call)
  virsh list --all one virsh process, median of 3
  daemon RSS       VmRSS of the daemon after the fill
  restart          SIGTERM, start again, until listAllDomains answers with every domain

and, with --boot N first, N test guests started at once (one thread and connection
each) until every one printed its marker on the serial console.

and prints a table of medians (milliseconds, MiB) with the ratio oxvirtd / libvirtd
(below 1 = oxvirtd faster). The daemons are set up as bench/rpc_vs_libvirtd.py does:
oxvirtd as root on a temp root and socket dir; libvirtd (/usr/sbin/libvirtd) as a
session daemon under uid 65534 with HOME and XDG_RUNTIME_DIR in the temp dir.

    cargo build --workspace --bins
    /usr/bin/python3 bench/scale.py [--sizes 10,100,1000,10000] [--boot 20]
        [--libvirtd /usr/sbin/libvirtd] [--oxvirtd target/release/oxvirtd]
"""
import argparse, os, random, shutil, signal, statistics, subprocess, sys, tempfile, time
import uuid as uuidlib

import libvirt
libvirt.registerErrorHandler(lambda _ctx, _err: None, None)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUEST = os.environ.get("OXVIRT_GUEST_DIR") or os.path.expanduser("~/.cache/oxvirt/guest")
MARKER = b"OXVIRT-GUEST-READY"
NOBODY = 65534
BATCH = 50
OXVIRTD = [os.path.join(REPO, "target", "debug", "oxvirtd")]

XML = """<domain type='qemu'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <features><acpi/></features>
</domain>
"""


def xml(name):
    return XML.format(name=name, uuid=uuidlib.uuid5(uuidlib.NAMESPACE_DNS, name))


def ms(t):
    return t * 1000.0


class Daemon:
    def __init__(self, kind, tmp, libvirtd):
        self.kind, self.tmp, self.libvirtd = kind, tmp, libvirtd
        self.proc = None
        if kind == "ox":
            self.sock = f"{tmp}/oxs/oxvirt-sock"
            self.uri = f"qemu+unix:///system?socket={self.sock}"
        else:
            self.home, self.run = f"{tmp}/lvhome", f"{tmp}/lvrun"
            os.makedirs(f"{self.home}/.config/libvirt")
            os.makedirs(self.run)
            open(f"{self.home}/.config/libvirt/qemu.conf", "w").write(
                'stdio_handler = "file"\nsecurity_driver = "none"\n')
            open(f"{self.home}/.config/libvirt/libvirtd.conf", "w").write(
                'unix_sock_rw_perms = "0777"\nauth_unix_rw = "none"\n')
            for d in [self.home, self.run]:
                subprocess.run(["chown", "-R", f"{NOBODY}:{NOBODY}", d], check=True)
            self.sock = f"{self.run}/libvirt/libvirt-sock"
            self.uri = f"qemu+unix:///session?socket={self.sock}"

    def spawn(self):
        log = open(os.path.join(self.tmp, f"{self.kind}.log"), "a")
        if self.kind == "ox":
            cmd = [OXVIRTD[0], "--socket-dir", f"{self.tmp}/oxs", "--root", f"{self.tmp}/oxroot"]
        else:
            cmd = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                   "env", "-i", f"HOME={self.home}", f"XDG_RUNTIME_DIR={self.run}",
                   "PATH=/usr/bin:/bin", self.libvirtd]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log)

    def start(self, expect):
        """Spawn and wait until listAllDomains answers with `expect` domains: seconds."""
        t0 = time.monotonic()
        self.spawn()
        while time.monotonic() - t0 < 120:
            if self.proc.poll() is not None:
                sys.exit(f"{self.kind} exited; see {self.tmp}/{self.kind}.log")
            try:
                c = libvirt.open(self.uri)
                n = len(c.listAllDomains(0))
                if n == expect:
                    dt = time.monotonic() - t0
                    self.conn = c
                    return dt
                c.close()
            except libvirt.libvirtError:
                pass
            time.sleep(0.005)
        sys.exit(f"{self.kind} did not answer with {expect} domains")

    def stop(self):
        try:
            self.conn.close()
        except Exception:
            pass
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def rss_mib(self):
        for line in open(f"/proc/{self.proc.pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
        return float("nan")


def per_op(f, items):
    """Median of the calls' times (a define is one fsync: the mean is the disk's
    slowest moments, shared with whatever else writes to it)."""
    ts = []
    for i in items:
        t0 = time.monotonic()
        f(i)
        ts.append(time.monotonic() - t0)
    return statistics.median(ts) if ts else 0.0


def median_call(f, n):
    ts = []
    for _ in range(n):
        t0 = time.monotonic()
        f()
        ts.append(time.monotonic() - t0)
    return statistics.median(ts)


def measure(d, size, have):
    """Grow `d` from `have` to `size` domains and take every figure at that size."""
    c = d.conn
    r = {}
    names = [f"scale-{i}" for i in range(have, size)]
    r["fill, per op"] = ms(per_op(lambda n: c.defineXML(xml(n)), names))
    extra = [f"extra-{size}-{i}" for i in range(BATCH)]
    r["define, per op"] = ms(per_op(lambda n: c.defineXML(xml(n)), extra))
    r["undefine, per op"] = ms(per_op(lambda n: c.lookupByName(n).undefine(), extra))
    r["listAllDomains"] = ms(median_call(lambda: c.listAllDomains(0), 5))
    pick = lambda: f"scale-{random.randrange(size)}"
    r["lookupByName"] = ms(median_call(lambda: c.lookupByName(pick()), 200))
    doms = [c.lookupByName(f"scale-{random.randrange(size)}") for _ in range(20)]
    r["dom.info (dominfo)"] = ms(median_call(lambda: random.choice(doms).info(), 200))
    virsh = lambda: subprocess.run(["virsh", "-c", d.uri, "list", "--all"],
                                   capture_output=True, check=True)
    r["virsh list --all"] = ms(median_call(virsh, 3))
    r["daemon RSS (MiB)"] = d.rss_mib()
    d.stop()
    r["restart to first list"] = ms(d.start(size))
    return r


GUEST_XML = """<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{d}/vmlinuz</kernel>
    <initrd>{d}/initramfs.cpio.gz</initrd>
    <cmdline>console=ttyS0 quiet</cmdline>
  </os>
  <devices>
    <serial type='file'><source path='{d}/{name}.serial'/><target port='0'/></serial>
  </devices>
</domain>
"""


def parallel_boot(d, guest, count):
    """Start `count` guests at once (a thread and connection each): seconds until every
    guest printed its marker; then destroy and undefine them."""
    import threading
    names = [f"{d.kind}-boot-{i}" for i in range(count)]
    for n in names:
        d.conn.defineXML(GUEST_XML.format(name=n, d=guest))
    errors = []

    def start(n):
        try:
            libvirt.open(d.uri).lookupByName(n).create()
        except libvirt.libvirtError as e:
            errors.append(f"{n}: {e}")
    t0 = time.monotonic()
    threads = [threading.Thread(target=start, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        sys.exit("parallel start failed: " + "; ".join(errors))
    left = set(names)
    while left and time.monotonic() - t0 < 600:
        for n in list(left):
            try:
                if MARKER in open(f"{guest}/{n}.serial", "rb").read():
                    left.discard(n)
            except OSError:
                pass
        time.sleep(0.02)
    dt = time.monotonic() - t0
    for n in names:
        dom = d.conn.lookupByName(n)
        dom.destroy()
        dom.undefine()
        os.unlink(f"{guest}/{n}.serial")
    if left:
        sys.exit(f"guests never booted: {sorted(left)}")
    return dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10,100,1000")
    ap.add_argument("--libvirtd", default="/usr/sbin/libvirtd")
    ap.add_argument("--oxvirtd", default=OXVIRTD[0], help="the oxvirtd binary (debug build)")
    ap.add_argument("--boot", type=int, default=0,
                    help="also start this many test guests at once, until all booted")
    a = ap.parse_args()
    OXVIRTD[0] = a.oxvirtd
    sizes = [int(s) for s in a.sizes.split(",")]
    tmp = tempfile.mkdtemp(prefix="oxscale", dir="/tmp")
    os.chmod(tmp, 0o755)
    daemons = [Daemon("ox", tmp, a.libvirtd), Daemon("lv", tmp, a.libvirtd)]
    rows = []
    try:
        for d in daemons:
            d.start(0)
        boots = {}
        if a.boot:
            guest = os.path.join(tmp, "g")
            os.makedirs(guest)
            for f in ["vmlinuz", "initramfs.cpio.gz"]:
                shutil.copy(os.path.join(GUEST, f), guest)
            subprocess.run(["chown", "-R", f"{NOBODY}:{NOBODY}", guest], check=True)
            os.chmod(guest, 0o777)
            for d in daemons:
                boots[d.kind] = ms(parallel_boot(d, guest, a.boot))
        have = 0
        for size in sizes:
            got = {}
            for d in daemons:
                got[d.kind] = measure(d, size, have)
                print(f"  {d.kind} at {size}: done", file=sys.stderr, flush=True)
            rows.append((size, got))
            have = size
        print(f"{libvirt.getVersion()} python3-libvirt; oxvirtd {os.path.relpath(a.oxvirtd, REPO)}; "
              f"median per call in ms unless named; ratio = oxvirtd / libvirtd")
        print(f"{'figure':<24} {'domains':>7} {'oxvirtd':>10} {'libvirtd':>10} {'ratio':>7}")
        if boots:
            o, l = boots["ox"], boots["lv"]
            print(f"{f'{a.boot} guests at once':<24} {'-':>7} {o:10.0f} {l:10.0f} {o / l:7.2f}")
        for key in rows[0][1]["ox"]:
            for size, got in rows:
                o, l = got["ox"][key], got["lv"][key]
                print(f"{key:<24} {size:>7} {o:10.2f} {l:10.2f} {o / l:7.2f}")
    finally:
        for d in daemons:
            if d.proc and d.proc.poll() is None:
                d.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
