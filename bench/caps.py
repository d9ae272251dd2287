#!/usr/bin/env python3
"""QEMU capability probing: oxvirt next to libvirt 9 on the same machine.

Reports (median of N runs each, interleaved):
  * cold `capabilities`: a fresh root, every QEMU binary probed;
  * warm `capabilities`: the same root again, answered from cache/qemu/capabilities;
  * for libvirt: `virsh -c 'qemu:///embed?root=DIR' capabilities`, same two cases
    (libvirt's own QEMU driver in-process; DIR/etc/qemu.conf sets user/group root, stdio_handler file, no cgroups);
  * the number of QMP commands QEMU receives for one `start` (warm cache), counted by
    QEMU itself: the domain carries `<qemu:arg value='-trace'/>
    <qemu:arg value='monitor_qmp_cmd_in_band'/>`, every command becomes a line in the
    domain log. The same for libvirt's `virsh create` when it can run here.

    python3 bench/caps.py [-n 5]      (after `cargo build -p oxvirt --bins`)

Debian's libvirt refuses to start without a `libvirt-qemu` user; when the host has
none, virsh runs in a private mount namespace with a passwd/group copy that has it
(needs root; nothing on the host changes).
"""
import argparse, os, shutil, statistics, subprocess, sys, tempfile, time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OXVIRT = os.path.join(REPO, "target", "debug", "oxvirt")


def timed(cmd, **kw):
    t = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    dt = time.monotonic() - t
    if p.returncode != 0:
        raise RuntimeError(f"{cmd} failed: {p.stderr.decode()}")
    return dt, p.stdout.decode()


class Virsh:
    """virsh with the embedded QEMU driver, in a namespace that has libvirt-qemu."""

    def __init__(self, work):
        self.prefix = ["virsh"]
        has_user = subprocess.run(["getent", "passwd", "libvirt-qemu"],
                                  stdout=subprocess.DEVNULL).returncode == 0
        if not has_user:
            pw, gr = os.path.join(work, "passwd"), os.path.join(work, "group")
            shutil.copy("/etc/passwd", pw)
            shutil.copy("/etc/group", gr)
            with open(pw, "a") as f:
                f.write("libvirt-qemu:x:64055:64055:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin\n")
            with open(gr, "a") as f:
                f.write("libvirt-qemu:x:64055:\n")
            self.prefix = ["unshare", "-m", "sh", "-c",
                           f"mount --bind {pw} /etc/passwd && mount --bind {gr} /etc/group && exec virsh \"$@\"",
                           "virsh"]

    def root(self, parent):
        d = tempfile.mkdtemp(prefix="lv", dir=parent)
        os.makedirs(os.path.join(d, "etc"))
        with open(os.path.join(d, "etc", "qemu.conf"), "w") as f:
            # No virtlogd and no cgroups here: QEMU's stderr goes to the log file.
            f.write('user = "root"\ngroup = "root"\nstdio_handler = "file"\ncgroup_controllers = [ ]\n')
        return d

    def cmd(self, root, *args):
        return self.prefix + ["-c", f"qemu:///embed?root={root}", *args]


TRACE_DOMAIN = """<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>{name}</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>
  <qemu:commandline>
    <qemu:arg value='-trace'/>
    <qemu:arg value='monitor_qmp_cmd_in_band'/>
  </qemu:commandline>
</domain>
"""


def count_in(path, needle=":monitor_qmp_cmd_in_band "):
    """Trace lines (`PID@TIME:monitor_qmp_cmd_in_band "ID"`), not the argv line."""
    try:
        with open(path, errors="replace") as f:
            return f.read().count(needle)
    except FileNotFoundError:
        return None


def ox_start_qmp(parent):
    root = tempfile.mkdtemp(prefix="oxq", dir=parent)
    uri = f"qemu:///embed?root={root}"
    subprocess.run([OXVIRT, "-c", uri, "capabilities"], check=True, stdout=subprocess.DEVNULL)
    xml = os.path.join(root, "t.xml")
    with open(xml, "w") as f:
        f.write(TRACE_DOMAIN.format(name="qmpcount"))
    subprocess.run([OXVIRT, "-c", uri, "create", xml], check=True, stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    n = count_in(os.path.join(root, "log/qemu/qmpcount.log"))
    subprocess.run([OXVIRT, "-c", uri, "destroy", "qmpcount"], stdout=subprocess.DEVNULL)
    return n


def libvirt_start_qmp(virsh, parent):
    root = virsh.root(parent)
    subprocess.run(virsh.cmd(root, "capabilities"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    xml = os.path.join(root, "t.xml")
    with open(xml, "w") as f:
        f.write(TRACE_DOMAIN.format(name="qmpcount"))
    # One virsh process: create, then destroy (the embedded driver lives as long as virsh).
    p = subprocess.run(virsh.cmd(root, f"create {xml}; destroy qmpcount"),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    n = count_in(os.path.join(root, "log/qemu/qmpcount.log"))
    if p.returncode != 0 and not n:
        return None, p.stderr.decode().strip().splitlines()[-1:] or ["?"]
    return n, None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=5)
    a = ap.parse_args()
    if not os.path.exists(OXVIRT):
        sys.exit(f"{OXVIRT} missing: cargo build -p oxvirt --bins")
    work = tempfile.mkdtemp(prefix="capsbench", dir="/tmp")
    virsh = Virsh(work)
    res = {k: [] for k in ("ox_cold", "ox_warm", "lv_cold", "lv_warm")}
    try:
        for _ in range(a.n):
            root = tempfile.mkdtemp(prefix="ox", dir=work)
            uri = f"qemu:///embed?root={root}"
            res["ox_cold"].append(timed([OXVIRT, "-c", uri, "capabilities"])[0])
            res["ox_warm"].append(timed([OXVIRT, "-c", uri, "capabilities"])[0])
            lroot = virsh.root(work)
            res["lv_cold"].append(timed(virsh.cmd(lroot, "capabilities"))[0])
            res["lv_warm"].append(timed(virsh.cmd(lroot, "capabilities"))[0])
        med = {k: statistics.median(v) for k, v in res.items()}
        print(f"capabilities, median of {a.n} (s):   oxvirt      libvirt     libvirt/oxvirt")
        print(f"  cold (empty root, probe)      {med['ox_cold']:8.3f}   {med['lv_cold']:8.3f}   {med['lv_cold']/med['ox_cold']:8.1f}x")
        print(f"  warm (cached)                 {med['ox_warm']:8.3f}   {med['lv_warm']:8.3f}   {med['lv_warm']/med['ox_warm']:8.1f}x")
        n_ox = ox_start_qmp(work)
        n_lv, why = libvirt_start_qmp(virsh, work)
        print("QMP commands QEMU received for one start (warm cache, counted by QEMU's trace):")
        print(f"  oxvirt start:  {n_ox}")
        print(f"  libvirt start: {n_lv if n_lv is not None else 'n/a (' + why[0] + ')'}")
        print("  (a cold oxvirt start adds one probe per binary: qmp_capabilities + 7 queries in one batch)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
