//! A QMP client: greeting, capability negotiation, one command at a time, events kept
//! apart. A reader task splits QEMU's messages into replies and events, so waiting for
//! an event never loses a reply and the other way round.

use oxvirt_core::{Error, Result};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::UnixStream;
use tokio::sync::mpsc;

/// The longest line accepted from QEMU (a `query-qmp-schema` reply is ~200 KiB).
const MAX_LINE: usize = 16 * 1024 * 1024;

/// A QMP event as QEMU sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct QmpEvent {
    pub event: String,
    pub data: Value,
}

/// A connected, negotiated QMP session.
pub struct Qmp {
    writer: OwnedWriteHalf,
    replies: mpsc::UnboundedReceiver<Result<Value>>,
    events: mpsc::UnboundedReceiver<QmpEvent>,
    next_id: u64,
    /// The greeting's `QMP` object (version, capabilities).
    pub greeting: Value,
}

/// The SELinux context of sockets this thread creates next (`""`: the default again).
fn set_sockcreate(label: &str) -> Result<()> {
    use std::io::Write;
    // Write only, no O_CREAT: the attribute exists, and a create would ask the policy
    // for more than setsockcreate.
    let write = || -> std::io::Result<()> {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/proc/thread-self/attr/sockcreate")?
            .write_all(label.as_bytes())
    };
    write().map_err(|e| {
        Error::system(
            format!("cannot create the QEMU monitor connection in SELinux context '{label}'"),
            e,
        )
    })
}

fn proto(msg: impl Into<String>) -> Error {
    Error::operation_failed(format!("QEMU monitor protocol error: {}", msg.into()))
}

impl Qmp {
    /// Connect to `path`, retrying until it accepts or `timeout` passes. With
    /// `socket_label`, the connecting socket is created in that SELinux context
    /// (`/proc/thread-self/attr/sockcreate`, set around each attempt; the runtime is
    /// current-thread, so `socket()` runs on this thread).
    pub async fn connect_retry(
        path: &Path,
        timeout: Duration,
        socket_label: Option<&str>,
    ) -> Result<Qmp> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(l) = socket_label {
                set_sockcreate(l)?;
            }
            let attempt = UnixStream::connect(path).await;
            if socket_label.is_some() {
                set_sockcreate("")?;
            }
            match attempt {
                Ok(s) => return Qmp::handshake(s).await,
                Err(e) => {
                    if tokio::time::Instant::now() >= deadline {
                        return Err(Error::operation_failed(format!(
                            "cannot connect to QEMU monitor '{}': {e}",
                            path.display()
                        )));
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }

    /// Read the greeting and negotiate capabilities on a fresh stream.
    pub async fn handshake(stream: UnixStream) -> Result<Qmp> {
        let (read, writer) = stream.into_split();
        let (reply_tx, replies) = mpsc::unbounded_channel();
        let (event_tx, events) = mpsc::unbounded_channel();
        let (greet_tx, greet_rx) = tokio::sync::oneshot::channel();
        tokio::spawn(read_loop(
            BufReader::new(read),
            reply_tx,
            event_tx,
            greet_tx,
        ));
        let greeting = tokio::time::timeout(Duration::from_secs(30), greet_rx)
            .await
            .map_err(|_| proto("no greeting from QEMU within 30 s"))?
            .map_err(|_| proto("the monitor closed before the greeting"))??;
        let mut qmp = Qmp {
            writer,
            replies,
            events,
            next_id: 0,
            greeting,
        };
        qmp.execute("qmp_capabilities", None).await?;
        Ok(qmp)
    }

    /// Run `command` with optional `arguments`; the `return` value, or QEMU's error.
    pub async fn execute(&mut self, command: &str, arguments: Option<Value>) -> Result<Value> {
        let mut msg = json!({ "execute": command });
        if let Some(a) = arguments {
            msg["arguments"] = a;
        }
        let reply = self.execute_raw(msg).await?;
        if let Some(ret) = reply.get("return") {
            return Ok(ret.clone());
        }
        let desc = reply
            .pointer("/error/desc")
            .and_then(Value::as_str)
            .unwrap_or("unknown error");
        Err(Error::operation_failed(format!(
            "QEMU refused '{command}': {desc}"
        )))
    }

    /// Send a whole command object (an `id` is added) and return the whole reply object,
    /// `{"return": ..}` or `{"error": ..}`, without the id.
    pub async fn execute_raw(&mut self, mut msg: Value) -> Result<Value> {
        if !msg.is_object() {
            return Err(Error::invalid_arg("a QMP command must be a JSON object"));
        }
        self.next_id += 1;
        let id = format!("oxvirt-{}", self.next_id);
        let user_id = msg.get("id").cloned();
        msg["id"] = Value::String(id.clone());
        let mut line = serde_json::to_vec(&msg).map_err(|e| proto(e.to_string()))?;
        line.push(b'\n');
        self.writer
            .write_all(&line)
            .await
            .map_err(|e| proto(format!("cannot send to the monitor: {e}")))?;
        loop {
            let mut reply = self
                .replies
                .recv()
                .await
                .ok_or_else(|| proto("the monitor closed the connection"))??;
            if reply.get("id").and_then(Value::as_str) != Some(id.as_str()) {
                continue; // a reply to a command whose caller gave up
            }
            match user_id {
                Some(ref u) => reply["id"] = u.clone(),
                None => {
                    if let Some(o) = reply.as_object_mut() {
                        o.remove("id");
                    }
                }
            }
            return Ok(reply);
        }
    }

    /// Send every command at once, without waiting in between, then collect the
    /// replies (matched by id). One result per command, in order: the `return` value
    /// or QEMU's error. Used by the capability probe to avoid one round trip per query.
    pub async fn execute_batch(
        &mut self,
        commands: &[(&str, Option<Value>)],
    ) -> Result<Vec<Result<Value>>> {
        let mut out = Vec::new();
        let mut ids = Vec::new();
        for (command, arguments) in commands {
            self.next_id += 1;
            let id = format!("oxvirt-{}", self.next_id);
            let mut msg = json!({ "execute": command, "id": id });
            if let Some(a) = arguments {
                msg["arguments"] = a.clone();
            }
            out.extend(serde_json::to_vec(&msg).map_err(|e| proto(e.to_string()))?);
            out.push(b'\n');
            ids.push(id);
        }
        self.writer
            .write_all(&out)
            .await
            .map_err(|e| proto(format!("cannot send to the monitor: {e}")))?;
        let mut results: Vec<Option<Result<Value>>> = commands.iter().map(|_| None).collect();
        let mut left = commands.len();
        while left > 0 {
            let reply = self
                .replies
                .recv()
                .await
                .ok_or_else(|| proto("the monitor closed the connection"))??;
            let Some(i) = reply
                .get("id")
                .and_then(Value::as_str)
                .and_then(|id| ids.iter().position(|x| x == id))
            else {
                continue;
            };
            if results[i].is_some() {
                continue;
            }
            results[i] = Some(match reply.get("return") {
                Some(r) => Ok(r.clone()),
                None => Err(Error::operation_failed(format!(
                    "QEMU refused '{}': {}",
                    commands[i].0,
                    reply
                        .pointer("/error/desc")
                        .and_then(Value::as_str)
                        .unwrap_or("unknown error")
                ))),
            });
            left -= 1;
        }
        Ok(results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(proto("no reply"))))
            .collect())
    }

    /// The next event; `None` once the monitor is closed.
    pub async fn next_event(&mut self) -> Option<QmpEvent> {
        self.events.recv().await
    }
}

async fn read_loop(
    mut reader: BufReader<tokio::net::unix::OwnedReadHalf>,
    replies: mpsc::UnboundedSender<Result<Value>>,
    events: mpsc::UnboundedSender<QmpEvent>,
    greeting: tokio::sync::oneshot::Sender<Result<Value>>,
) {
    let mut greeting = Some(greeting);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = match (&mut reader)
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut line)
            .await
        {
            Ok(n) => n,
            Err(e) => {
                let _ = replies.send(Err(proto(format!("cannot read the monitor: {e}"))));
                return;
            }
        };
        if n == 0 {
            if let Some(g) = greeting.take() {
                let _ = g.send(Err(proto("the monitor closed before the greeting")));
            }
            return;
        }
        if !line.ends_with(b"\n") {
            let _ = replies.send(Err(proto("a message longer than 16 MiB")));
            return;
        }
        let msg: Value = match serde_json::from_slice(&line) {
            Ok(v) => v,
            Err(e) => {
                let err = proto(format!("malformed JSON from QEMU: {e}"));
                match greeting.take() {
                    Some(g) => {
                        let _ = g.send(Err(err));
                    }
                    None => {
                        let _ = replies.send(Err(err));
                    }
                }
                return;
            }
        };
        if let Some(g) = greeting.take() {
            let _ = match msg.get("QMP") {
                Some(q) => g.send(Ok(q.clone())),
                None => g.send(Err(proto("the first message is not a QMP greeting"))),
            };
            continue;
        }
        if let Some(name) = msg.get("event").and_then(Value::as_str) {
            let _ = events.send(QmpEvent {
                event: name.to_string(),
                data: msg.get("data").cloned().unwrap_or(Value::Null),
            });
        } else if msg.get("return").is_some() || msg.get("error").is_some() {
            let _ = replies.send(Ok(msg));
        } else {
            let _ = replies.send(Err(proto(format!("unexpected message: {msg}"))));
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::UnixListener;

    /// A fake QEMU monitor speaking the lines given, after reading one line per reply.
    async fn serve(listener: UnixListener, script: Vec<&'static str>) {
        let (s, _) = listener.accept().await.unwrap();
        let (r, mut w) = s.into_split();
        let mut r = BufReader::new(r);
        w.write_all(b"{\"QMP\": {\"version\": {\"qemu\": {\"major\": 7, \"minor\": 2, \"micro\": 0}}, \"capabilities\": []}}\n")
            .await
            .unwrap();
        for reply in script {
            let mut l = String::new();
            if r.read_line(&mut l).await.unwrap() == 0 {
                return;
            }
            let id = serde_json::from_str::<Value>(&l).unwrap()["id"].clone();
            let text = reply.replace("ID", &id.to_string());
            w.write_all(text.as_bytes()).await.unwrap();
        }
        let mut l = String::new();
        let _ = r.read_line(&mut l).await;
    }

    #[tokio::test]
    async fn command_reply_and_event_are_kept_apart() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.sock");
        let l = UnixListener::bind(&p).unwrap();
        let server = tokio::spawn(serve(
            l,
            vec![
                "{\"return\": {}, \"id\": ID}\n",
                "{\"event\": \"STOP\", \"data\": {}}\n{\"return\": {\"status\": \"paused\"}, \"id\": ID}\n",
                "{\"error\": {\"class\": \"GenericError\", \"desc\": \"nope\"}, \"id\": ID}\n",
            ],
        ));
        let mut q = Qmp::connect_retry(&p, Duration::from_secs(5), None)
            .await
            .unwrap();
        assert_eq!(q.greeting["version"]["qemu"]["major"], 7);
        let st = q.execute("query-status", None).await.unwrap();
        assert_eq!(st["status"], "paused");
        assert_eq!(q.next_event().await.unwrap().event, "STOP");
        let err = q.execute("bogus", None).await.unwrap_err();
        assert!(err.message.contains("nope"), "{}", err.message);
        drop(q);
        server.await.unwrap();
    }

    #[tokio::test]
    async fn malformed_json_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.sock");
        let l = UnixListener::bind(&p).unwrap();
        tokio::spawn(serve(
            l,
            vec!["{\"return\": {}, \"id\": ID}\n", "{not json\n"],
        ));
        let mut q = Qmp::connect_retry(&p, Duration::from_secs(5), None)
            .await
            .unwrap();
        let err = q.execute("query-status", None).await.unwrap_err();
        assert!(err.message.contains("malformed"), "{}", err.message);
    }
    #[tokio::test]
    async fn a_batch_is_answered_out_of_order() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.sock");
        let l = UnixListener::bind(&p).unwrap();
        tokio::spawn(async move {
            let (s, _) = l.accept().await.unwrap();
            let (r, mut w) = s.into_split();
            let mut r = BufReader::new(r);
            w.write_all(b"{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n")
                .await
                .unwrap();
            let mut ids = Vec::new();
            for i in 0..3 {
                let mut l = String::new();
                r.read_line(&mut l).await.unwrap();
                ids.push(serde_json::from_str::<Value>(&l).unwrap()["id"].clone());
                if i == 0 {
                    // qmp_capabilities
                    w.write_all(format!("{{\"return\": {{}}, \"id\": {}}}\n", ids[0]).as_bytes())
                        .await
                        .unwrap();
                }
            }
            // The batch arrives in one go; answer the second command last.
            w.write_all(format!("{{\"return\": 3, \"id\": {}}}\n{{\"error\": {{\"desc\": \"no\"}}, \"id\": {}}}\n", ids[2], ids[1]).as_bytes())
                .await
                .unwrap();
            let mut l = String::new();
            let _ = r.read_line(&mut l).await;
        });
        let mut q = Qmp::connect_retry(&p, Duration::from_secs(5), None)
            .await
            .unwrap();
        let r = q.execute_batch(&[("a", None), ("b", None)]).await.unwrap();
        assert!(r[0].as_ref().unwrap_err().message.contains("no"));
        assert_eq!(r[1].as_ref().unwrap(), &json!(3));
    }
}
