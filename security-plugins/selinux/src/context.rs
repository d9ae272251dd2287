//! SELinux security contexts as strings (`user:role:type[:range]`), MCS ranges
//! (`s0-s0:c0.c1023`), and the labels sVirt derives from them — pure functions, so label
//! generation is tested on hosts without SELinux.
//!
//! libvirt's rules (`security_selinux.c`): the category range comes from the managing
//! process's own context (sensitivity = its low level, categories = its `cMIN.cMAX`, or
//! `c0.c1023` when it has none); a VM's pair is two different categories of that range,
//! lower first; the process label is the base domain context with the manager's user
//! and role and the VM's level; an object label keeps its role (`object_r`) and takes
//! the manager's user and the VM's level.

use oxvirt_core::{Error, ErrorCode, ErrorDomain, Result};
use std::fmt;

fn err(msg: String) -> Error {
    Error::new(ErrorCode::InvalidArg, ErrorDomain::Security, msg)
}

/// A parsed context: `user:role:type[:range]` (the range may itself hold `:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub user: String,
    pub role: String,
    pub kind: String,
    pub range: Option<String>,
}

impl Context {
    /// Parse `text`; every part must be non-empty.
    pub fn parse(text: &str) -> Result<Context> {
        let mut parts = text.trim_end_matches('\0').splitn(4, ':');
        let mut next = || parts.next().filter(|p| !p.is_empty());
        let bad = || {
            err(format!(
                "'{text}' is not an SELinux context: expected USER:ROLE:TYPE[:RANGE], \
                 e.g. system_u:system_r:svirt_t:s0:c1,c2"
            ))
        };
        let (user, role, kind) = (next(), next(), next());
        let (Some(user), Some(role), Some(kind)) = (user, role, kind) else {
            return Err(bad());
        };
        let range = next().map(str::to_string);
        if text
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() && c != '\0')
        {
            return Err(bad());
        }
        Ok(Context {
            user: user.into(),
            role: role.into(),
            kind: kind.into(),
            range,
        })
    }

    /// This context at `range`.
    pub fn with_range(&self, range: &str) -> Context {
        Context {
            range: Some(range.into()),
            ..self.clone()
        }
    }
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.user, self.role, self.kind)?;
        if let Some(r) = &self.range {
            write!(f, ":{r}")?;
        }
        Ok(())
    }
}

/// The categories a manager may hand out: its sensitivity and `cMIN..=cMAX`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryRange {
    pub sensitivity: String,
    pub min: u32,
    pub max: u32,
}

/// Fewer categories than this is refused, as libvirt does.
const MIN_CATEGORIES: u32 = 8;

fn category(text: &str, range: &str) -> Result<u32> {
    text.strip_prefix('c')
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| {
            err(format!(
                "cannot parse category '{text}' of the range '{range}' (expected cN)"
            ))
        })
}

impl CategoryRange {
    /// From the manager's range (`s0-s0:c0.c1023`, `s0:c0.c10`, `s0`; `None`: `s0`).
    pub fn of(range: Option<&str>) -> Result<CategoryRange> {
        let range = range.unwrap_or("s0");
        let low = range.split(['-', ':']).next().unwrap_or("s0");
        let (min, max) = match range.rsplit_once(':') {
            None => (0, 1023),
            Some((_, cats)) => match cats.split_once('.') {
                Some((a, b)) => (category(a, range)?, category(b, range)?),
                None => {
                    return Err(err(format!(
                        "the range '{range}' has no category span cMIN.cMAX to allocate from"
                    )))
                }
            },
        };
        if max < min || max - min + 1 < MIN_CATEGORIES {
            return Err(err(format!(
                "Category range c{min}-c{max} too small: sVirt needs at least {MIN_CATEGORIES} \
                 categories in the range of the process that starts VMs"
            )));
        }
        Ok(CategoryRange {
            sensitivity: low.to_string(),
            min,
            max,
        })
    }

    /// A level `SENS:cA,cB` with A < B, both in range; `draw(n)` returns a number below
    /// `n`, `taken` says whether a level is already held. Gives up after many draws.
    pub fn pick(
        &self,
        mut draw: impl FnMut(u32) -> u32,
        taken: impl Fn(&str) -> bool,
    ) -> Result<String> {
        let span = self.max - self.min + 1;
        for _ in 0..100_000 {
            let (a, b) = (draw(span), draw(span));
            if a == b {
                // One category would be a subset of every pair that contains it.
                continue;
            }
            let (a, b) = (a.min(b) + self.min, a.max(b) + self.min);
            let level = format!("{}:c{a},c{b}", self.sensitivity);
            if !taken(&level) {
                return Ok(level);
            }
        }
        Err(Error::new(
            ErrorCode::OperationFailed,
            ErrorDomain::Security,
            format!(
                "no free MCS category pair left in {}:c{}.c{}: stop some VMs",
                self.sensitivity, self.min, self.max
            ),
        ))
    }
}

/// The two categories of a VM level `SENS:cA,cB` (`None` for anything else).
pub fn category_pair(level: &str) -> Option<(u32, u32)> {
    let (_, cats) = level.split_once(':')?;
    let (a, b) = cats.split_once(',')?;
    Some((category(a, level).ok()?, category(b, level).ok()?))
}

/// The process label of a VM: `base`'s type with the manager's user and role, at `level`.
pub fn process_label(base: &Context, ours: &Context, level: &str) -> String {
    Context {
        user: ours.user.clone(),
        role: ours.role.clone(),
        kind: base.kind.clone(),
        range: Some(level.into()),
    }
    .to_string()
}

/// An object label: `base`'s role and type with the manager's user, at `level`.
pub fn object_label(base: &Context, ours: &Context, level: &str) -> String {
    Context {
        user: ours.user.clone(),
        ..base.with_range(level)
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_parse_and_print_back() {
        let c = Context::parse("system_u:system_r:svirt_t:s0:c1,c2").unwrap();
        assert_eq!(c.kind, "svirt_t");
        assert_eq!(c.range.as_deref(), Some("s0:c1,c2"));
        assert_eq!(c.to_string(), "system_u:system_r:svirt_t:s0:c1,c2");
        let c = Context::parse("u:r:t\0").unwrap();
        assert_eq!((c.to_string(), c.range), ("u:r:t".into(), None));
        for bad in ["", "svirt_t", "a:b", "a::c", "a:b:c d", "a:b:c:s0\n"] {
            let e = Context::parse(bad).unwrap_err();
            assert!(e.message.contains("not an SELinux context"), "{bad}: {e}");
        }
    }

    // The managing contexts libvirt's securityselinuxtest.c covers, and what comes out.
    #[test]
    fn the_category_range_comes_from_the_managing_context() {
        let of = |c: &str| CategoryRange::of(Context::parse(c).unwrap().range.as_deref());
        let r = of("system_u:system_r:virtd_t:s0-s0:c0.c1023").unwrap();
        assert_eq!((r.sensitivity.as_str(), r.min, r.max), ("s0", 0, 1023));
        let r = of("unconfined_u:unconfined_r:unconfined_t:s0").unwrap();
        assert_eq!((r.sensitivity.as_str(), r.min, r.max), ("s0", 0, 1023));
        let r = of("u:r:t").unwrap();
        assert_eq!((r.sensitivity.as_str(), r.min, r.max), ("s0", 0, 1023));
        let r = of("u:r:t:s0:c0.c10").unwrap();
        assert_eq!((r.min, r.max), (0, 10));
        let r = of("u:r:t:s2-s3:c5.c100").unwrap();
        assert_eq!((r.sensitivity.as_str(), r.min, r.max), ("s2", 5, 100));
        let e = of("u:r:t:s0:c0.c3").unwrap_err();
        assert!(e.message.contains("too small"), "{e}");
        let e = of("u:r:t:s0:c0.cX").unwrap_err();
        assert!(e.message.contains("cannot parse category"), "{e}");
        let e = of("u:r:t:s0:c7").unwrap_err();
        assert!(e.message.contains("cMIN.cMAX"), "{e}");
    }

    #[test]
    fn pairs_are_two_different_ordered_categories_not_taken() {
        let r = CategoryRange::of(Some("s0-s0:c10.c20")).unwrap();
        // Draws: an equal pair (skipped), then 7,3 → c13,c17.
        let mut draws = [4, 4, 7, 3].into_iter();
        let level = r.pick(|_| draws.next().unwrap(), |_| false).unwrap();
        assert_eq!(level, "s0:c13,c17");
        assert_eq!(category_pair(&level), Some((13, 17)));
        // A taken pair is drawn again.
        let mut draws = [7, 3, 0, 1].into_iter();
        let level = r
            .pick(|_| draws.next().unwrap(), |l| l == "s0:c13,c17")
            .unwrap();
        assert_eq!(level, "s0:c10,c11");
        // Every pair of a real draw is in range, different and ordered.
        let mut seed = 12345u32;
        let mut lcg = |n: u32| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (seed >> 8) % n
        };
        for _ in 0..1000 {
            let (a, b) = category_pair(&r.pick(&mut lcg, |_| false).unwrap()).unwrap();
            assert!(10 <= a && a < b && b <= 20, "c{a},c{b}");
        }
        let e = r.pick(|_| 0, |_| false).unwrap_err();
        assert!(e.message.contains("no free MCS category pair"), "{e}");
    }

    #[test]
    fn labels_take_the_managers_user_and_role_and_the_vms_level() {
        let ours = Context::parse("staff_u:staff_r:virtd_t:s0-s0:c0.c1023").unwrap();
        let domain = Context::parse("system_u:system_r:svirt_t:s0").unwrap();
        let image = Context::parse("system_u:object_r:svirt_image_t:s0").unwrap();
        assert_eq!(
            process_label(&domain, &ours, "s0:c1,c2"),
            "staff_u:staff_r:svirt_t:s0:c1,c2"
        );
        assert_eq!(
            object_label(&image, &ours, "s0:c1,c2"),
            "staff_u:object_r:svirt_image_t:s0:c1,c2"
        );
    }
}
