//! Queues: callers waiting (`QueueCallerJoin`/`Leave`/`Abandon`) and members.
//!
//! Waiting times are kept as join instants and turned into durations only when a snapshot is
//! read, so the state does not need a timer to stay correct.

use crate::ami::event::{QueueCallerJoin, QueueMemberEvent};
use crate::bus::LiveEvent;

use super::view::{QueueMemberView, QueueView, WaitingCaller};
use super::{LiveState, known};

/// A copy of `q` with `longest_wait_ms` as of `now_ms`.
pub(super) fn with_wait(q: &QueueView, now_ms: u64) -> QueueView {
    let mut q = q.clone();
    q.longest_wait_ms = q
        .waiting
        .iter()
        .map(|w| now_ms.saturating_sub(w.joined_ms))
        .max()
        .unwrap_or(0);
    q
}

pub(super) fn parse_u32(v: Option<&str>) -> Option<u32> {
    v?.trim().parse().ok()
}

impl LiveState {
    /// Mutates (creating if needed) queue `name`; emits `QueueChanged` when it changed.
    pub(super) fn change_queue(
        &mut self,
        name: &str,
        now_ms: u64,
        out: &mut Vec<LiveEvent>,
        f: impl FnOnce(&mut QueueView),
    ) {
        let tenant = self.tenants.queue(name);
        let queue = self
            .queues
            .entry(name.to_owned())
            .or_insert_with(|| QueueView {
                name: name.to_owned(),
                call_center_id: tenant,
                waiting: Vec::new(),
                longest_wait_ms: 0,
                members: Vec::new(),
                completed: 0,
                abandoned: 0,
            });
        let before = queue.clone();
        f(queue);
        queue
            .waiting
            .sort_by_key(|w| (w.position.unwrap_or(u32::MAX), w.joined_ms));
        if *queue != before {
            out.push(LiveEvent::QueueChanged {
                queue: with_wait(queue, now_ms),
            });
        }
    }

    pub(super) fn on_queue_join(
        &mut self,
        e: &QueueCallerJoin<'_>,
        now_ms: u64,
        out: &mut Vec<LiveEvent>,
    ) {
        let (Some(queue), Some(uid)) = (e.queue, e.channel.uniqueid) else {
            return;
        };
        self.on_channel(&e.channel, now_ms, true, out);
        let caller = WaitingCaller {
            uniqueid: uid.to_owned(),
            channel: known(e.channel.channel),
            caller_id_num: known(e.channel.caller_id_num),
            caller_id_name: known(e.channel.caller_id_name),
            position: parse_u32(e.position),
            joined_ms: now_ms,
        };
        self.change_queue(queue, now_ms, out, |q| {
            q.waiting.retain(|w| w.uniqueid != uid);
            q.waiting.push(caller);
        });
    }

    pub(super) fn on_queue_leave(
        &mut self,
        queue: Option<&str>,
        uid: Option<&str>,
        abandoned: bool,
        now_ms: u64,
        out: &mut Vec<LiveEvent>,
    ) {
        let (Some(queue), Some(uid)) = (queue, uid) else {
            return;
        };
        self.change_queue(queue, now_ms, out, |q| {
            let before = q.waiting.len();
            q.waiting.retain(|w| w.uniqueid != uid);
            // Asterisk sends Abandon then Leave for the same caller: count once, on Abandon.
            if abandoned {
                q.abandoned += 1;
            }
            // Positions behind the leaver move up.
            if q.waiting.len() < before {
                for (i, w) in q.waiting.iter_mut().enumerate() {
                    w.position = u32::try_from(i + 1).ok();
                }
            }
        });
    }

    /// A hung-up channel no longer waits anywhere, even if its `QueueCallerLeave` was missed.
    pub(super) fn drop_waiting_caller(&mut self, uid: &str, now_ms: u64, out: &mut Vec<LiveEvent>) {
        let names: Vec<String> = self
            .queues
            .values()
            .filter(|q| q.waiting.iter().any(|w| w.uniqueid == uid))
            .map(|q| q.name.clone())
            .collect();
        for name in names {
            self.change_queue(&name, now_ms, out, |q| {
                q.waiting.retain(|w| w.uniqueid != uid)
            });
        }
    }

    pub(super) fn update_queue_member(
        &mut self,
        queue: &str,
        interface: &str,
        e: &QueueMemberEvent<'_>,
        removed: bool,
        now_ms: u64,
        out: &mut Vec<LiveEvent>,
    ) {
        self.change_queue(queue, now_ms, out, |q| {
            if removed {
                q.members.retain(|m| m.interface != interface);
                return;
            }
            let i = match q.members.iter().position(|m| m.interface == interface) {
                Some(i) => i,
                None => {
                    q.members.push(QueueMemberView {
                        interface: interface.to_owned(),
                        name: None,
                        penalty: None,
                        paused: false,
                        pause_reason: None,
                        in_call: false,
                        status: None,
                    });
                    q.members.len() - 1
                }
            };
            let Some(m) = q.members.get_mut(i) else {
                return;
            };
            if let Some(name) = known(e.member_name) {
                m.name = Some(name);
            }
            m.penalty = parse_u32(e.penalty).or(m.penalty);
            if e.paused.is_some() {
                m.paused = e.is_paused();
                m.pause_reason = known(e.paused_reason).filter(|_| m.paused);
            }
            if let Some(v) = e.in_call {
                m.in_call = v.trim() == "1";
            }
            m.status = e.status.and_then(|s| s.trim().parse().ok()).or(m.status);
        });
    }
}
