#!/usr/bin/env python3
"""Time from `oxvirt start` to the guest's marker, next to raw qemu-system-x86_64.

Both runs boot the same test guest (tests/fixtures/build-guest.sh) with the same QEMU
command line: the raw baseline replays the argv oxvirt logged in log/qemu/NAME.log,
without `-S`, so the difference is what oxvirt adds (process spawns, the supervisor,
the QMP handshake and `cont`, status files). Median of N runs each, interleaved.

    python3 bench/boot_to_marker.py [-n 5]      (after `cargo build --workspace`)
"""
import argparse, os, shlex, statistics, subprocess, sys, tempfile, time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OXVIRT = os.path.join(REPO, "target", "debug", "oxvirt")
MARKER = b"OXVIRT-GUEST-READY"


def wait_marker(path, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(path, "rb") as f:
                if MARKER in f.read():
                    return time.monotonic()
        except FileNotFoundError:
            pass
        time.sleep(0.005)
    raise SystemExit(f"no marker in {path} within {timeout} s")


def domain_xml(name, kernel, initrd, serial):
    return f"""<domain type='qemu'>
  <name>{name}</name>
  <uuid>0e0e0e0e-0000-4000-8000-00000000b007</uuid>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>console=ttyS0 quiet</cmdline>
  </os>
  <features><acpi/></features>
  <devices>
    <serial type='file'><source path='{serial}'/><target port='0'/></serial>
  </devices>
</domain>
"""


def ox(uri, *args):
    subprocess.run([OXVIRT, "-c", uri, *args], check=True, stdout=subprocess.DEVNULL)


def run_oxvirt(root, kernel, initrd, i):
    uri = f"qemu:///embed?root={root}"
    serial = os.path.join(root, f"serial-ox-{i}.log")
    xml = os.path.join(root, "bench.xml")
    with open(xml, "w") as f:
        f.write(domain_xml("bench", kernel, initrd, serial))
    ox(uri, "define", xml)
    t0 = time.monotonic()
    ox(uri, "start", "bench")
    t1 = wait_marker(serial)
    ox(uri, "destroy", "bench")
    return t1 - t0


def logged_argv(root):
    with open(os.path.join(root, "log", "qemu", "bench.log")) as f:
        lines = [l for l in f if "qemu-system" in l and " -name " in l]
    words = shlex.split(lines[-1])
    env = {}
    while "=" in words[0] and not words[0].startswith("/"):
        k, v = words.pop(0).split("=", 1)
        env[k] = v
    return env, words


def run_raw(root, env, argv, i):
    serial_old = [w for w in argv if "path=" in w and "serial" in w]
    serial = os.path.join(root, f"serial-raw-{i}.log")
    args = []
    for w in argv:
        if w == "-S":
            continue
        if w in serial_old:
            w = __import__("re").sub(r"path=[^,]*", f"path={serial}", w)
        if "monitor.sock" in w:
            w = w.replace("monitor.sock", f"raw-{i}.sock")
        args.append(w)
    full_env = dict(env)
    full_env.setdefault("PATH", "/usr/bin:/bin")
    # The argv names per-VM directories that only exist while oxvirt runs the VM.
    home = full_env.get("HOME")
    if home:
        os.makedirs(home, exist_ok=True)
    for w in args:
        if "monitor.sock" in w or f"raw-{i}.sock" in w:
            for part in w.split(","):
                if part.startswith("path="):
                    os.makedirs(os.path.dirname(part[5:]), exist_ok=True)
    t0 = time.monotonic()
    p = subprocess.Popen(args, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t1 = wait_marker(serial)
    p.kill()
    p.wait()
    return t1 - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=5)
    a = ap.parse_args()
    if not os.path.exists(OXVIRT):
        sys.exit("build first: cargo build --workspace")
    kernel, initrd = subprocess.run(
        ["bash", os.path.join(REPO, "tests", "fixtures", "build-guest.sh")],
        check=True, capture_output=True, text=True).stdout.split()
    with tempfile.TemporaryDirectory(prefix="oxb", dir="/tmp") as root:
        ox_times, raw_times = [], []
        run_oxvirt(root, kernel, initrd, "warmup")
        env, argv = logged_argv(root)
        for i in range(a.n):
            ox_times.append(run_oxvirt(root, kernel, initrd, i))
            raw_times.append(run_raw(root, env, argv, i))
        mo, mr = statistics.median(ox_times), statistics.median(raw_times)
        print(f"raw qemu-system-x86_64 start→marker: median {mr:.3f} s  runs {[round(t, 3) for t in raw_times]}")
        print(f"oxvirt start→marker:                 median {mo:.3f} s  runs {[round(t, 3) for t in ox_times]}")
        print(f"ratio oxvirt/raw: {mo / mr:.3f}  (oxvirt adds {1000 * (mo - mr):.0f} ms)")


if __name__ == "__main__":
    main()
