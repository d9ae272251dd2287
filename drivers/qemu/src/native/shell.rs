//! The line as a shell reads it: words, quotes, escapes.

use oxvirt_core::{Error, Result};
use std::iter::Peekable;
use std::str::Chars;

/// Split a shell line into words: blanks separate, `'...'` is literal, `"..."` keeps
/// `\"`, `\\`, `\$` and `` \` `` escapes, a backslash outside quotes escapes the next
/// character and a backslash-newline joins lines.
pub fn shell_split(line: &str) -> Result<Vec<String>> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(n) => {
                    cur.push(n);
                    in_word = true;
                }
                None => {}
            },
            '\'' => {
                in_word = true;
                single_quoted(&mut chars, &mut cur)?;
            }
            '"' => {
                in_word = true;
                double_quoted(&mut chars, &mut cur)?;
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// The rest of a `'...'` word, after the opening quote.
fn single_quoted(chars: &mut Peekable<Chars<'_>>, cur: &mut String) -> Result<()> {
    loop {
        match chars.next() {
            Some('\'') => return Ok(()),
            Some(x) => cur.push(x),
            None => {
                return Err(Error::invalid_arg(
                    "unterminated ' quote in the QEMU command line",
                ))
            }
        }
    }
}

/// The rest of a `"..."` word, after the opening quote.
fn double_quoted(chars: &mut Peekable<Chars<'_>>, cur: &mut String) -> Result<()> {
    let unterminated = || Error::invalid_arg("unterminated \" quote in the QEMU command line");
    loop {
        match chars.next() {
            Some('"') => return Ok(()),
            Some('\\') => match chars.next() {
                Some(n @ ('"' | '\\' | '$' | '`')) => cur.push(n),
                Some('\n') => {}
                Some(n) => {
                    cur.push('\\');
                    cur.push(n);
                }
                None => return Err(unterminated()),
            },
            Some(x) => cur.push(x),
            None => return Err(unterminated()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_quotes() {
        assert_eq!(
            shell_split("A='x y' /bin/q -a \"b c\" d\\ e \\\n -f").unwrap(),
            vec!["A=x y", "/bin/q", "-a", "b c", "d e", "-f"]
        );
        assert!(shell_split("'open").is_err());
    }
}
