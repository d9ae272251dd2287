//! `domxml-from-native qemu-argv`: a QEMU command line (one line: environment
//! variables, the binary, the arguments, shell-quoted) → a domain model, for the
//! common options libvirt 0.7 understood. Every argument that is not understood is kept
//! in `<qemu:commandline>` (with a warning), so nothing is lost.
//!
//! The steps: [`shell_split`] the line ([`shell`]); the leading `NAME=VALUE` words are
//! the environment (the standard ones dropped, the others kept as `<qemu:env>`); the
//! binary names the emulator, architecture and domain type ([`machine::emulator`]);
//! each option is looked up in [`table::OPTIONS`] (name → takes a value? → handler in
//! the module of its family: [`machine`], [`memory`], [`identity`], [`os`], [`disk`],
//! [`interface`], [`graphics`], [`chardev`], [`clock`], [`lifecycle`]); last, the
//! [`table::FINISH`] steps fill in what depends on the whole line.
//!
//! The other direction (`domxml-to-native`) is [`crate::argv::build_with_caps`].

pub mod chardev;
pub mod clock;
pub mod disk;
pub mod graphics;
pub mod identity;
pub mod interface;
pub mod lifecycle;
pub mod machine;
pub mod memory;
pub mod os;
pub mod shell;
pub mod state;
pub mod table;
pub mod value;

pub use shell::shell_split;

use oxvirt_core::domain::Domain;
use oxvirt_core::{Error, Result};
use state::State;

/// Environment variables every QEMU launcher sets; not kept as `<qemu:env>`.
const STANDARD_ENV: &[&str] = &[
    "LC_ALL",
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "XDG_DATA_HOME",
    "XDG_CACHE_HOME",
    "XDG_CONFIG_HOME",
    "QEMU_AUDIO_DRV",
];

/// Convert one native line. The second value lists warnings (arguments kept as
/// `<qemu:commandline>`, properties dropped).
pub fn from_argv_line(line: &str) -> Result<(Domain, Vec<String>)> {
    let words = shell_split(line)?;
    let mut st = State::new();
    let rest = environment(&mut st, &words);
    let Some((binary, args)) = rest.split_first() else {
        return Err(Error::invalid_arg(
            "invalid argument: no QEMU binary in the native config; give one line: ENV=VAL ... /usr/bin/qemu-system-x86_64 ARGS",
        ));
    };
    machine::emulator(&mut st, binary);
    options(&mut st, args)?;
    for finish in table::FINISH {
        finish(&mut st);
    }
    Ok(st.into_result())
}

/// Take the leading `NAME=VALUE` words; returns the words after them.
fn environment<'w>(st: &mut State, words: &'w [String]) -> &'w [String] {
    let mut i = 0;
    while let Some((k, v)) = words.get(i).and_then(|w| env_word(w)) {
        if !STANDARD_ENV.contains(&k) {
            st.extra.env.push((k.to_string(), Some(v.to_string())));
        }
        i += 1;
    }
    &words[i..]
}

fn env_word(w: &str) -> Option<(&str, &str)> {
    let (k, v) = w.split_once('=')?;
    let name = !k.is_empty()
        && !w.starts_with('-')
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    name.then_some((k, v))
}

/// Convert the options; an unknown one keeps the word after it when that is not an
/// option.
fn options(st: &mut State, words: &[String]) -> Result<()> {
    let mut i = 0;
    while i < words.len() {
        let opt = words[i].as_str();
        // QEMU accepts `--opt` as `-opt`.
        let norm = if opt.starts_with("--") {
            &opt[1..]
        } else {
            opt
        };
        let known = table::lookup(norm);
        let mut takes = known.is_some_and(|o| o.takes_value);
        let mut value = String::new();
        if takes {
            value = words
                .get(i + 1)
                .ok_or_else(|| {
                    Error::invalid_arg(format!("invalid argument: option '{opt}' needs a value"))
                })?
                .clone();
        }
        let understood = match known {
            Some(o) => (o.handle)(st, norm, &value)?,
            None => false,
        };
        if !understood {
            if let Some(next) = words.get(i + 1).filter(|n| !takes && !n.starts_with('-')) {
                takes = true;
                value = next.clone();
            }
            st.keep(opt, takes.then_some(value));
        }
        i += if takes { 2 } else { 1 };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_is_kept() {
        let (d, w) =
            from_argv_line("FOO=bar /usr/bin/qemu-system-x86_64 -m 64 -frobnicate x -newflag")
                .unwrap();
        let cl = d.qemu_commandline.unwrap();
        assert_eq!(cl.args, vec!["-frobnicate", "x", "-newflag"]);
        assert_eq!(cl.env, vec![("FOO".to_string(), Some("bar".to_string()))]);
        assert_eq!(w.len(), 2);
        assert_eq!(d.memory_kib, 65536);
    }
}

#[cfg(test)]
mod no_panic {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any text, and any mix of the options the parser knows, gives a domain or an
        /// error — never a panic.
        #[test]
        fn arbitrary_lines_never_panic(line in "\\PC{0,200}") {
            let _ = from_argv_line(&line);
        }

        #[test]
        fn known_options_with_arbitrary_values_never_panic(
            words in proptest::collection::vec(
                prop_oneof![
                    Just("-m".to_string()), Just("-smp".to_string()), Just("-M".to_string()),
                    Just("-machine".to_string()), Just("-drive".to_string()), Just("-hda".to_string()),
                    Just("-cdrom".to_string()), Just("-boot".to_string()), Just("-net".to_string()),
                    Just("-netdev".to_string()), Just("-vnc".to_string()), Just("-serial".to_string()),
                    Just("-uuid".to_string()), Just("-name".to_string()), Just("-rtc".to_string()),
                    "[a-z0-9=,:./'\" -]{0,24}",
                ],
                0..16,
            )
        ) {
            let line = format!("LC_ALL=C /usr/bin/qemu-system-x86_64 {}", words.join(" "));
            let _ = from_argv_line(&line);
        }
    }
}
