//! `oxvirt-aa-helper`, libvirt's `virt-aa-helper` for oxvirt: per-VM AppArmor profiles
//! for QEMU, with the same command line (`cli.rs`), exit statuses (0, or 1 with
//! `oxvirt-aa-helper: error: ...` on stderr) and files (`profile.rs`: `libvirt-UUID`
//! from `TEMPLATE.qemu`, the generated `libvirt-UUID.files`), run with no daemon state:
//! the domain XML comes on stdin and is parsed with `oxvirt-core`; the rules come from
//! `rules.rs`, each path checked by `paths.rs`.

pub mod cli;
pub mod paths;
pub mod profile;
pub mod rules;

use cli::{Args, Command, Extra, Mode};
use oxvirt_core::domain::{parse_domain_xml, Domain};
use profile::ProfileFiles;
use std::io::{Read, Write};

const PROG: &str = "oxvirt-aa-helper";
/// virt-aa-helper's limit on the XML read from stdin.
const MAX_XML: u64 = 10 * 1024 * 1024;
/// Characters a domain name may not have: they would be patterns in the rules.
const BAD_NAME_CHARS: &[char] = &['/', '[', ']', '{', '}', '?', '^', ',', '"', '*'];

struct Io<'a> {
    stdin: &'a mut dyn Read,
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
}

/// Run with `args` (without the program name); the exit status.
pub fn run(args: &[String], stdin: &mut dyn Read, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let mut io = Io { stdin, out, err };
    let cmd = match cli::parse(args) {
        Ok(c) => c,
        Err(e) => return fail(&mut io, &e.0),
    };
    let a = match cmd {
        Command::Help => {
            let _ = io.out.write_all(cli::USAGE.as_bytes());
            return 0;
        }
        Command::Run(a) => a,
    };
    match execute(&a, &mut io) {
        Ok(()) => 0,
        Err(e) => fail(&mut io, &e),
    }
}

fn fail(io: &mut Io, msg: &str) -> i32 {
    let _ = writeln!(io.err, "{PROG}: error: {msg}");
    1
}

fn execute(a: &Args, io: &mut Io) -> Result<(), String> {
    let files = ProfileFiles {
        dir: a.profile_dir.clone(),
        name: a.profile.clone(),
    };
    match a.mode {
        Mode::Create | Mode::Replace => generate(a, &files, io),
        Mode::Add | Mode::Remove | Mode::Delete => {
            if !files.exists() {
                return Err(format!(
                    "profile does not exist: no {} (create it with -c)",
                    files.profile().display()
                ));
            }
            if a.dry_run {
                return Ok(());
            }
            match a.mode {
                Mode::Add => profile::load(&files, a.compile_only),
                Mode::Remove => unload(a, io),
                _ => {
                    unload(a, io)?;
                    files.delete()
                }
            }
        }
    }
}

fn unload(a: &Args, io: &mut Io) -> Result<(), String> {
    if a.compile_only {
        return Ok(());
    }
    if let Some(w) = profile::unload(&a.profile)? {
        let _ = writeln!(io.err, "{PROG}: warning: {w}");
    }
    Ok(())
}

/// The domain on stdin, checked as virt-aa-helper checks it.
fn read_domain(a: &Args, io: &mut Io) -> Result<Domain, String> {
    let mut xml = String::new();
    io.stdin
        .take(MAX_XML + 1)
        .read_to_string(&mut xml)
        .map_err(|e| format!("could not get VM definition: cannot read stdin: {e}"))?;
    if xml.len() as u64 > MAX_XML {
        return Err("could not get VM definition: the XML is larger than 10 MiB".into());
    }
    if xml.trim().is_empty() {
        return Err("could not get VM definition: no domain XML on stdin".into());
    }
    let dom = parse_domain_xml(&xml)
        .map_err(|e| format!("could not get VM definition: {}", e.message))?;
    if dom.name.is_empty() || dom.name.contains(BAD_NAME_CHARS) {
        return Err(format!(
            "bad name: the domain name '{}' is empty or has one of / [ ] {{ }} ? ^ , \" *, \
             which AppArmor rules cannot name; rename the domain",
            dom.name
        ));
    }
    if dom.uuid != a.uuid {
        return Err(format!(
            "given uuid does not match XML uuid: -u {} but the domain's UUID is {}",
            a.profile, dom.uuid
        ));
    }
    Ok(dom)
}

/// `-c` / `-r`: the rules from the XML, the profile if new; loaded unless dry.
fn generate(a: &Args, files: &ProfileFiles, io: &mut Io) -> Result<(), String> {
    let dom = read_domain(a, io)?;
    if a.mode == Mode::Create && files.exists() {
        return Err(format!(
            "profile exists: {} (replace it with -r, or remove it with -D)",
            files.profile().display()
        ));
    }
    let ctx = rules::Context {
        profile_dir: &a.profile_dir,
        probing: a.probing,
        vm_dirs: &a.vm_dirs,
        log: a.log.as_deref(),
    };
    let text = match &a.extra {
        Some(Extra::Append(f)) => {
            let rule = rules::extra_file(f, &ctx).map_err(|r| r.message)?;
            let old =
                std::fs::read_to_string(files.files()).unwrap_or_else(|_| rules::files_text(&[]));
            if a.dry_run {
                rule.lines()
            } else {
                old + &rule.lines()
            }
        }
        extra => {
            let (mut list, warnings) = rules::collect(&dom, &ctx).map_err(|r| r.message)?;
            for w in warnings {
                let _ = writeln!(io.err, "{PROG}: warning: {w}");
            }
            if let Some(Extra::Add(f)) = extra {
                list.push(rules::extra_file(f, &ctx).map_err(|r| r.message)?);
            }
            rules::files_text(&list)
        }
    };
    let new_profile = !files.exists();
    let profile_text = files.profile_text(&files.template_text()?, a.complain)?;
    if a.dry_run {
        let mut s = format!("{PROG}:\n{}\n{PROG}:\n{text}\n", files.files().display());
        if new_profile {
            s += &format!(
                "{PROG}:\n{}\n{PROG}:\n{profile_text}\n",
                files.profile().display()
            );
        }
        return io.out.write_all(s.as_bytes()).map_err(|e| e.to_string());
    }
    files.seed()?;
    let before = std::fs::read_to_string(files.files()).ok();
    files.write_files(&text)?;
    let created = files.write_profile(&profile_text)?;
    if let Err(e) = profile::load(files, a.compile_only) {
        // Nothing half-made is left: the rules as they were (none for a new profile),
        // and no profile if this run made it.
        match before {
            Some(old) => {
                let _ = files.write_files(&old);
            }
            None => {
                let _ = std::fs::remove_file(files.files());
            }
        }
        if created {
            let _ = std::fs::remove_file(files.profile());
        }
        return Err(e);
    }
    Ok(())
}
