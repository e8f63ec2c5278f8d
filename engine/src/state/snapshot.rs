//! Resync after a reconnect: Asterisk does not replay the events we missed, so the AMI client
//! asks for the current lists (`CoreShowChannels`, `QueueStatus`, `PJSIPShowContacts` or
//! `PJSIPShowEndpoint`) and hands their items here as raw messages.
//!
//! Each fetched list is authoritative for its part: calls whose legs are all missing from the
//! `CoreShowChannel` items ended while we were away; the members and waiting callers of every
//! queue in `QueueParams` are replaced; listed contacts update their trunks. Parts not fetched
//! (a list Asterisk refused) are left alone. callpro's own agent sessions survive a resync.

use std::collections::HashSet;

use crate::ami::Message;
use crate::ami::event::{ChannelSnapshot, QueueMemberEvent};
use crate::bus::LiveEvent;

use super::LiveState;
use super::queues::parse_u32;
use super::trunks::ContactReport;
use super::view::{CallPhase, WaitingCaller};

/// `HH:MM:SS` (CoreShowChannel `Duration`) → seconds.
fn hms(v: &str) -> Option<u64> {
    let mut secs = 0u64;
    for part in v.trim().split(':') {
        secs = secs.checked_mul(60)?.checked_add(part.parse().ok()?)?;
    }
    Some(secs)
}

fn named<'m>(items: &'m [Message], name: &'m str) -> impl Iterator<Item = &'m Message> + 'm {
    items.iter().filter(move |m| m.event_name() == Some(name))
}

/// Which of Asterisk's status lists a resync fetched. `None` means "not fetched" and keeps
/// that part as it is; `Some(&[])` means "Asterisk listed nothing" (every call ended, say).
#[derive(Clone, Copy, Debug, Default)]
pub struct ResyncLists<'a> {
    /// `CoreShowChannel` items of `CoreShowChannels`.
    pub channels: Option<&'a [Message]>,
    /// `QueueParams`, `QueueMember` and `QueueEntry` items of `QueueStatus`.
    pub queues: Option<&'a [Message]>,
    /// `ContactList` (`PJSIPShowContacts`) or `ContactStatusDetail` items.
    pub contacts: Option<&'a [Message]>,
}

impl LiveState {
    /// Rebuilds the fetched parts; returns `CallEnded` for calls that vanished meanwhile, then
    /// [`LiveEvent::Resynced`] (subscribers re-read their snapshots).
    pub fn resync(&mut self, lists: ResyncLists<'_>, now_ms: u64) -> Vec<LiveEvent> {
        let mut out = Vec::new();
        if let Some(items) = lists.channels {
            self.resync_calls(items, now_ms, &mut out);
        }
        if let Some(items) = lists.queues {
            self.resync_queues(items, now_ms);
        }
        if let Some(items) = lists.contacts {
            self.resync_trunks(items, now_ms);
        }
        out.retain(|e| matches!(e, LiveEvent::CallEnded { .. }));
        out.push(LiveEvent::Resynced);
        out
    }

    /// [`LiveState::resync`] from one mixed batch of list messages: a part counts as fetched
    /// when its items or its `...Complete` event are in the batch.
    pub fn apply_snapshot(&mut self, items: &[Message], now_ms: u64) -> Vec<LiveEvent> {
        let has = |names: &[&str]| {
            items
                .iter()
                .any(|m| m.event_name().is_some_and(|n| names.contains(&n)))
        };
        let lists = ResyncLists {
            channels: has(&["CoreShowChannel", "CoreShowChannelsComplete"]).then_some(items),
            queues: has(&["QueueParams", "QueueStatusComplete"]).then_some(items),
            contacts: Some(items),
        };
        self.resync(lists, now_ms)
    }

    fn resync_calls(&mut self, items: &[Message], now_ms: u64, out: &mut Vec<LiveEvent>) {
        let listed: HashSet<&str> = named(items, "CoreShowChannel")
            .filter_map(|m| m.get("Uniqueid"))
            .collect();
        let gone: Vec<String> = self
            .calls
            .values()
            .flat_map(|c| c.legs.iter())
            .filter(|l| l.ended_ms.is_none() && !listed.contains(l.uniqueid.as_str()))
            .map(|l| l.uniqueid.clone())
            .collect();
        for uid in gone {
            // The hangup happened while we were away: its time and cause are unknown.
            self.with_leg(&uid, out, |call, i| {
                call.legs[i].ended_ms = Some(now_ms);
                call.legs[i].bridge_id = None;
            });
        }
        for m in named(items, "CoreShowChannel") {
            let s = ChannelSnapshot::from_message(m);
            let Some(uid) = s.uniqueid else { continue };
            let fresh = !self.legs.contains_key(uid);
            self.on_channel(&s, now_ms, true, out);
            let age_ms = m.get("Duration").and_then(hms).unwrap_or(0) * 1000;
            let bridge = m
                .get("BridgeId")
                .filter(|b| !b.is_empty())
                .map(str::to_owned);
            self.with_leg(uid, out, |call, i| {
                let leg = &mut call.legs[i];
                if leg.bridge_id != bridge {
                    leg.bridge_name = None;
                }
                leg.bridge_id = bridge;
                if fresh {
                    leg.created_ms = now_ms.saturating_sub(age_ms);
                    call.created_ms = call.created_ms.min(leg.created_ms);
                }
            });
        }
        // Sessions whose phone or call vanished are idle now.
        let live: HashSet<String> = named(items, "CoreShowChannel")
            .filter_map(|m| m.get("Channel"))
            .map(str::to_owned)
            .collect();
        let interfaces: Vec<String> = self.agents.keys().cloned().collect();
        for interface in interfaces {
            let calls = &self.calls;
            let call_live = |l: &Option<String>| {
                l.as_deref()
                    .and_then(|l| calls.get(l))
                    .is_some_and(|c| c.phase != CallPhase::Ended)
            };
            let Some(a) = self.agents.get(&interface) else {
                continue;
            };
            let keep_session = a.session_channel.as_ref().is_some_and(|c| live.contains(c));
            let keep_call = call_live(&a.call_linkedid);
            let mut ignored = Vec::new();
            self.change_agent(&interface, now_ms, &mut ignored, |a| {
                if !keep_session {
                    a.session_channel = None;
                }
                if !keep_call && a.agent_id.is_some() {
                    a.in_call = false;
                    a.call_linkedid = None;
                }
            });
        }
    }

    fn resync_queues(&mut self, items: &[Message], now_ms: u64) {
        let mut ignored = Vec::new();
        for params in named(items, "QueueParams") {
            let Some(queue) = params.get("Queue") else {
                continue;
            };
            let in_queue = |m: &&Message| m.get("Queue") == Some(queue);
            let members: Vec<&Message> = named(items, "QueueMember").filter(in_queue).collect();
            let listed: HashSet<&str> = members.iter().filter_map(|m| m.get("Location")).collect();
            let stale: Vec<String> = self
                .queues
                .get(queue)
                .map(|q| q.members.iter().map(|m| m.interface.clone()).collect())
                .unwrap_or_default();
            for interface in stale.iter().filter(|i| !listed.contains(i.as_str())) {
                let e = QueueMemberEvent {
                    queue: Some(queue),
                    interface: Some(interface),
                    ..QueueMemberEvent::default()
                };
                self.on_member(&e, true, now_ms, &mut ignored);
            }
            for m in members {
                // `QueueMember` list items name the interface `Location` and the name `Name`.
                let e = QueueMemberEvent {
                    queue: Some(queue),
                    member_name: m.get("Name"),
                    interface: m.get("Location"),
                    state_interface: m.get("StateInterface"),
                    penalty: m.get("Penalty"),
                    in_call: m.get("InCall"),
                    status: m.get("Status"),
                    paused: m.get("Paused"),
                    paused_reason: m.get("PausedReason"),
                    ..QueueMemberEvent::default()
                };
                self.on_member(&e, false, now_ms, &mut ignored);
            }
            let waiting: Vec<WaitingCaller> = named(items, "QueueEntry")
                .filter(in_queue)
                .filter_map(|m| {
                    let wait_ms = m.get("Wait").and_then(|w| w.trim().parse::<u64>().ok());
                    Some(WaitingCaller {
                        uniqueid: m.get("Uniqueid")?.to_owned(),
                        channel: super::known(m.get("Channel")),
                        caller_id_num: super::known(m.get("CallerIDNum")),
                        caller_id_name: super::known(m.get("CallerIDName")),
                        position: parse_u32(m.get("Position")),
                        joined_ms: now_ms.saturating_sub(wait_ms.unwrap_or(0) * 1000),
                    })
                })
                .collect();
            let number = |k: &str| params.get(k).and_then(|v| v.trim().parse::<u64>().ok());
            self.change_queue(queue, now_ms, &mut ignored, |q| {
                q.waiting = waiting;
                q.completed = number("Completed").unwrap_or(q.completed);
                q.abandoned = number("Abandoned").unwrap_or(q.abandoned);
            });
        }
    }

    fn resync_trunks(&mut self, items: &[Message], now_ms: u64) {
        let mut ignored = Vec::new();
        for m in items {
            let report = match m.event_name() {
                // `PJSIPShowEndpoint` / inbound-registration statuses.
                Some("ContactStatusDetail") => ContactReport {
                    endpoint: m.get("EndpointName"),
                    aor: m.get("AOR"),
                    uri: m.get("URI"),
                    status: m.get("Status"),
                    rtt_usec: m.get("RoundtripUsec"),
                },
                // `PJSIPShowContacts`: `ObjectName` is `<aor>;@<hash>`.
                Some("ContactList") => ContactReport {
                    endpoint: m.get("Endpoint"),
                    aor: m
                        .get("ObjectName")
                        .map(|n| n.split(";@").next().unwrap_or(n)),
                    uri: m.get("Uri"),
                    status: m.get("Status"),
                    rtt_usec: m.get("RoundtripUsec"),
                },
                _ => continue,
            };
            self.on_contact_report(&report, now_ms, &mut ignored);
        }
    }
}
