//! Reading one message from a client: the length word, then the rest, which must arrive
//! within the incomplete-frame timeout once the first byte is in (a client that sends a
//! partial frame and stalls is closed, keepalive or not).

use crate::packet;
use std::io::{Error, ErrorKind};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};

/// One frame body (after the length word); `Ok(None)` at a clean end of stream.
pub(crate) async fn read_frame<R: AsyncRead + Unpin>(
    rd: &mut R,
    timeout: Duration,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    // Waiting for a message to start has no deadline (keepalive handles idle peers).
    let first = rd.read(&mut len).await?;
    if first == 0 {
        return Ok(None);
    }
    match tokio::time::timeout(timeout, rest(rd, len, first)).await {
        Ok(r) => r.map(Some),
        Err(_) => Err(Error::new(
            ErrorKind::TimedOut,
            format!(
                "incomplete message: the rest did not arrive within {}s (incomplete_frame_timeout)",
                timeout.as_secs_f64()
            ),
        )),
    }
}

/// The rest of the length word (`have` bytes of `len` are in), then the body.
async fn rest<R: AsyncRead + Unpin>(
    rd: &mut R,
    mut len: [u8; 4],
    have: usize,
) -> std::io::Result<Vec<u8>> {
    rd.read_exact(&mut len[have..]).await.map_err(vanished)?;
    let n = packet::body_len(u32::from_be_bytes(len))
        .map_err(|e| Error::new(ErrorKind::InvalidData, e))?;
    // Grow as bytes arrive instead of trusting the length word with an allocation.
    let mut body = Vec::with_capacity(n.min(65536));
    let got = rd.take(n as u64).read_to_end(&mut body).await?;
    if got != n {
        return Err(Error::new(
            ErrorKind::UnexpectedEof,
            format!("client vanished mid-message ({got} of {n} bytes)"),
        ));
    }
    Ok(body)
}

fn vanished(e: Error) -> Error {
    if e.kind() == ErrorKind::UnexpectedEof {
        Error::new(ErrorKind::UnexpectedEof, "client vanished mid-message")
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn a_frame_split_over_writes_is_read_whole() {
        rt().block_on(async {
            let (mut a, mut b) = tokio::io::duplex(64);
            let frame = packet::encode(&packet::Header::call(packet::PROG_REMOTE, 66, 0), &[]);
            let w = tokio::spawn(async move {
                for chunk in frame.chunks(5) {
                    a.write_all(chunk).await.unwrap();
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                a
            });
            let body = read_frame(&mut b, Duration::from_secs(5)).await.unwrap();
            assert_eq!(body.unwrap().len(), 24);
            drop(w.await.unwrap());
            assert!(read_frame(&mut b, Duration::from_secs(5))
                .await
                .unwrap()
                .is_none());
        });
    }

    #[test]
    fn a_stalled_partial_frame_times_out() {
        rt().block_on(async {
            let (mut a, mut b) = tokio::io::duplex(64);
            a.write_all(&[0, 0, 0, 40, 0x20, 0]).await.unwrap();
            let t0 = std::time::Instant::now();
            let e = read_frame(&mut b, Duration::from_millis(300))
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::TimedOut);
            assert!(e.to_string().contains("incomplete_frame_timeout"), "{e}");
            assert!(t0.elapsed() >= Duration::from_millis(300));
            // Silence before a message starts has no deadline.
            let (_a, mut b) = tokio::io::duplex(64);
            let r = tokio::time::timeout(
                Duration::from_millis(500),
                read_frame(&mut b, Duration::from_millis(100)),
            )
            .await;
            assert!(r.is_err(), "an idle client was cut off");
        });
    }
}
