#!/usr/bin/env python3
"""Stock virsh against oxvirtd and against a private libvirtd: median time per step.

Runs the same virsh sequence (version, hostname, nodeinfo, capabilities, define,
list --all, start, dominfo, domstate, dumpxml, qemu-monitor-command, suspend, resume,
destroy, undefine, domxml-to-native) N times against each daemon, interleaved, and
prints each step's median and the ratio oxvirtd / libvirtd (below 1 = oxvirtd faster).

oxvirtd runs as root on a temp root and socket dir. libvirtd cannot be made private
as root (it would use /run/libvirt, /var/lib/libvirt), so it runs as a *session*
daemon under uid 65534 with HOME and XDG_RUNTIME_DIR in a temp dir (qemu.conf:
stdio_handler="file", security_driver="none"); virsh reaches it with
qemu+unix:///session?socket=.... Debian 12 ships libvirtd in libvirt-daemon, which
need not be installed: `apt-get download libvirt-daemon && dpkg -x libvirt-daemon_*.deb
DIR` and pass --libvirtd DIR/usr/sbin/libvirtd (libvirt-daemon-driver-qemu must be
installed for the QEMU driver module).

    python3 bench/rpc_vs_libvirtd.py --libvirtd /tmp/lvd/root/usr/sbin/libvirtd [-n 5]
"""
import argparse, os, shutil, statistics, subprocess, sys, tempfile, time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OXVIRTD = os.path.join(REPO, "target", "debug", "oxvirtd")
GUEST = os.environ.get("OXVIRT_GUEST_DIR") or os.path.expanduser("~/.cache/oxvirt/guest")
NOBODY = 65534

XML = """<domain type='qemu'>
  <name>bench</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{d}/vmlinuz</kernel>
    <initrd>{d}/initramfs.cpio.gz</initrd>
    <cmdline>console=ttyS0 quiet</cmdline>
  </os>
  <features><acpi/></features>
  <devices>
    <serial type='file'><source path='{d}/bench-{tag}.serial'/><target port='0'/></serial>
  </devices>
</domain>
"""

STEPS = [
    ["version"], ["hostname"], ["nodeinfo"], ["capabilities"],
    ["define", "{xml}"], ["list", "--all"], ["start", "bench"], ["dominfo", "bench"],
    ["domstate", "bench"], ["dumpxml", "bench"],
    ["qemu-monitor-command", "bench", "--pretty", '{"execute":"query-status"}'],
    ["suspend", "bench"], ["resume", "bench"], ["destroy", "bench"], ["undefine", "bench"],
    ["domxml-to-native", "qemu-argv", "{xml}"],
]


def wait_socket(path, proc, log):
    for _ in range(400):
        if os.path.exists(path):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    sys.exit(f"daemon did not create {path}; log:\n" + open(log).read()[-3000:])


def run_sequence(uri, xml):
    times = {}
    for step in STEPS:
        args = [a.replace("{xml}", xml) for a in step]
        t0 = time.monotonic()
        r = subprocess.run(["virsh", "-c", uri] + args, capture_output=True, text=True)
        dt = time.monotonic() - t0
        if r.returncode != 0:
            sys.exit(f"virsh {' '.join(args)} on {uri} failed:\n{r.stdout}{r.stderr}")
        times[" ".join(step[:1] + (["qemu-argv"] if step[0] == "domxml-to-native" else []))] = dt
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=5)
    ap.add_argument("--libvirtd", required=True)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="oxbench", dir="/tmp")
    os.chmod(tmp, 0o755)
    guest = os.path.join(tmp, "g")
    os.makedirs(guest)
    for f in ["vmlinuz", "initramfs.cpio.gz"]:
        shutil.copy(os.path.join(GUEST, f), guest)
    procs = []
    try:
        # oxvirtd
        oxlog = os.path.join(tmp, "oxvirtd.log")
        ox = subprocess.Popen([OXVIRTD, "--socket-dir", f"{tmp}/oxs", "--root", f"{tmp}/oxroot"],
                              stderr=open(oxlog, "w"))
        procs.append(ox)
        wait_socket(f"{tmp}/oxs/oxvirt-sock", ox, oxlog)
        ox_uri = f"qemu+unix:///system?socket={tmp}/oxs/oxvirt-sock"
        # private session libvirtd as uid 65534
        home, run = f"{tmp}/lvhome", f"{tmp}/lvrun"
        os.makedirs(f"{home}/.config/libvirt")
        os.makedirs(run)
        open(f"{home}/.config/libvirt/qemu.conf", "w").write(
            'stdio_handler = "file"\nsecurity_driver = "none"\n')
        open(f"{home}/.config/libvirt/libvirtd.conf", "w").write(
            'unix_sock_rw_perms = "0777"\nauth_unix_rw = "none"\n')
        for d in [home, run, guest]:
            subprocess.run(["chown", "-R", f"{NOBODY}:{NOBODY}", d], check=True)
        lvlog = os.path.join(tmp, "libvirtd.log")
        lv = subprocess.Popen(
            ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
             "env", "-i", f"HOME={home}", f"XDG_RUNTIME_DIR={run}", "PATH=/usr/bin:/bin",
             a.libvirtd], stdout=subprocess.DEVNULL, stderr=open(lvlog, "w"))
        procs.append(lv)
        wait_socket(f"{run}/libvirt/libvirt-sock", lv, lvlog)
        lv_uri = f"qemu+unix:///session?socket={run}/libvirt/libvirt-sock"

        xmls = {}
        for tag in ["ox", "lv"]:
            p = os.path.join(guest, f"bench-{tag}.xml")
            open(p, "w").write(XML.format(d=guest, tag=tag))
            os.chmod(p, 0o644)
            xmls[tag] = p
        res = {"ox": [], "lv": []}
        for i in range(a.n):
            res["ox"].append(run_sequence(ox_uri, xmls["ox"]))
            res["lv"].append(run_sequence(lv_uri, xmls["lv"]))
        print(f"virsh {subprocess.run(['virsh', '--version'], capture_output=True, text=True).stdout.strip()}, "
              f"{a.n} rounds, median seconds per step (wall time of one virsh process)")
        print(f"{'step':<28} {'oxvirtd':>9} {'libvirtd':>9} {'ratio':>7}")
        tot_o = tot_l = 0.0
        for step in res["ox"][0]:
            mo = statistics.median(r[step] for r in res["ox"])
            ml = statistics.median(r[step] for r in res["lv"])
            tot_o += mo
            tot_l += ml
            print(f"{step:<28} {mo:9.3f} {ml:9.3f} {mo / ml:7.2f}")
        print(f"{'total':<28} {tot_o:9.3f} {tot_l:9.3f} {tot_o / tot_l:7.2f}")
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
