//! Reading a configuration file in three steps, for any file made of sections: TOML
//! syntax, then each key's type (a [`Section`] converts the keys it owns), then each
//! value (the section's check). Problems are reported in file order, the first one
//! wins, and every error names the file, the line, the key, the problem and the fix.

use crate::check::Check;
use crate::error::{ConfigError, Location};
use crate::field::Field;
use serde::de::IgnoredAny;
use std::collections::BTreeMap;
use std::path::Path;
use toml::{Spanned, Value};

/// The keys one part of a file owns: how each is converted into the configuration
/// `C`, and how its value is checked.
pub(crate) struct Section<C: 'static> {
    pub keys: &'static [&'static str],
    /// Convert `field` into `config`; `Ok(false)` if the key is not this section's
    /// (then the loader reports it as unknown: a key listed in `keys` but not converted
    /// is never dropped silently).
    pub set: fn(&mut C, &Field<'_>) -> Result<bool, ConfigError>,
    /// Check the value of `key` (one of `keys`).
    pub check: fn(&C, &str) -> Check,
}

/// The text of `path`; `Ok(None)` when the file does not exist.
pub(crate) fn read_text(path: &Path) -> Result<Option<String>, ConfigError> {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Ok(Some(text)),
            Err(e) => {
                let offset = e.utf8_error().valid_up_to();
                let text = String::from_utf8_lossy(e.as_bytes());
                let (line, column) = line_col(&text, offset);
                Err(ConfigError::Syntax {
                    location: Location {
                        path: path.to_path_buf(),
                        line: Some(line),
                    },
                    column,
                    message: "the file is not valid UTF-8".to_string(),
                })
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ConfigError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Parse `text` (read from `path`) over `base` with `sections`; `known` is every key of
/// the file, in documentation order, for the unknown-key error.
pub(crate) fn parse_over<C>(
    base: C,
    path: &Path,
    text: &str,
    sections: &[Section<C>],
    known: &'static [&'static str],
) -> Result<C, ConfigError> {
    let mut c = base;
    for (location, key, value) in entries(path, text)? {
        let f = Field {
            key: &key,
            value: &value,
            location,
        };
        let section = sections.iter().find(|s| s.keys.contains(&f.key));
        let converted = match section {
            Some(s) => (s.set)(&mut c, &f)?,
            None => false,
        };
        let (Some(section), true) = (section, converted) else {
            return Err(ConfigError::UnknownKey {
                location: f.location,
                key,
                known,
            });
        };
        if let Err((problem, fix)) = (section.check)(&c, f.key) {
            return Err(ConfigError::InvalidValue {
                location: f.location,
                key: key.clone(),
                problem,
                fix,
            });
        }
    }
    Ok(c)
}

/// Check every value of `c` (for configurations built in code); errors name `path`
/// without a line.
pub(crate) fn validate<C>(
    c: &C,
    path: &Path,
    sections: &[Section<C>],
    known: &'static [&'static str],
) -> Result<(), ConfigError> {
    for key in known {
        let Some(section) = sections.iter().find(|s| s.keys.contains(key)) else {
            continue;
        };
        if let Err((problem, fix)) = (section.check)(c, key) {
            return Err(ConfigError::InvalidValue {
                location: Location {
                    path: path.to_path_buf(),
                    line: None,
                },
                key: key.to_string(),
                problem,
                fix,
            });
        }
    }
    Ok(())
}

/// The top-level `key = value`s of `text` in file order, each with its location.
fn entries(path: &Path, text: &str) -> Result<Vec<(Location, String, Value)>, ConfigError> {
    let syntax = |e: toml::de::Error| {
        let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
        ConfigError::Syntax {
            location: Location {
                path: path.to_path_buf(),
                line: (line > 0).then_some(line),
            },
            column,
            message: e.message().trim_end().to_string(),
        }
    };
    // Values, then the span of each top-level key (a second pass: toml cannot
    // give spans inside a `Spanned<Value>` that holds a dotted-key table).
    let table: toml::Table = toml::from_str(text).map_err(syntax)?;
    let spans: BTreeMap<Spanned<String>, IgnoredAny> = toml::from_str(text).map_err(syntax)?;
    // Report problems in file order, not in key order.
    let mut entries: Vec<(usize, String, Value)> = table
        .into_iter()
        .map(|(k, v)| {
            let start = spans
                .get_key_value(k.as_str())
                .map(|(s, _)| s.span().start)
                .unwrap_or(usize::MAX);
            (start, k, v)
        })
        .collect();
    entries.sort_by_key(|(start, _, _)| *start);
    Ok(entries
        .into_iter()
        .map(|(start, k, v)| {
            let location = Location {
                path: path.to_path_buf(),
                line: (start != usize::MAX).then(|| line_col(text, start).0),
            };
            (location, k, v)
        })
        .collect())
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    (line, column)
}
