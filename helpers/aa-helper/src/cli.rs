//! The command line, as virt-aa-helper's `getopt_long` reads it: one mode (`-a -c -D -r
//! -R`), `-u libvirt-UUID`, `-d`, `-f FILE` / `-F FILE`, `-p 0|1`, `-h`; short options
//! may be clustered (`-dc`) and take their value attached or as the next word. oxvirt's
//! additions are long options only (`--profile-dir`, `--vm-dir`, `--log`,
//! `--complain`, `--compile-only`), so no virt-aa-helper command line means anything
//! else here.

use std::path::PathBuf;
use uuid::Uuid;

/// What to do with the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `-a`: load the existing profile.
    Add,
    /// `-c`: create the profile from the template and load it.
    Create,
    /// `-D`: unload the profile and delete its files.
    Delete,
    /// `-r`: regenerate the rules and reload.
    Replace,
    /// `-R`: unload the profile.
    Remove,
}

/// One extra file for the VM's rules (hotplug).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extra {
    /// `-f FILE`: regenerate the rules from the XML and add FILE.
    Add(String),
    /// `-F FILE`: append FILE's rule to the existing rules.
    Append(String),
}

/// The parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub mode: Mode,
    /// `libvirt-UUID`.
    pub profile: String,
    pub uuid: Uuid,
    pub dry_run: bool,
    pub extra: Option<Extra>,
    /// `-p 1`: follow a backing chain of a disk whose format the XML does not give
    /// (format probing); `-p 0` (the default) only for `qcow2` disks.
    pub probing: bool,
    /// Where the profiles live (default `/etc/apparmor.d/libvirt`).
    pub profile_dir: PathBuf,
    /// The VM's own directories (its sockets, its private files): `DIR/{,**}` rwk.
    pub vm_dirs: Vec<PathBuf>,
    /// The domain log QEMU's stdout and stderr are appended to.
    pub log: Option<PathBuf>,
    /// Create the profile with `flags=(complain)`.
    pub complain: bool,
    /// Compile with `apparmor_parser -Q` instead of loading (hosts without AppArmor).
    pub compile_only: bool,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    Run(Args),
}

/// A command line error: the message, printed after `oxvirt-aa-helper: error: `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError(pub String);

pub const DEFAULT_PROFILE_DIR: &str = "/etc/apparmor.d/libvirt";
const PREFIX: &str = "libvirt-";

/// `libvirt-UUID` checked as virt-aa-helper does: at most 44 characters, the prefix,
/// then a UUID.
pub fn parse_profile_name(s: &str) -> Result<Uuid, CliError> {
    let bad = || {
        CliError(format!(
            "invalid UUID '{s}': -u takes the profile name, 'libvirt-' followed by the \
             domain's UUID"
        ))
    };
    if s.len() > PREFIX.len() + 36 {
        return Err(bad());
    }
    let rest = s.strip_prefix(PREFIX).ok_or_else(bad)?;
    Uuid::parse_str(rest).map_err(|_| bad())
}

#[derive(Default)]
struct Builder {
    mode: Option<Mode>,
    profile: Option<String>,
    dry_run: bool,
    extra: Option<Extra>,
    probing: bool,
    profile_dir: Option<PathBuf>,
    vm_dirs: Vec<PathBuf>,
    log: Option<PathBuf>,
    complain: bool,
    compile_only: bool,
    help: bool,
}

impl Builder {
    fn set_mode(&mut self, m: Mode) -> Result<(), CliError> {
        if self.mode.is_some_and(|old| old != m) {
            return Err(CliError(
                "more than one mode given; use one of -a, -c, -D, -r, -R".into(),
            ));
        }
        self.mode = Some(m);
        Ok(())
    }

    fn short(
        &mut self,
        c: char,
        value: &mut dyn FnMut() -> Option<String>,
    ) -> Result<(), CliError> {
        let mut need =
            |what: &str| value().ok_or_else(|| CliError(format!("option -{c} needs {what}")));
        match c {
            'a' => self.set_mode(Mode::Add)?,
            'c' => self.set_mode(Mode::Create)?,
            'D' => self.set_mode(Mode::Delete)?,
            'r' => self.set_mode(Mode::Replace)?,
            'R' => self.set_mode(Mode::Remove)?,
            'd' => self.dry_run = true,
            'h' => self.help = true,
            'u' => self.profile = Some(need("the profile name libvirt-UUID")?),
            'f' => self.extra = Some(Extra::Add(need("a file")?)),
            'F' => self.extra = Some(Extra::Append(need("a file")?)),
            'p' => {
                self.probing = match need("0 or 1")?.as_str() {
                    "0" => false,
                    "1" => true,
                    v => {
                        return Err(CliError(format!(
                            "invalid probing value '{v}' for -p; use 0 or 1"
                        )))
                    }
                }
            }
            _ => return Err(CliError(format!("unsupported option -{c}; see -h"))),
        }
        Ok(())
    }

    fn long(
        &mut self,
        name: &str,
        value: &mut dyn FnMut() -> Option<String>,
    ) -> Result<(), CliError> {
        let mut need = || value().ok_or_else(|| CliError(format!("option --{name} needs a value")));
        let short = match name {
            "add" => 'a',
            "create" => 'c',
            "delete" => 'D',
            "replace" => 'r',
            "remove" => 'R',
            "dryrun" | "dry-run" => 'd',
            "help" => 'h',
            "uuid" => 'u',
            "add-file" => 'f',
            "append-file" => 'F',
            "probing" => 'p',
            "profile-dir" => {
                self.profile_dir = Some(need()?.into());
                return Ok(());
            }
            "vm-dir" => {
                self.vm_dirs.push(need()?.into());
                return Ok(());
            }
            "log" => {
                self.log = Some(need()?.into());
                return Ok(());
            }
            "complain" => {
                self.complain = true;
                return Ok(());
            }
            "compile-only" => {
                self.compile_only = true;
                return Ok(());
            }
            _ => return Err(CliError(format!("unsupported option --{name}; see -h"))),
        };
        self.short(short, value)
    }
}

/// Parse the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, CliError> {
    let mut b = Builder::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let mut inline = inline;
            let mut next = || {
                inline.take().or_else(|| {
                    let v = args.get(i).cloned();
                    i += 1;
                    v
                })
            };
            b.long(name, &mut next)?;
        } else if let Some(cluster) = arg.strip_prefix('-').filter(|c| !c.is_empty()) {
            let chars: Vec<char> = cluster.chars().collect();
            let mut k = 0;
            while k < chars.len() {
                let c = chars[k];
                k += 1;
                let attached: String = chars[k..].iter().collect();
                let mut used_attached = false;
                let mut next = || {
                    if !attached.is_empty() {
                        used_attached = true;
                        return Some(attached.clone());
                    }
                    let v = args.get(i).cloned();
                    i += 1;
                    v
                };
                b.short(c, &mut next)?;
                if used_attached {
                    break;
                }
            }
        } else {
            return Err(CliError(format!(
                "unexpected argument '{arg}'; the domain XML is read from stdin"
            )));
        }
    }
    if b.help {
        return Ok(Command::Help);
    }
    let mode = b
        .mode
        .ok_or_else(|| CliError("bad command: give one mode of -a, -c, -D, -r, -R".into()))?;
    let profile = b
        .profile
        .ok_or_else(|| CliError("no profile name: -u libvirt-UUID is required".into()))?;
    let uuid = parse_profile_name(&profile)?;
    Ok(Command::Run(Args {
        mode,
        profile,
        uuid,
        dry_run: b.dry_run,
        extra: b.extra,
        probing: b.probing,
        profile_dir: b.profile_dir.unwrap_or_else(|| DEFAULT_PROFILE_DIR.into()),
        vm_dirs: b.vm_dirs,
        log: b.log,
        complain: b.complain,
        compile_only: b.compile_only,
    }))
}

pub const USAGE: &str = "\
oxvirt-aa-helper mode [options] [extra file] [< def.xml]

  Modes:
    -a | --add                     load profile
    -c | --create                  create profile from template
    -D | --delete                  unload profile and delete generated rules
    -r | --replace                 reload profile
    -R | --remove                  unload profile
  Options:
    -d | --dryrun                  dry run
    -u | --uuid <uuid>             uuid (profile name)
    -p | --probing <0|1>           follow backing chains of disks without a format
    -h | --help                    this help
  Extra File:
    -f | --add-file <file>         add file to a profile generated from XML
    -F | --append-file <file>      append file to an existing profile
  oxvirt:
    --profile-dir <dir>            profiles' directory (default /etc/apparmor.d/libvirt)
    --vm-dir <dir>                 a directory of the VM's own (repeatable)
    --log <file>                   the domain log QEMU writes to
    --complain                     create the profile in complain mode
    --compile-only                 compile with apparmor_parser -Q, do not load

This command is intended to be used by oxvirt and libvirt and not used directly.
";

#[cfg(test)]
mod tests {
    use super::*;

    fn p(a: &[&str]) -> Result<Command, CliError> {
        parse(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }
    const U: &str = "libvirt-11111111-2222-3333-4444-555555555555";

    #[test]
    fn clustered_and_separate_short_options() {
        let Command::Run(a) = p(&["-dc", "-u", U, "-F/tmp/x", "-p", "1"]).unwrap() else {
            panic!()
        };
        assert_eq!(a.mode, Mode::Create);
        assert!(a.dry_run && a.probing);
        assert_eq!(a.extra, Some(Extra::Append("/tmp/x".into())));
        let Command::Run(a) = p(&["--replace", "--uuid", U, "--vm-dir=/r/d"]).unwrap() else {
            panic!()
        };
        assert_eq!(a.mode, Mode::Replace);
        assert_eq!(a.vm_dirs, [PathBuf::from("/r/d")]);
    }

    #[test]
    fn refusals_name_the_problem() {
        assert!(p(&["-u", U]).unwrap_err().0.contains("bad command"));
        assert!(p(&["-c"]).unwrap_err().0.contains("-u libvirt-UUID"));
        assert!(p(&["-c", "-u", "libvirt-xyz"])
            .unwrap_err()
            .0
            .contains("invalid UUID"));
        let long = format!("{U}0");
        assert!(p(&["-c", "-u", &long])
            .unwrap_err()
            .0
            .contains("invalid UUID"));
        assert!(p(&["-c", "-u", "11111111-2222-3333-4444-555555555555"]).is_err());
        assert!(p(&["-x"]).unwrap_err().0.contains("unsupported option -x"));
        assert!(p(&["-c", "-r", "-u", U])
            .unwrap_err()
            .0
            .contains("one mode"));
        assert!(p(&["-c", "-u", U, "-p", "2"])
            .unwrap_err()
            .0
            .contains("0 or 1"));
        assert!(p(&["-c", "-u"]).unwrap_err().0.contains("needs"));
        assert_eq!(p(&["-h"]).unwrap(), Command::Help);
    }
}
