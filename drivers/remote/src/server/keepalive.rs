//! Server PINGs (libvirt's keepalive program): a client that asked for keepalive is
//! pinged after `interval` of silence and closed after `interval * (count + 1)`
//! (libvirtd's rule), so dead peers do not linger. Never while the client's reader is
//! held back by our own call limits.

use super::state::{lock, Client, Out};
use crate::packet::{self, Header};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

pub(crate) async fn run(client: Arc<Client>, keepalive: Option<(Duration, u32)>) {
    let Some((interval, count)) = keepalive else {
        return;
    };
    loop {
        tokio::time::sleep(interval).await;
        if !client.keepalive.load(Ordering::SeqCst) || client.stalled.load(Ordering::SeqCst) {
            continue;
        }
        let idle = lock(&client.last_rx).elapsed();
        if idle >= interval * (count + 1) {
            tracing::info!(
                "closing a client connection: no answer to {count} keepalive PINGs ({idle:?} silent)"
            );
            client.closing.notify_one();
            return;
        }
        if idle >= interval {
            let ping = Header::message(packet::PROG_KEEPALIVE, packet::KEEPALIVE_PING, 0);
            if !client.send(Out::Frame(packet::encode(&ping, &[]))) {
                return;
            }
        }
    }
}
