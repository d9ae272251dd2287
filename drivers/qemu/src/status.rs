//! The live status file `run/qemu/NAME.xml` of a running domain: which process it is
//! (pid + start time), how to reach it (monitor and control sockets), its state and its
//! live definition. Written atomically (temp file + rename, mode 0600: it holds the VNC
//! password) by the one writer, the VM's supervisor; read by every process that opens
//! the root. It is written before QEMU may exec (`launch::spawn`'s record step), so a
//! QEMU that runs is always named by one.

use oxvirt_core::driver::{DomainState, StateReason};
use oxvirt_core::{Error, Result};
use quick_xml::events::Event;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// What a status file records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub id: u32,
    pub state: DomainState,
    pub reason: StateReason,
    /// QEMU's pid and its start time (`/proc/PID/stat` field 22).
    pub pid: u32,
    pub start_time: u64,
    /// The supervisor holding the QMP connection, and its start time (0 in status files
    /// of older builds: then the pid alone is checked).
    pub supervisor_pid: u32,
    pub supervisor_start_time: u64,
    pub monitor: PathBuf,
    pub control: PathBuf,
    /// Whether a persistent definition exists (false for `create`d domains).
    pub persistent: bool,
    /// The live `<domain>` document.
    pub domain_xml: String,
}

fn state_number(s: DomainState) -> i32 {
    s as i32
}

fn escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

impl Status {
    pub fn to_xml(&self) -> String {
        format!(
            "<domstatus state='{}' reason='{}' id='{}' pid='{}' starttime='{}' supervisor='{}' \
             supervisorstart='{}' monitor='{}' control='{}' persistent='{}'>\n{}\n</domstatus>\n",
            state_number(self.state),
            self.reason.as_status_str(),
            self.id,
            self.pid,
            self.start_time,
            self.supervisor_pid,
            self.supervisor_start_time,
            escape(&self.monitor.to_string_lossy()),
            escape(&self.control.to_string_lossy()),
            if self.persistent { "yes" } else { "no" },
            self.domain_xml.trim_end()
        )
    }

    pub fn from_xml(text: &str, path: &Path) -> Result<Status> {
        let bad = |why: String| {
            Error::internal(format!(
                "status file '{}' is damaged ({why}); remove it if no QEMU runs for this domain",
                path.display()
            ))
        };
        let mut reader = quick_xml::Reader::from_str(text);
        let start = loop {
            match reader.read_event() {
                Ok(Event::Start(e)) if e.name().as_ref() == b"domstatus" => break e.into_owned(),
                Ok(Event::Eof) => return Err(bad("no <domstatus> element".into())),
                Err(e) => return Err(bad(e.to_string())),
                _ => {}
            }
        };
        let mut attr = std::collections::HashMap::new();
        for a in start.attributes() {
            let a = a.map_err(|e| bad(e.to_string()))?;
            let v = a
                .unescape_value()
                .map_err(|e| bad(e.to_string()))?
                .into_owned();
            attr.insert(String::from_utf8_lossy(a.key.as_ref()).into_owned(), v);
        }
        let get = |k: &str| attr.get(k).cloned().ok_or_else(|| bad(format!("no '{k}'")));
        let num =
            |k: &str| -> Result<u64> { get(k)?.parse().map_err(|_| bad(format!("bad '{k}'"))) };
        let begin = text
            .find("<domain")
            .ok_or_else(|| bad("no <domain>".into()))?;
        let end = text
            .rfind("</domain>")
            .ok_or_else(|| bad("no </domain>".into()))?
            + "</domain>".len();
        if end <= begin {
            return Err(bad("misplaced </domain>".into()));
        }
        Ok(Status {
            id: num("id")? as u32,
            state: DomainState::from_number(num("state")? as i32),
            reason: StateReason::from_status_str(&get("reason")?),
            pid: num("pid")? as u32,
            start_time: num("starttime")?,
            supervisor_pid: num("supervisor")? as u32,
            supervisor_start_time: num("supervisorstart").unwrap_or(0),
            monitor: PathBuf::from(get("monitor")?),
            control: PathBuf::from(get("control")?),
            persistent: get("persistent")? == "yes",
            domain_xml: text[begin..end].to_string(),
        })
    }

    pub fn read(path: &Path) -> Result<Option<Status>> {
        match std::fs::read_to_string(path) {
            Ok(text) => Status::from_xml(&text, path).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::system(
                format!("cannot read '{}'", path.display()),
                e,
            )),
        }
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomic(path, self.to_xml().as_bytes())
    }
}

/// Write `data` to `path` so readers see the old file or the new one, never a part.
/// The file is created with mode 0600: only the managing uid reads what oxvirt writes.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile_in(dir, path)?;
    let res = (|| -> std::io::Result<()> {
        tmp.1.write_all(data)?;
        tmp.1.sync_all()?;
        std::fs::rename(&tmp.0, path)
    })();
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp.0);
        return Err(Error::system(
            format!("cannot write '{}'", path.display()),
            e,
        ));
    }
    Ok(())
}

fn tempfile_in(dir: &Path, target: &Path) -> Result<(PathBuf, std::fs::File)> {
    let base = target
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    for n in 0..1000u32 {
        let p = dir.join(format!(".{base}.{}.{n}.tmp", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&p)
        {
            Ok(f) => return Ok((p, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(Error::system(
                    format!("cannot create a file in '{}'", dir.display()),
                    e,
                ))
            }
        }
    }
    Err(Error::internal(format!(
        "cannot create a temporary file in '{}'",
        dir.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Status {
        Status {
            id: 3,
            state: DomainState::Paused,
            reason: StateReason::User,
            pid: 42,
            start_time: 777,
            supervisor_pid: 41,
            supervisor_start_time: 4242,
            monitor: "/r/run/qemu/domain-3-a&b/monitor.sock".into(),
            control: "/r/run/qemu/domain-3-a&b/control.sock".into(),
            persistent: true,
            domain_xml: "<domain type='qemu' id='3'>\n  <name>a&amp;b</name>\n</domain>".into(),
        }
    }

    #[test]
    fn round_trips_through_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.xml");
        sample().write(&p).unwrap();
        assert_eq!(Status::read(&p).unwrap().unwrap(), sample());
        assert_eq!(Status::read(&dir.path().join("none.xml")).unwrap(), None);
        // no temp files left behind
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "status files hold secrets");
        // A status file of an older build has no supervisor start time.
        let old = sample().to_xml().replace(" supervisorstart='4242'", "");
        assert_eq!(Status::from_xml(&old, &p).unwrap().supervisor_start_time, 0);
    }

    #[test]
    fn damaged_file_is_an_error_naming_it() {
        for text in [
            "",
            "<domstatus>",
            "<domstatus state='x'></domstatus>",
            "</domain><domain",
        ] {
            let err = Status::from_xml(text, Path::new("/r/run/qemu/a.xml")).unwrap_err();
            assert!(err.message.contains("/r/run/qemu/a.xml"), "{}", err.message);
        }
    }
}
