//! The table against the reference list of libvirt 9.0.0's procedures
//! (`data/libvirt-rpc-procedures-9.0.0.tsv`, from Debian's systemtap tapset, a source
//! independent of the `.x` files the data was derived from), against the data file, and
//! the access facts libvirt's security fixes established.

use super::data::{self, Kind, Priority, Program};
use super::{table, Table};
use crate::handlers::{self, Reg};
use std::collections::BTreeSet;

const REFERENCE: &str = include_str!("../../data/libvirt-rpc-procedures-9.0.0.tsv");

fn entry(program: Program, name: &str) -> &'static super::Entry {
    table()
        .entries()
        .iter()
        .find(|e| e.procedure.program == program && e.procedure.name == name)
        .unwrap_or_else(|| panic!("{name} is not in the table"))
}

#[test]
fn names_and_numbers_match_libvirts_reference_list() {
    let want: BTreeSet<(u32, i32, String)> = REFERENCE
        .lines()
        .filter_map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            let prog: u32 = c[0].parse().ok()?;
            Program::from_number(prog)?;
            Some((prog, c[2].parse().ok()?, c[3].to_uppercase()))
        })
        .collect();
    let have: BTreeSet<(u32, i32, String)> = table()
        .entries()
        .iter()
        .map(|e| {
            let p = &e.procedure;
            (p.program.number(), p.number, p.name.to_string())
        })
        .collect();
    assert_eq!(
        want.len(),
        443 + 7 + 2,
        "remote, qemu and keepalive procedures"
    );
    let missing: Vec<_> = want.difference(&have).collect();
    let extra: Vec<_> = have.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}"
    );
}

#[test]
fn the_table_is_the_data_file_joined_with_the_handlers() {
    let rows = data::parse(data::DATA).unwrap();
    assert_eq!(rows.len(), table().entries().len());
    for (row, e) in rows.iter().zip(table().entries()) {
        assert_eq!(row, &e.procedure);
        assert_eq!(
            table().get(row.program, row.number).unwrap().procedure,
            *row
        );
    }
    // Every handler is registered at the number of the procedure it names.
    let regs: Vec<&Reg> = handlers::registry().collect();
    let attached = table()
        .entries()
        .iter()
        .filter(|e| e.handler.is_some())
        .count();
    assert_eq!(attached, regs.len());
    for r in regs {
        assert_eq!(
            table().get(r.program, r.number).unwrap().procedure.name,
            r.name
        );
    }
}

#[test]
fn a_handler_at_a_wrong_number_or_twice_is_refused() {
    fn h(_: &handlers::Call<'_>, _: &mut crate::xdr::Decoder<'_>) -> handlers::reply::CallResult {
        Ok(Vec::new())
    }
    static WRONG: Reg = Reg::remote(12, "DOMAIN_CREATE", h);
    static RIGHT: Reg = Reg::remote(9, "DOMAIN_CREATE", h);
    let data = || data::parse(data::DATA).unwrap();
    let e = Table::build(data(), [&WRONG].into_iter()).err().unwrap();
    assert!(
        e.contains("DOMAIN_CREATE is registered at 12 (DOMAIN_DESTROY)"),
        "{e}"
    );
    let e = Table::build(data(), [&RIGHT, &RIGHT].into_iter())
        .err()
        .unwrap();
    assert!(e.contains("or twice"), "{e}");
}

#[test]
fn malformed_data_is_an_error_naming_the_line() {
    let head = "# c\nprogram\tnumber\tname\tkind\tapi\treadonly\trw_flags\tpriority\terr_domain\n";
    for (row, want) in [
        ("remote\t1\tX\tcall\t-\tyes\t-\thigh", "expected 9 columns"),
        ("lxc\t1\tX\tcall\t-\tyes\t-\thigh\t0", "unknown program lxc"),
        ("remote\tone\tX\tcall\t-\tyes\t-\thigh\t0", "bad number one"),
        ("remote\t1\tX\tcall\t-\tmaybe\t-\thigh\t0", "yes or no"),
        (
            "remote\t1\tX\tcall\t-\tyes\tSECURE\thigh\t0",
            "not NAME=VALUE",
        ),
    ] {
        let e = data::parse(&format!("{head}{row}\n")).unwrap_err();
        assert!(
            e.starts_with("procedures.tsv:3: ") && e.contains(want),
            "{e}"
        );
    }
}

/// What libvirt 9.0 refuses on a read-only connection, among them the calls of its
/// security fixes: CVE-2019-10161 (save image XML), -10166 (managed save define),
/// -10167 (domain capabilities: runs the caller's emulator), -10168 (hypervisor CPU
/// compare/baseline), and the native-format conversions, which take an `<emulator>`.
#[test]
fn nothing_that_runs_programs_opens_host_paths_or_reveals_secrets_is_read_only() {
    for name in [
        "CONNECT_DOMAIN_XML_TO_NATIVE",
        "CONNECT_DOMAIN_XML_FROM_NATIVE",
        "CONNECT_GET_DOMAIN_CAPABILITIES",
        "DOMAIN_SAVE_IMAGE_GET_XML_DESC",
        "DOMAIN_MANAGED_SAVE_DEFINE_XML",
        "CONNECT_COMPARE_HYPERVISOR_CPU",
        "CONNECT_BASELINE_HYPERVISOR_CPU",
        "SECRET_GET_VALUE",
        "DOMAIN_OPEN_CONSOLE",
        "DOMAIN_OPEN_GRAPHICS",
        "DOMAIN_SCREENSHOT",
        "DOMAIN_BLOCK_PEEK",
        "DOMAIN_MEMORY_PEEK",
        "DOMAIN_CORE_DUMP",
        "STORAGE_VOL_DOWNLOAD",
        "DOMAIN_GET_HOSTNAME",
        "DOMAIN_AUTHORIZED_SSH_KEYS_GET",
        "DOMAIN_DEFINE_XML",
        "DOMAIN_CREATE_XML",
        "DOMAIN_DESTROY",
    ] {
        assert!(!entry(Program::Remote, name).procedure.readonly, "{name}");
    }
    for name in [
        "DOMAIN_MONITOR_COMMAND",
        "DOMAIN_MONITOR_COMMAND_WITH_FILES",
        "DOMAIN_AGENT_COMMAND",
        "DOMAIN_ATTACH",
    ] {
        assert!(!entry(Program::Qemu, name).procedure.readonly, "{name}");
    }
    let xml = &entry(Program::Remote, "DOMAIN_GET_XML_DESC").procedure;
    assert!(xml.readonly);
    assert_eq!(
        xml.rw_flag_mask(),
        1 | 8,
        "VIR_DOMAIN_XML_SECURE | MIGRATABLE"
    );
    assert_eq!(xml.api, Some("virDomainGetXMLDesc"));
}

/// The implemented procedures a read-only client reaches, reviewed one by one: none
/// runs a program, opens a path the caller names, or returns a secret (dumpxml's
/// SECURE flag is refused). A new read-only handler must be added here knowingly.
#[test]
fn the_read_only_surface_is_the_reviewed_list() {
    let reviewed: BTreeSet<&str> = [
        "CONNECT_OPEN",
        "CONNECT_CLOSE",
        "CONNECT_GET_TYPE",
        "CONNECT_GET_VERSION",
        "CONNECT_GET_LIB_VERSION",
        "CONNECT_GET_HOSTNAME",
        "CONNECT_GET_URI",
        "CONNECT_IS_SECURE",
        "CONNECT_SUPPORTS_FEATURE",
        "CONNECT_GET_CAPABILITIES",
        "CONNECT_LIST_ALL_DOMAINS",
        "CONNECT_REGISTER_CLOSE_CALLBACK",
        "CONNECT_UNREGISTER_CLOSE_CALLBACK",
        "CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY",
        "CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY",
        "AUTH_LIST",
        "AUTH_SASL_INIT",
        "AUTH_SASL_START",
        "AUTH_SASL_STEP",
        "AUTH_POLKIT",
        "NODE_GET_INFO",
        "NODE_GET_SECURITY_MODEL",
        "DOMAIN_LOOKUP_BY_ID",
        "DOMAIN_LOOKUP_BY_NAME",
        "DOMAIN_LOOKUP_BY_UUID",
        "DOMAIN_GET_XML_DESC",
        "DOMAIN_GET_INFO",
        "DOMAIN_GET_STATE",
        "DOMAIN_GET_OS_TYPE",
        "DOMAIN_GET_MAX_MEMORY",
        "DOMAIN_GET_AUTOSTART",
        "DOMAIN_IS_ACTIVE",
        "DOMAIN_IS_PERSISTENT",
        "DOMAIN_HAS_MANAGED_SAVE_IMAGE",
        "DOMAIN_SNAPSHOT_NUM",
        "DOMAIN_GET_SECURITY_LABEL",
        "DOMAIN_GET_MESSAGES",
    ]
    .into();
    let reachable: BTreeSet<&str> = table()
        .entries()
        .iter()
        .filter(|e| e.handler.is_some() && e.procedure.readonly)
        .map(|e| e.procedure.name)
        .collect();
    assert_eq!(reachable, reviewed);
}

#[test]
fn every_call_has_a_name_for_its_errors_and_messages_have_no_handler() {
    for e in table().entries() {
        let p = &e.procedure;
        match p.kind {
            Kind::Call => assert!(
                p.api.is_some() || e.handler.is_some(),
                "{} has neither a public API name nor a handler",
                p.name
            ),
            Kind::Message => assert!(e.handler.is_none(), "{} is a message", p.name),
        }
    }
    let ev = entry(Program::Remote, "DOMAIN_EVENT_CALLBACK_LIFECYCLE");
    assert_eq!(ev.procedure.kind, Kind::Message);
}

#[test]
fn priorities_are_libvirts() {
    let prio = |n| entry(Program::Remote, n).procedure.priority;
    assert_eq!(prio("DOMAIN_DESTROY"), Priority::High);
    assert_eq!(prio("DOMAIN_LOOKUP_BY_NAME"), Priority::High);
    assert_eq!(prio("DOMAIN_CREATE"), Priority::Low);
    assert_eq!(prio("DOMAIN_GET_XML_DESC"), Priority::Low);
    assert_eq!(
        entry(Program::Keepalive, "PING").procedure.priority,
        Priority::High
    );
}
