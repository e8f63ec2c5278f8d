//! Per-connection helper tasks: the resync that rebuilds Asterisk's state after every
//! (re)connect, and the `Ping` keepalive that notices a dead peer the kernel has not.
//!
//! Both send through the normal client path pinned to their connection's generation, so a
//! late request can never leak onto the next connection.

use std::sync::Arc;

use tokio::sync::Notify;

use super::client::WeakClient;
use super::error::AmiClientError;
use super::message::{Action, Message};
use super::status::Snapshot;

/// The lists that make up a [`Snapshot`], in the order they are asked for.
const LISTS: [&str; 3] = ["CoreShowChannels", "QueueStatus", "PJSIPShowContacts"];

/// Runs the three list actions and publishes one [`Snapshot`]; gives up silently if the
/// connection is lost meanwhile (the next connection resyncs again).
pub(crate) async fn resync(client: WeakClient, generation: u64) {
    let mut snapshot = Snapshot {
        generation,
        ..Snapshot::default()
    };
    for name in LISTS {
        let Some(handle) = client.upgrade() else {
            return;
        };
        match handle
            .send_list_pinned(Action::new(name), Some(generation))
            .await
        {
            Ok(list) => sort_items(&mut snapshot, list.items),
            // A list Asterisk refuses (module not loaded, no permission) leaves that part empty
            // rather than withholding the whole snapshot.
            Err(AmiClientError::Rejected { message, .. }) => {
                tracing::warn!(ami.action = name, reason = %message, "AMI resync list refused");
                snapshot.failed.push((name.to_owned(), message));
            }
            Err(err) => {
                tracing::warn!(ami.action = name, error = %err, "AMI resync abandoned");
                return;
            }
        }
    }
    tracing::info!(
        ami.generation = generation,
        channels = snapshot.channels.len(),
        queue_members = snapshot.queue_members.len(),
        contacts = snapshot.contacts.len(),
        "AMI resync complete"
    );
    if let Some(handle) = client.upgrade() {
        handle.shared.publish_snapshot(snapshot);
    }
}

fn sort_items(snapshot: &mut Snapshot, items: Vec<Message>) {
    for item in items {
        let bucket = match item.event_name().unwrap_or_default() {
            "CoreShowChannel" => &mut snapshot.channels,
            "QueueParams" => &mut snapshot.queue_params,
            "QueueMember" => &mut snapshot.queue_members,
            "QueueEntry" => &mut snapshot.queue_entries,
            "ContactList" => &mut snapshot.contacts,
            other => {
                tracing::debug!(ami.event = other, "unexpected resync list item; ignored");
                continue;
            }
        };
        bucket.push(item);
    }
}

/// Pings every `ping_interval`; an unanswered ping kills the connection through `kill`.
pub(crate) async fn keepalive(client: WeakClient, generation: u64, kill: Arc<Notify>) {
    loop {
        let Some(interval) = client.upgrade().map(|c| c.shared.config.ping_interval) else {
            return;
        };
        tokio::time::sleep(interval).await;
        let Some(handle) = client.upgrade() else {
            return;
        };
        match handle
            .send_pinned(Action::new("Ping"), Some(generation))
            .await
        {
            Ok(_) | Err(AmiClientError::Rejected { .. }) => {}
            Err(AmiClientError::Timeout { .. }) => {
                tracing::warn!("AMI Ping unanswered; dropping the connection");
                kill.notify_one();
                return;
            }
            Err(_) => return,
        }
    }
}
