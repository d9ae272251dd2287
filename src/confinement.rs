//! `oxvirt confinement DOMAIN [--xml|--json]`: the confinement report as an operator
//! audits it — the settings (identity, capabilities, cgroup device ACL, labels, Landlock,
//! seccomp), what `/proc` shows of the running QEMU, and a table of every host path
//! with the access the VM gets. `--json` is the report as the driver returns it,
//! `--xml` the same facts as attributes and elements.

use crate::output::table;
use oxvirt_core::security::report::{access_letters, ConfinementReport, ProcessStatus};
use oxvirt_core::security::{Capabilities, Confinement, LandlockRules, NetAccess};

/// The Landlock ABI from which a part of the ruleset is enforced.
const TCP_ABI: u32 = 4;
const SCOPE_ABI: u32 = 6;

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn enforced(abi: u32, from: u32) -> String {
    if abi >= from {
        "enforced".into()
    } else {
        format!("NOT enforced: this kernel's Landlock ABI {abi} < {from}")
    }
}

fn identity(c: &Confinement) -> String {
    match &c.identity {
        Some(i) if i.groups.is_empty() => format!("uid {}, gid {}, no groups", i.uid, i.gid),
        Some(i) => {
            let g: Vec<String> = i.groups.iter().map(u32::to_string).collect();
            format!("uid {}, gid {}, groups {}", i.uid, i.gid, g.join(","))
        }
        None => "the driver's own (no change of uid/gid)".into(),
    }
}

fn capabilities(c: &Confinement) -> &'static str {
    match c.capabilities {
        Capabilities::DropAll => {
            "dropped: effective, permitted, inheritable, ambient (the bounding set too when \
             the driver holds CAP_SETPCAP)"
        }
        Capabilities::Keep => "kept as the driver has them",
    }
}

fn net(access: NetAccess) -> &'static str {
    match access {
        NetAccess::BindTcp => "bind",
        NetAccess::ConnectTcp => "connect",
    }
}

fn tcp(l: &LandlockRules, access: NetAccess) -> String {
    if l.unrestricted_net.contains(&access) {
        return "unrestricted (an automatic port)".into();
    }
    let ports: Vec<String> = l
        .net
        .iter()
        .filter(|p| p.access.contains(&access))
        .map(|p| p.port.to_string())
        .collect();
    if ports.is_empty() {
        "no port".into()
    } else {
        format!("port {}", ports.join(", "))
    }
}

fn landlock_lines(r: &ConfinementReport) -> Vec<(&'static str, String)> {
    let abi = r.landlock_abi;
    let Some(l) = &r.confinement.landlock else {
        return vec![("Landlock", format!("no ruleset (kernel ABI {abi})"))];
    };
    let scopes: Vec<String> = l.scopes.iter().map(|s| format!("{s:?}")).collect();
    vec![
        (
            "Landlock",
            format!(
                "ruleset of {} paths, everything else denied (kernel ABI {abi})",
                l.paths.len()
            ),
        ),
        (
            "Landlock TCP",
            format!(
                "bind: {}; connect: {} ({})",
                tcp(l, NetAccess::BindTcp),
                tcp(l, NetAccess::ConnectTcp),
                enforced(abi, TCP_ABI)
            ),
        ),
        (
            "Landlock scopes",
            format!("{} ({})", scopes.join(", "), enforced(abi, SCOPE_ABI)),
        ),
    ]
}

fn process_line(p: &ProcessStatus) -> String {
    format!(
        "Uid {}; Gid {}; Groups {}; CapEff {}; CapBnd {}; NoNewPrivs {}; Seccomp {}",
        p.uid,
        p.gid,
        if p.groups.is_empty() { "-" } else { &p.groups },
        p.cap_eff,
        p.cap_bnd,
        p.no_new_privs,
        p.seccomp
    )
}

/// The settings as `Name: value` lines.
fn settings(r: &ConfinementReport) -> Vec<(&'static str, String)> {
    let c = &r.confinement;
    let state = match (r.running, r.pid) {
        (true, Some(pid)) => format!("running, id {}, QEMU pid {pid}", r.id),
        (true, None) => format!("running, id {} (QEMU gone)", r.id),
        (false, _) => format!("not running: what a start with id {} would apply", r.id),
    };
    let labels: Vec<String> = r
        .labels
        .iter()
        .map(|l| {
            let t = l.label_type.as_deref().unwrap_or("-");
            format!("{} {t} {}", l.model, l.label.as_deref().unwrap_or("-"))
        })
        .collect();
    let mut out = vec![
        ("Domain", format!("{} ({state})", r.domain)),
        ("Emulator", r.emulator.display().to_string()),
        ("Security stack", r.stack.join(", ")),
        ("Labels", labels.join("; ")),
        ("Identity", identity(c)),
        ("Capabilities", capabilities(c).into()),
        ("No new privs", yes_no(c.no_new_privs).into()),
    ];
    out.push(match &c.cgroup {
        Some(g) => (
            "Cgroup",
            format!(
                "{} ({}), devices allowed: {}",
                g.path.display(),
                g.kind,
                g.devices.join(", ")
            ),
        ),
        None => ("Cgroup", "no device ACL".into()),
    });
    out.push((
        "Rlimits",
        format!(
            "processes {}, files {} (0: unchanged)",
            c.rlimits.max_processes, c.rlimits.max_files
        ),
    ));
    if let Some(l) = &c.exec_label {
        out.push(("SELinux label", l.clone()));
    }
    if let Some(p) = &c.apparmor_profile {
        out.push(("AppArmor profile", p.clone()));
    }
    out.extend(landlock_lines(r));
    out.push((
        "Seccomp",
        match c.seccomp.sandbox.as_deref() {
            Some(s) => format!("-sandbox {s}"),
            None => "no -sandbox (QEMU's default: no filter)".into(),
        },
    ));
    if let Some(p) = &r.process {
        out.push(("Process (/proc)", process_line(p)));
    }
    out
}

/// The report as a table: settings, then every host path.
pub fn table_report(r: &ConfinementReport) -> String {
    let mut out = String::new();
    for (name, value) in settings(r) {
        out.push_str(&format!("{:<17}{value}\n", format!("{name}:")));
    }
    out.push('\n');
    let rows: Vec<[String; 4]> = r
        .paths
        .iter()
        .map(|p| {
            [
                p.path.display().to_string(),
                p.access.clone(),
                p.owner.clone().unwrap_or_else(|| "(absent)".into()),
                p.why.join("; "),
            ]
        })
        .collect();
    out.push_str(&table(&["Host path", "Access", "Owner", "Why"], &rows));
    out.push_str(
        "Access: r read, w write, x execute, c create, d delete, i device ioctl, t truncate; \
         - none.\n",
    );
    out.push_str(match r.confinement.landlock {
        Some(_) => "Every other path: denied by Landlock.\n\n",
        None => "Every other path: as file ownership and modes allow QEMU's identity.\n\n",
    });
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&apos;")
        .replace('"', "&quot;")
}

fn landlock_xml(abi: u32, l: &Option<LandlockRules>) -> String {
    let Some(l) = l else {
        return format!("  <landlock abi='{abi}' ruleset='no'/>\n");
    };
    let mut s = format!("  <landlock abi='{abi}' ruleset='yes'>\n");
    for p in &l.paths {
        let path = esc(&p.path.display().to_string());
        let a = access_letters(&p.access);
        s.push_str(&format!("    <path name='{path}' access='{a}'/>\n"));
    }
    for p in &l.net {
        for a in &p.access {
            s.push_str(&format!(
                "    <port number='{}' access='{}'/>\n",
                p.port,
                net(*a)
            ));
        }
    }
    for a in &l.unrestricted_net {
        s.push_str(&format!("    <unrestricted access='{}'/>\n", net(*a)));
    }
    for sc in &l.scopes {
        s.push_str(&format!("    <scope name='{sc:?}'/>\n"));
    }
    s.push_str("  </landlock>\n");
    s
}

/// The report as an XML document.
pub fn xml_report(r: &ConfinementReport) -> String {
    let c = &r.confinement;
    let pid = r.pid.map(|p| format!(" pid='{p}'")).unwrap_or_default();
    let mut s = format!(
        "<confinement domain='{}' running='{}' id='{}'{pid}>\n  <emulator>{}</emulator>\n",
        esc(&r.domain),
        yes_no(r.running),
        r.id,
        esc(&r.emulator.display().to_string())
    );
    for l in &r.labels {
        s.push_str(&format!(
            "  <label model='{}' type='{}'>{}</label>\n",
            esc(&l.model),
            esc(l.label_type.as_deref().unwrap_or("")),
            esc(l.label.as_deref().unwrap_or(""))
        ));
    }
    match &c.identity {
        Some(i) => {
            let g: Vec<String> = i.groups.iter().map(u32::to_string).collect();
            s.push_str(&format!(
                "  <identity uid='{}' gid='{}' groups='{}'/>\n",
                i.uid,
                i.gid,
                g.join(",")
            ));
        }
        None => s.push_str("  <identity inherited='yes'/>\n"),
    }
    s.push_str(&format!(
        "  <capabilities dropped='{}'/>\n  <nonewprivs>{}</nonewprivs>\n",
        yes_no(c.capabilities == Capabilities::DropAll),
        yes_no(c.no_new_privs)
    ));
    if let Some(g) = &c.cgroup {
        let path = esc(&g.path.display().to_string());
        s.push_str(&format!(
            "  <cgroup path='{path}' kind='{}'>\n",
            esc(&g.kind)
        ));
        for d in &g.devices {
            s.push_str(&format!("    <device rule='{}'/>\n", esc(d)));
        }
        s.push_str("  </cgroup>\n");
    }
    if let Some(l) = &c.exec_label {
        s.push_str(&format!("  <selinux label='{}'/>\n", esc(l)));
    }
    if let Some(p) = &c.apparmor_profile {
        s.push_str(&format!("  <apparmor profile='{}'/>\n", esc(p)));
    }
    s.push_str(&landlock_xml(r.landlock_abi, &c.landlock));
    s.push_str(&format!(
        "  <seccomp sandbox='{}'/>\n",
        esc(c.seccomp.sandbox.as_deref().unwrap_or(""))
    ));
    if let Some(p) = &r.process {
        s.push_str(&format!(
            "  <process uid='{}' gid='{}' groups='{}' capeff='{}' capbnd='{}' nonewprivs='{}' seccomp='{}'/>\n",
            p.uid, p.gid, p.groups, p.cap_eff, p.cap_bnd, p.no_new_privs, p.seccomp
        ));
    }
    s.push_str("  <paths>\n");
    for p in &r.paths {
        s.push_str(&format!(
            "    <path name='{}' access='{}' owner='{}'>\n",
            esc(&p.path.display().to_string()),
            esc(&p.access),
            esc(p.owner.as_deref().unwrap_or(""))
        ));
        for w in &p.why {
            s.push_str(&format!("      <why>{}</why>\n", esc(w)));
        }
        s.push_str("    </path>\n");
    }
    s.push_str("  </paths>\n</confinement>\n\n");
    s
}
