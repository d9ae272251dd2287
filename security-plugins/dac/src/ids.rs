//! User and group ids as qemu.conf and `<seclabel>` spell them: a leading `+` forces a
//! number, otherwise a name is looked up first and a number is the fallback
//! (libvirt's `virGetUserID` / `virGetGroupID`). Labels are `OWNER:GROUP`.

use nix::unistd::{Gid, Group, Uid, User};
use oxvirt_core::{Error, ErrorCode, ErrorDomain, Result};

fn err(msg: String) -> Error {
    Error::new(ErrorCode::InvalidArg, ErrorDomain::Security, msg)
}

/// A user id from `+N`, a name, or `N`.
pub fn user_id(s: &str) -> Result<u32> {
    if let Some(n) = s.strip_prefix('+') {
        return n.parse().map_err(|_| {
            err(format!(
                "Invalid user '{s}': '+' must be followed by a number"
            ))
        });
    }
    if let Ok(Some(u)) = User::from_name(s) {
        return Ok(u.uid.as_raw());
    }
    s.parse().map_err(|_| {
        err(format!(
            "Failed to find user record for name '{s}'; create the user or use '+UID'"
        ))
    })
}

/// A group id from `+N`, a name, or `N`.
pub fn group_id(s: &str) -> Result<u32> {
    if let Some(n) = s.strip_prefix('+') {
        return n.parse().map_err(|_| {
            err(format!(
                "Invalid group '{s}': '+' must be followed by a number"
            ))
        });
    }
    if let Ok(Some(g)) = Group::from_name(s) {
        return Ok(g.gid.as_raw());
    }
    s.parse().map_err(|_| {
        err(format!(
            "Failed to find group record for name '{s}'; create the group or use '+GID'"
        ))
    })
}

/// `OWNER:GROUP` → (uid, gid).
pub fn parse_label(label: &str) -> Result<(u32, u32)> {
    let (u, g) = label.split_once(':').ok_or_else(|| {
        err(format!(
            "Failed to parse DAC label '{label}': expected OWNER:GROUP, e.g. '+107:+107'"
        ))
    })?;
    Ok((user_id(u)?, group_id(g)?))
}

/// `+uid:+gid`.
pub fn format_label(uid: u32, gid: u32) -> String {
    format!("+{uid}:+{gid}")
}

/// The supplementary groups of `uid` (with `gid`), looked up now, before any fork.
pub fn group_list(uid: u32, gid: u32) -> Vec<u32> {
    let Ok(Some(user)) = User::from_uid(Uid::from_raw(uid)) else {
        return vec![gid];
    };
    let Ok(name) = std::ffi::CString::new(user.name) else {
        return vec![gid];
    };
    match nix::unistd::getgrouplist(&name, Gid::from_raw(gid)) {
        Ok(groups) => groups.into_iter().map(|g| g.as_raw()).collect(),
        Err(_) => vec![gid],
    }
}

/// A user's name for messages (`uid N` when unknown).
pub fn user_name(uid: u32) -> String {
    match User::from_uid(Uid::from_raw(uid)) {
        Ok(Some(u)) => format!("'{}' (uid {uid})", u.name),
        _ => format!("uid {uid}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_names_and_labels() {
        assert_eq!(user_id("+107").unwrap(), 107);
        assert_eq!(user_id("root").unwrap(), 0);
        assert_eq!(user_id("4242").unwrap(), 4242);
        assert_eq!(group_id("+0").unwrap(), 0);
        assert_eq!(parse_label("+1:+2").unwrap(), (1, 2));
        assert_eq!(parse_label("root:root").unwrap(), (0, 0));
        assert!(parse_label("nocolon")
            .unwrap_err()
            .message
            .contains("OWNER:GROUP"));
        assert!(user_id("+x").is_err());
        assert!(user_id("no-such-user-oxvirt")
            .unwrap_err()
            .message
            .contains("create the user"));
        assert_eq!(format_label(5, 6), "+5:+6");
        assert!(group_list(0, 0).contains(&0));
    }
}
