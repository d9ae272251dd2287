//! Value checks shared by several sections: each returns `Err((problem, fix))`, which the
//! loader turns into [`crate::ConfigError::InvalidValue`] with the file, line and key.

use std::path::Path;

/// The result of checking one value: `Err((problem, fix))`.
pub(crate) type Check = Result<(), (String, String)>;

pub(crate) fn bad(problem: impl Into<String>, fix: impl Into<String>) -> Check {
    Err((problem.into(), fix.into()))
}

pub(crate) fn check_no_duplicates(items: impl Iterator<Item = String>) -> Check {
    let mut seen = std::collections::BTreeSet::new();
    for i in items {
        if !seen.insert(i.clone()) {
            return bad(format!("'{i}' is listed twice"), "list each entry once");
        }
    }
    Ok(())
}

pub(crate) fn check_abs_dir(dir: &Path) -> Check {
    if dir.is_absolute() {
        Ok(())
    } else {
        bad(
            format!("'{}' is not an absolute path", dir.display()),
            "give a path starting with '/'",
        )
    }
}

pub(crate) fn check_max(n: u64, max: u64) -> Check {
    if n <= max {
        Ok(())
    } else {
        bad(format!("{n} is too large"), format!("use at most {max}"))
    }
}

/// `min..=max`, with a fix that says what the bounds mean.
pub(crate) fn check_range(n: i64, min: i64, max: i64, fix: &str) -> Check {
    if (min..=max).contains(&n) {
        Ok(())
    } else {
        bad(format!("{n} is out of range"), fix)
    }
}

/// A count (read as u64) within `min..=max`.
pub(crate) fn check_count(n: u64, min: u64, max: u64, fix: &str) -> Check {
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    check_range(n, min as i64, max as i64, fix)
}
