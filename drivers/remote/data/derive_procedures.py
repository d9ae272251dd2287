#!/usr/bin/env python3
"""Derive oxvirt's RPC procedure table data (procedures.tsv) from libvirt 9.0.0's sources.

Usage: derive_procedures.py LIBVIRT_SRC_DIR > procedures.tsv
(LIBVIRT_SRC_DIR: an unpacked libvirt-9.0.0 tree, e.g. from `apt-get source libvirt` on
Debian 12.) Only facts are taken from libvirt: procedure numbers and names, the
`@priority` and `@acl` annotations, and which public API refuses a read-only connection.

How libvirt decides that a call is refused on a read-only connection: the daemon opens its
driver connection with VIR_CONNECT_RO for clients of the read-only socket (or that asked
for it), then calls the public API, and the public API (src/libvirt-*.c) refuses with
`virCheckReadOnlyGoto` (unconditionally, or only for one flag or parameter value) or with
an explicit `conn->flags & VIR_CONNECT_RO && flags & SECURE_FLAGS` test ("... with secure
flag"). The `@acl` annotations are what the access-control driver (polkit) checks; they
are not the read-only rule in libvirt, but they say which permission a call needs. This
script uses both and denies when either says so:

  readonly-allowed = no  if the API calls virCheckReadOnlyGoto unconditionally,
                         or any unconditional @acl names a permission other than
                         getattr, read, search_* (or is `none`);
  rw-flags            = flags that make an allowed call need read-write: the flags of a
                         conditional virCheckReadOnlyGoto / secure-flag test, and of a
                         flag-conditional @acl with a permission outside the read set;
                         a parameter condition (`source == X`) is written `param=VALUE`;
                         only written for allowed calls (a denied call needs read-write
                         whatever its flags).

The public API of a procedure is found by libvirt's naming rule (gendispatch.pl:
REMOTE_PROC_DOMAIN_GET_XML_DESC -> virDomainGetXMLDesc; the qemu program's calls carry
`Qemu` after `Domain`; CONNECT_*_EVENT_CALLBACK_REGISTER_ANY is the wire form of
virConnect*EventRegisterAny), matched case-insensitively against the definitions in
src/libvirt*.c. Procedures with no public API (the authentication steps, server-to-client
event MESSAGEs) are decided by their @acl alone. The script prints every
disagreement between the two sources as a `# note:` line of the output.
"""

import re
import sys
from pathlib import Path

READ_PERMS = {"getattr", "read"}
NOTES = []  # where the two sources disagree, or a call has no public API


def is_read_perm(perm):
    return perm in READ_PERMS or perm.startswith("search_")


def parse_enum_consts(inc):
    """NAME -> int for the enum constants of include/libvirt/*.h."""
    raw = {}
    for h in sorted(inc.glob("*.h")):
        for m in re.finditer(r"^\s+(VIR_[A-Z0-9_]+)\s*=\s*([^,/]+?)\s*,", h.read_text(), re.M):
            raw[m.group(1)] = m.group(2).strip()
    out = {}

    def value(name, depth=0):
        if name in out:
            return out[name]
        v = raw.get(name)
        if v is None or depth > 10:
            return None
        m = re.fullmatch(r"\(?\s*1\s*<<\s*(\d+)\s*\)?", v)
        if m:
            r = 1 << int(m.group(1))
        elif re.fullmatch(r"-?\d+", v):
            r = int(v)
        elif re.fullmatch(r"0x[0-9a-fA-F]+", v):
            r = int(v, 16)
        elif re.fullmatch(r"VIR_[A-Z0-9_]+", v):
            r = value(v, depth + 1)
        else:
            r = None
        out[name] = r
        return r

    return value


def parse_procedures(x_file, prefix):
    """(number, name, annotations) per procedure of one .x file's procedure enum. A
    procedure with a `struct PROGRAM_NAME_msg` is a server-to-client MESSAGE (an event):
    libvirtd has no dispatcher for it."""
    text = x_file.read_text()
    msgs = {m.lower() for m in re.findall(r"^struct [a-z]+_(\w+)_msg\b", text, re.M)}
    body = text[text.index("_procedure {"):]
    procs = []
    for m in re.finditer(r"/\*\*(.*?)\*/\s*" + prefix + r"([A-Z0-9_]+)\s*=\s*(\d+)", body, re.S):
        notes = {"acl": [], "priority": "low", "generate": "",
                 "kind": "message" if m.group(2).lower() in msgs else "call"}
        for line in m.group(1).splitlines():
            a = re.search(r"@(\w+):\s*(\S+)", line)
            if not a:
                continue
            key, val = a.group(1), a.group(2)
            if key == "acl":
                notes["acl"].append(val)
            elif key in ("priority", "generate"):
                notes[key] = val
        procs.append((int(m.group(3)), m.group(2), notes))
    return procs


def public_functions(src):
    """lowercase name -> (name, body, file) for every vir* function in src/libvirt*.c."""
    funcs = {}
    for f in sorted(src.glob("libvirt*.c")):
        lines = f.read_text().splitlines()
        for i, line in enumerate(lines):
            m = re.match(r"^(?:[a-z][\w *]*[ *])?(vir[A-Za-z0-9]+)\(", line)
            if not m:
                continue
            j = i
            while j < len(lines) and lines[j] != "}":
                j += 1
            funcs[m.group(1).lower()] = (m.group(1), "\n".join(lines[i:j]), f.name)
    return funcs


def api_for(program, name, funcs):
    """The public API a procedure's server dispatcher calls, by libvirt's naming rule
    (remote_domain_get_xml_desc -> virDomainGetXMLDesc; the qemu program's calls carry
    'Qemu' after 'Domain'), matched case-insensitively against the real definitions."""
    # CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY is virConnectDomainEventRegisterAny's
    # wire form with a server-side callback id.
    flat = re.sub(r"_EVENT_CALLBACK_(DE)?REGISTER", r"_EVENT_\1REGISTER", name)
    flat = flat.replace("_", "").lower()
    cands = ["vir" + flat]
    if program == "qemu":
        cands = ["vir" + flat.replace("domain", "domainqemu", 1)]
    for c in cands:
        if c in funcs:
            return funcs[c]
    return None


def file_domains(src):
    """The error domain number (VIR_FROM_THIS) of each public API file."""
    hdr = (src.parent / "include/libvirt/virterror.h").read_text()
    out = {}
    for f in sorted(src.glob("libvirt*.c")):
        m = re.search(r"#define VIR_FROM_THIS (VIR_FROM_\w+)", f.read_text())
        n = re.search(r"\b" + m.group(1) + r"\s*=\s*(\d+)", hdr)
        out[f.name] = int(n.group(1))
    return out


def rw_from_api(body, const):
    """(always, flags): the read-only refusals of one public API's body."""
    always = re.search(r"^    virCheckReadOnlyGoto", body, re.M) is not None
    flags = []
    for m in re.finditer(r"if \(([^)]*?)\)\n\s+virCheckReadOnlyGoto", body):
        cond = m.group(1)
        f = re.search(r"flags & (VIR_\w+)", cond)
        p = re.search(r"(\w+) == (VIR_\w+)", cond)
        if f:
            flags.append(f.group(1))
        elif p:
            flags.append(f"{p.group(1)}={const(p.group(2))}")
    for m in re.finditer(r"VIR_CONNECT_RO\)\s*&&\s*\(flags & \(?([^)]*)\)", body):
        flags += [x.strip() for x in m.group(1).split("|")]
    return always, flags


def main():
    root = Path(sys.argv[1])
    src, inc = root / "src", root / "include/libvirt"
    const = parse_enum_consts(inc)
    funcs = public_functions(src)
    domains = file_domains(src)
    rows = []
    for program, x, prefix in (("remote", "remote_protocol.x", "REMOTE_PROC_"),
                               ("qemu", "qemu_protocol.x", "QEMU_PROC_")):
        for num, name, notes in parse_procedures(src / "remote" / x, prefix):
            rows.append(row(program, num, name, notes, funcs, const, domains))
    # virkeepaliveprotocol.x: both are MESSAGEs, answered by the transport.
    rows.append(("keepalive", 1, "PING", "message", "-", "yes", "-", "high", 0))
    rows.append(("keepalive", 2, "PONG", "message", "-", "yes", "-", "high", 0))
    print("# oxvirt's RPC procedure table data, derived from libvirt 9.0.0 by")
    print("# drivers/remote/data/derive_procedures.py (read its docstring for the rule).")
    print("# Sources: src/remote/remote_protocol.x and qemu_protocol.x (numbers, names,")
    print("# @priority, @acl), src/libvirt*.c (virCheckReadOnlyGoto, secure-flag tests),")
    print("# include/libvirt/*.h (flag values). Columns:")
    print("# program, number, name; kind: call, or message (server-to-client, no dispatcher);")
    print("# api: the public API ('-': none); readonly: yes = allowed on a read-only")
    print("# connection; rw_flags: NAME=VALUE,... that need read-write ('-': none);")
    print("# priority: high|low; err_domain: VIR_FROM_* number of the API's errors.")
    for n in NOTES:
        print(f"# note: {n}")
    print("program\tnumber\tname\tkind\tapi\treadonly\trw_flags\tpriority\terr_domain")
    for r in rows:
        print("\t".join(str(c) for c in r))


def row(program, num, name, notes, funcs, const, domains):
    api = api_for(program, name, funcs)
    acl_always, acl_flags = False, []
    for acl in notes["acl"]:
        parts = acl.split(":")
        if parts[0] == "none":
            continue
        perm = parts[1]
        if is_read_perm(perm):
            continue
        if len(parts) == 2:
            acl_always = True
        elif parts[2]:
            acl_flags.append(parts[2])
        else:  # object:perm::param:value
            acl_flags.append(f"{parts[3]}={const(parts[4])}")
    api_always, api_flags = rw_from_api(api[1], const) if api else (False, [])
    if api and api_always != acl_always:
        NOTES.append(f"{program} {num} {name}: {api[0]} refuses read-only: {api_always}; "
                     f"@acl needs a write permission: {acl_always}; denied")
    if api is None and notes["kind"] == "call":
        NOTES.append(f"{program} {num} {name}: no public API; @acl {','.join(notes['acl'])}")
    readonly = not (api_always or acl_always)
    flags = []
    for f in api_flags + acl_flags:
        item = f if "=" in f else f"{f}={const(f)}"
        if item not in flags:
            flags.append(item)
    if set(api_flags) != set(acl_flags) and readonly:
        NOTES.append(f"{program} {num} {name}: read-write flags: API {api_flags}, "
                     f"@acl {acl_flags}; both kept")
    dom = domains[api[2]] if api else 0
    return (program, num, name, notes["kind"], api[0] if api else "-", "yes" if readonly else "no",
            ",".join(flags) if readonly and flags else "-", notes["priority"], dom)


if __name__ == "__main__":
    main()
