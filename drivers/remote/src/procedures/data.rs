//! The procedures of libvirt 9.0.0's `remote`, `qemu` and keepalive programs as data:
//! number, name, public API, whether a read-only connection may call it, the flags that
//! need read-write, priority and error domain. Parsed from `data/procedures.tsv`, which
//! `data/derive_procedures.py` derives from libvirt's sources (its docstring states the
//! rule); see docs/rpc.md.

use crate::packet;

/// The TSV, compiled in.
pub const DATA: &str = include_str!("../../data/procedures.tsv");

/// The programs the daemon serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Program {
    Remote,
    Qemu,
    Keepalive,
}

impl Program {
    /// The program number on the wire.
    pub fn number(self) -> u32 {
        match self {
            Program::Remote => packet::PROG_REMOTE,
            Program::Qemu => packet::PROG_QEMU,
            Program::Keepalive => packet::PROG_KEEPALIVE,
        }
    }

    pub fn from_number(n: u32) -> Option<Program> {
        [Program::Remote, Program::Qemu, Program::Keepalive]
            .into_iter()
            .find(|p| p.number() == n)
    }

    fn from_name(s: &str) -> Option<Program> {
        match s {
            "remote" => Some(Program::Remote),
            "qemu" => Some(Program::Qemu),
            "keepalive" => Some(Program::Keepalive),
            _ => None,
        }
    }
}

/// A client calls it, or the server sends it (events, keepalive): libvirtd has no
/// dispatcher for a message and answers "unknown procedure" when a client calls one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Call,
    Message,
}

/// libvirt's `@priority`: a high-priority call may run on the priority workers when every
/// other worker is busy (e.g. `virDomainDestroy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    Low,
    High,
}

/// One flag (or parameter value) that makes an otherwise read-only call need read-write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RwFlag<'a> {
    /// `VIR_DOMAIN_XML_SECURE`, or a parameter's name (`source`).
    pub name: &'a str,
    pub value: u32,
    /// A parameter value (`source == value`), not a bit of `flags`.
    pub param: bool,
}

/// One row of the data file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Procedure<'a> {
    pub program: Program,
    pub number: i32,
    /// libvirt's name without the program prefix: `DOMAIN_GET_XML_DESC`.
    pub name: &'a str,
    pub kind: Kind,
    /// The public API, for error messages (`virDomainGetXMLDesc`).
    pub api: Option<&'a str>,
    /// A read-only connection may call it.
    pub readonly: bool,
    pub rw_flags: Vec<RwFlag<'a>>,
    pub priority: Priority,
    /// The `VIR_FROM_*` of the public API's errors (read-only refusal, no support).
    pub err_domain: i32,
}

impl Procedure<'_> {
    /// The bits of `flags` that need a read-write connection.
    pub fn rw_flag_mask(&self) -> u32 {
        self.rw_flags
            .iter()
            .filter(|f| !f.param)
            .fold(0, |m, f| m | f.value)
    }

    /// The name errors use: the public API, or the procedure's name.
    pub fn api_or_name(&self) -> &str {
        self.api.unwrap_or(self.name)
    }
}

/// Parse the data file; an error names the line and the problem.
pub fn parse(text: &str) -> Result<Vec<Procedure<'_>>, String> {
    let mut out = Vec::new();
    let mut header = false;
    for (i, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if !header {
            header = true;
            continue;
        }
        out.push(row(line).map_err(|e| format!("procedures.tsv:{}: {e}", i + 1))?);
    }
    Ok(out)
}

fn row(line: &str) -> Result<Procedure<'_>, String> {
    let c: Vec<&str> = line.split('\t').collect();
    let [program, number, name, kind, api, readonly, rw_flags, priority, err_domain] = c[..] else {
        return Err(format!("expected 9 columns, found {}", c.len()));
    };
    let program = Program::from_name(program).ok_or(format!("unknown program {program}"))?;
    let kind = match kind {
        "call" => Kind::Call,
        "message" => Kind::Message,
        _ => return Err(format!("unknown kind {kind}")),
    };
    let priority = match priority {
        "high" => Priority::High,
        "low" => Priority::Low,
        _ => return Err(format!("unknown priority {priority}")),
    };
    Ok(Procedure {
        program,
        number: number.parse().map_err(|_| format!("bad number {number}"))?,
        name,
        kind,
        api: (api != "-").then_some(api),
        readonly: yes_no(readonly)?,
        rw_flags: rw(rw_flags)?,
        priority,
        err_domain: err_domain
            .parse()
            .map_err(|_| format!("bad err_domain {err_domain}"))?,
    })
}

fn yes_no(s: &str) -> Result<bool, String> {
    match s {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(format!("readonly must be yes or no, not {s}")),
    }
}

/// `VIR_DOMAIN_XML_SECURE=1,VIR_DOMAIN_XML_MIGRATABLE=8`, `source=1` or `-`.
fn rw(s: &str) -> Result<Vec<RwFlag<'_>>, String> {
    if s == "-" {
        return Ok(Vec::new());
    }
    s.split(',')
        .map(|item| {
            let (name, value) = item
                .split_once('=')
                .ok_or(format!("rw flag {item} is not NAME=VALUE"))?;
            Ok(RwFlag {
                name,
                value: value
                    .parse()
                    .map_err(|_| format!("bad flag value {item}"))?,
                param: !name.starts_with("VIR_"),
            })
        })
        .collect()
}
