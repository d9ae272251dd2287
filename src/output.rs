//! virsh's output formats: the domain table of `list` and its `--name`/`--uuid`
//! lines, `dominfo`'s aligned fields, `version`, and how XML documents end.

use oxvirt_core::driver::{DomainInfo, DomainSummary};

/// `virsh list`: columns padded to their widest cell, three spaces apart, a rule of
/// dashes, a blank line after.
pub fn domain_table(rows: &[DomainSummary]) -> String {
    let cells: Vec<[String; 3]> = rows
        .iter()
        .map(|r| {
            [
                r.id.map(|i| i.to_string()).unwrap_or_else(|| "-".into()),
                r.name.clone(),
                r.state.as_virsh_str().to_string(),
            ]
        })
        .collect();
    table(&["Id", "Name", "State"], &cells)
}

/// `virsh list --name` / `--uuid` / both: one domain a line (`UUID  NAME` for both),
/// a blank line after.
pub fn name_uuid_list(rows: &[DomainSummary], name: bool, uuid: bool) -> String {
    let mut out = String::new();
    for r in rows {
        if uuid && name {
            out.push_str(&format!("{}  {}\n", r.uuid, r.name));
        } else if uuid {
            out.push_str(&format!("{}\n", r.uuid));
        } else {
            out.push_str(&format!("{}\n", r.name));
        }
    }
    out.push('\n');
    out
}

/// An XML document as `dumpxml` prints it: the document, its newline, a blank line.
pub fn xml_document(xml: &str) -> String {
    format!("{}\n\n", xml.trim_end_matches('\n'))
}

/// `capabilities` and `domcapabilities`: virsh prints the document (ending in a
/// newline), a newline and a blank line.
pub fn capabilities_document(xml: &str) -> String {
    format!("{}\n\n\n", xml.trim_end_matches('\n'))
}

/// `virsh version`, with the hypervisor's version as libvirt encodes it
/// (major * 1,000,000 + minor * 1,000 + release).
pub fn version(hypervisor_type: &str, v: u64) -> String {
    let ours = env!("CARGO_PKG_VERSION");
    format!(
        "Compiled against library: oxvirt {ours}\nUsing library: oxvirt {ours}\n\
         Using API: {t} {ours}\nRunning hypervisor: {t} {}.{}.{}\n\n",
        v / 1_000_000,
        (v / 1000) % 1000,
        v % 1000,
        t = hypervisor_type
    )
}

pub(crate) fn table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(|h| h.chars().count());
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::from(" ");
        for (i, c) in cells.iter().enumerate() {
            s.push_str(c);
            if i + 1 < N {
                s.push_str(&" ".repeat(widths[i] - c.chars().count() + 3));
            }
        }
        s.trim_end().to_string()
    };
    let total: usize = widths.iter().sum::<usize>() + 3 * (N - 1) + 1;
    let mut out = line(header.to_vec());
    out.push('\n');
    out.push_str(&"-".repeat(total + 2));
    out.push('\n');
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out.push('\n');
    out
}

/// `virsh dominfo`.
pub fn dominfo(i: &DomainInfo) -> String {
    let s = &i.summary;
    let mut out = String::new();
    let mut field = |k: &str, v: String| out.push_str(&format!("{:<15} {}\n", k, v));
    field(
        "Id:",
        s.id.map(|i| i.to_string()).unwrap_or_else(|| "-".into()),
    );
    field("Name:", s.name.clone());
    field("UUID:", s.uuid.to_string());
    field("OS Type:", i.os_type.clone());
    field("State:", s.state.as_virsh_str().into());
    field("CPU(s):", i.vcpus.to_string());
    if i.cpu_time_ns != 0 {
        field("CPU time:", format!("{:.1}s", i.cpu_time_ns as f64 / 1e9));
    }
    field("Max memory:", format!("{} KiB", i.max_mem_kib));
    field("Used memory:", format!("{} KiB", i.memory_kib));
    field(
        "Persistent:",
        if s.persistent { "yes" } else { "no" }.into(),
    );
    field(
        "Autostart:",
        if i.autostart { "enable" } else { "disable" }.into(),
    );
    field("Managed save:", "no".into());
    for sec in &i.security {
        field("Security model:", sec.model.clone());
        field("Security DOI:", sec.doi.clone());
        if let Some(l) = &sec.label {
            field("Security label:", format!("{l} (enforcing)"));
        }
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxvirt_core::driver::{DomainState, StateReason};

    fn row(id: Option<u32>, name: &str, state: DomainState) -> DomainSummary {
        DomainSummary {
            name: name.into(),
            uuid: uuid::Uuid::nil(),
            id,
            state,
            reason: StateReason::Unknown,
            persistent: true,
        }
    }

    #[test]
    fn table_matches_virsh() {
        // Captured from `virsh -c test:///default list --all` (libvirt 9.0).
        let t = domain_table(&[
            row(Some(1), "test", DomainState::Running),
            row(None, "longername-vm", DomainState::Shutoff),
        ]);
        assert_eq!(
            t,
            " Id   Name            State\n--------------------------------\n 1    test            running\n -    longername-vm   shut off\n\n"
        );
        assert_eq!(
            domain_table(&[]),
            " Id   Name   State\n--------------------\n\n"
        );
    }
}
