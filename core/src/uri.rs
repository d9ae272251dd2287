//! Connection URIs as libvirt spells them: `qemu:///system`, `qemu:///session`,
//! `qemu:///embed?root=DIR`, `qemu+unix:///system?socket=PATH`, `test:///default`.

use crate::error::{Error, ErrorCode, ErrorDomain, Result};

/// A parsed connection URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectUri {
    /// The driver part of the scheme: `qemu`, `test`.
    pub driver: String,
    /// The transport after `+`, if any: `unix`, `ssh`, `tls`, `tcp`.
    pub transport: Option<String>,
    pub host: Option<String>,
    /// Path without the leading `/`: `system`, `session`, `embed`, `default`.
    pub path: String,
    /// Query parameters in order, percent-decoded.
    pub params: Vec<(String, String)>,
    /// The text as given.
    pub original: String,
}

impl ConnectUri {
    pub fn parse(text: &str) -> Result<ConnectUri> {
        let bad = |why: &str| {
            Error::new(
                ErrorCode::InvalidArg,
                ErrorDomain::None,
                format!("invalid connection URI '{text}': {why}"),
            )
        };
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| bad("expected SCHEME://[HOST]/PATH, e.g. qemu:///system"))?;
        if scheme.is_empty() {
            return Err(bad("the scheme is empty"));
        }
        let (driver, transport) = match scheme.split_once('+') {
            Some((d, t)) => (d.to_string(), Some(t.to_string())),
            None => (scheme.to_string(), None),
        };
        let (hostpath, query) = match rest.split_once('?') {
            Some((h, q)) => (h, Some(q)),
            None => (rest, None),
        };
        let (host, path) = match hostpath.find('/') {
            Some(i) => (&hostpath[..i], &hostpath[i + 1..]),
            None => (hostpath, ""),
        };
        let mut params = Vec::new();
        if let Some(q) = query {
            for pair in q.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                params.push((percent_decode(k), percent_decode(v)));
            }
        }
        Ok(ConnectUri {
            driver,
            transport,
            host: (!host.is_empty()).then(|| host.to_string()),
            path: path.trim_end_matches('/').to_string(),
            params,
            original: text.to_string(),
        })
    }

    /// The value of query parameter `key`.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() && s.is_char_boundary(i + 3) {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embed_uri() {
        let u = ConnectUri::parse("qemu:///embed?root=/tmp/x%20y").unwrap();
        assert_eq!(u.driver, "qemu");
        assert_eq!(u.path, "embed");
        assert_eq!(u.param("root"), Some("/tmp/x y"));
        assert_eq!(u.host, None);
    }

    #[test]
    fn unix_uri_with_socket() {
        let u = ConnectUri::parse("qemu+unix:///system?socket=/run/s.sock").unwrap();
        assert_eq!(u.transport.as_deref(), Some("unix"));
        assert_eq!(u.path, "system");
        assert_eq!(u.param("socket"), Some("/run/s.sock"));
    }

    #[test]
    fn remote_host() {
        let u = ConnectUri::parse("qemu+ssh://root@example.com/system").unwrap();
        assert_eq!(u.host.as_deref(), Some("root@example.com"));
    }

    #[test]
    fn garbage_is_error_not_panic() {
        for s in ["", "qemu", "://x", "qemu:///embed?root=%", "q://%zz/%4"] {
            let _ = ConnectUri::parse(s);
        }
        assert!(ConnectUri::parse("qemu").is_err());
    }
}
