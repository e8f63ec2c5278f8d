//! Calls and legs: channel events grouped by `Linkedid`.
//!
//! Any channel-bearing event may create the leg it names (events can be missed around a
//! reconnect, and `DialBegin` names the dialed leg before some captures show its `Newchannel`);
//! only `Hangup` never does, so a stray hangup cannot resurrect a forgotten call.

use crate::ami::event::{BridgeSnapshot, ChannelSnapshot, Hangup};
use crate::bus::LiveEvent;

use super::tenant::{AMD_STATUS_VARIABLE, CALL_CENTER_VARIABLE, CALL_ID_VARIABLE};
use super::view::{CallPhase, CallView, LegState, LegView};
use super::{LiveState, known};

/// The call-level fields whose change is worth a `CallUpdated`.
type CallKey = (
    CallPhase,
    [Option<u64>; 3],
    Option<u16>,
    Option<String>,
    [Option<i64>; 2],
    [Option<String>; 2],
);

fn key(c: &CallView) -> CallKey {
    (
        c.phase,
        [c.answered_ms, c.bridged_ms, c.ended_ms],
        c.hangup_cause,
        c.dial_status.clone(),
        [c.call_center_id, c.agent_id],
        [c.callpro_call_id.clone(), c.amd_status.clone()],
    )
}

/// Recomputes the phase and times that follow from the legs.
fn refresh(call: &mut CallView) {
    call.answered_ms = call.legs.iter().filter_map(|l| l.answered_ms).min();
    let all_ended = !call.legs.is_empty() && call.legs.iter().all(|l| l.ended_ms.is_some());
    call.ended_ms = if all_ended {
        call.legs.iter().filter_map(|l| l.ended_ms).max()
    } else {
        None
    };
    call.phase = match (call.ended_ms, call.answered_ms) {
        (Some(_), _) => CallPhase::Ended,
        (None, Some(_)) => CallPhase::Answered,
        (None, None) => CallPhase::Setup,
    };
}

/// Copies what a snapshot says about a leg; true when something changed.
fn update_leg(leg: &mut LegView, s: &ChannelSnapshot<'_>, now_ms: u64) -> bool {
    let before = leg.clone();
    if let Some(channel) = s.channel {
        channel.clone_into(&mut leg.channel);
    }
    if let Some(state) = s.state() {
        leg.state = state.into();
    }
    if leg.state == LegState::Up && leg.answered_ms.is_none() {
        leg.answered_ms = Some(now_ms);
    }
    let set = |field: &mut Option<String>, value: Option<&str>| {
        if let Some(v) = known(value) {
            *field = Some(v);
        }
    };
    set(&mut leg.caller_id_num, s.caller_id_num);
    set(&mut leg.caller_id_name, s.caller_id_name);
    set(&mut leg.connected_line_num, s.connected_line_num);
    set(&mut leg.connected_line_name, s.connected_line_name);
    set(&mut leg.context, s.context);
    set(&mut leg.exten, s.exten);
    *leg != before
}

impl LiveState {
    /// Creates (if `create`) or refreshes the leg a snapshot describes; returns its Linkedid.
    pub(super) fn on_channel(
        &mut self,
        s: &ChannelSnapshot<'_>,
        now_ms: u64,
        create: bool,
        out: &mut Vec<LiveEvent>,
    ) -> Option<String> {
        let uid = s.uniqueid.filter(|u| !u.is_empty())?;
        if let Some(linkedid) = self.legs.get(uid).cloned() {
            let call = self.calls.get_mut(&linkedid)?;
            let before = key(call);
            let leg = call.legs.iter_mut().find(|l| l.uniqueid == uid)?;
            let changed = update_leg(leg, s, now_ms);
            self.finish_call(&linkedid, Some(before), uid, changed, false, out);
            return Some(linkedid);
        }
        if !create {
            return None;
        }
        let linkedid = s
            .linkedid
            .filter(|l| !l.is_empty())
            .unwrap_or(uid)
            .to_owned();
        let channel = s.channel.unwrap_or_default().to_owned();
        let tenant = self.tenants.channel(&channel);
        let mut leg = LegView {
            uniqueid: uid.to_owned(),
            channel,
            state: LegState::Down,
            caller_id_num: None,
            caller_id_name: None,
            connected_line_num: None,
            connected_line_name: None,
            context: None,
            exten: None,
            dial_status: None,
            bridge_id: None,
            bridge_name: None,
            created_ms: now_ms,
            answered_ms: None,
            ended_ms: None,
            hangup_cause: None,
            hangup_cause_txt: None,
        };
        update_leg(&mut leg, s, now_ms);
        let before = self.calls.get(&linkedid).map(key);
        let call = self
            .calls
            .entry(linkedid.clone())
            .or_insert_with(|| CallView {
                linkedid: linkedid.clone(),
                call_center_id: None,
                callpro_call_id: None,
                agent_id: None,
                phase: CallPhase::Setup,
                legs: Vec::new(),
                dial_status: None,
                amd_status: None,
                created_ms: now_ms,
                answered_ms: None,
                bridged_ms: None,
                ended_ms: None,
                hangup_cause: None,
            });
        if call.call_center_id.is_none() {
            call.call_center_id = tenant;
        }
        call.legs.push(leg);
        self.legs.insert(uid.to_owned(), linkedid.clone());
        self.finish_call(&linkedid, before, uid, true, true, out);
        Some(linkedid)
    }

    /// Emits the leg and call changes after a mutation of call `linkedid`.
    fn finish_call(
        &mut self,
        linkedid: &str,
        before: Option<CallKey>,
        uid: &str,
        leg_changed: bool,
        leg_added: bool,
        out: &mut Vec<LiveEvent>,
    ) {
        let Some(call) = self.calls.get_mut(linkedid) else {
            return;
        };
        refresh(call);
        let call = &*call;
        if before.is_none() {
            out.push(LiveEvent::CallStarted { call: call.clone() });
        }
        if let Some(leg) = call.leg(uid).filter(|_| leg_changed) {
            let (linkedid, call_center_id, leg) =
                (linkedid.to_owned(), call.call_center_id, leg.clone());
            out.push(if leg_added {
                LiveEvent::LegAdded {
                    linkedid,
                    call_center_id,
                    leg,
                }
            } else {
                LiveEvent::LegChanged {
                    linkedid,
                    call_center_id,
                    leg,
                }
            });
        }
        let Some(before) = before else { return };
        if before == key(call) {
            return;
        }
        if call.phase == CallPhase::Ended && before.0 != CallPhase::Ended {
            self.ended
                .push_back((call.ended_ms.unwrap_or_default(), linkedid.to_owned()));
            out.push(LiveEvent::CallEnded { call: call.clone() });
        } else {
            out.push(LiveEvent::CallUpdated { call: call.clone() });
        }
    }

    /// Applies `f` to the leg `uid` and its call, then emits what changed.
    pub(super) fn with_leg(
        &mut self,
        uid: &str,
        out: &mut Vec<LiveEvent>,
        f: impl FnOnce(&mut CallView, usize),
    ) {
        let Some(linkedid) = self.legs.get(uid).cloned() else {
            return;
        };
        let Some(call) = self.calls.get_mut(&linkedid) else {
            return;
        };
        let Some(i) = call.legs.iter().position(|l| l.uniqueid == uid) else {
            return;
        };
        let before = key(call);
        let leg_before = call.legs[i].clone();
        f(call, i);
        let changed = call.legs.get(i) != Some(&leg_before);
        self.finish_call(&linkedid, Some(before), uid, changed, false, out);
    }

    pub(super) fn on_hangup(&mut self, e: &Hangup<'_>, now_ms: u64, out: &mut Vec<LiveEvent>) {
        let Some(uid) = e.channel.uniqueid else {
            return;
        };
        self.drop_waiting_caller(uid, now_ms, out);
        if let Some(channel) = e.channel.channel {
            self.on_session_channel_gone(channel, now_ms, out);
        }
        let cause = e.cause_code();
        self.with_leg(uid, out, |call, i| {
            let leg = &mut call.legs[i];
            update_leg(leg, &e.channel, now_ms);
            leg.ended_ms = Some(now_ms);
            leg.hangup_cause = cause;
            leg.hangup_cause_txt = known(e.cause_txt);
            leg.bridge_id = None;
            leg.bridge_name = None;
            // The first real cause explains the call; later legs just follow it (16 or 0).
            if matches!(call.hangup_cause, None | Some(0)) && cause.is_some() {
                call.hangup_cause = cause;
            }
        });
    }

    pub(super) fn on_dial(
        &mut self,
        dest: &ChannelSnapshot<'_>,
        status: Option<&str>,
        end: bool,
        now_ms: u64,
        out: &mut Vec<LiveEvent>,
    ) {
        let Some(uid) = dest.uniqueid else { return };
        self.on_channel(dest, now_ms, true, out);
        let status = known(status);
        self.with_leg(uid, out, |call, i| {
            call.legs[i].dial_status.clone_from(&status);
            if end {
                call.dial_status = status;
            }
        });
    }

    pub(super) fn on_bridge(
        &mut self,
        s: &ChannelSnapshot<'_>,
        bridge: &BridgeSnapshot<'_>,
        entered: bool,
        now_ms: u64,
        out: &mut Vec<LiveEvent>,
    ) {
        let (Some(uid), Some(linkedid)) = (s.uniqueid, self.on_channel(s, now_ms, true, out))
        else {
            return;
        };
        let channel = s.channel.unwrap_or_default();
        let name = known(bridge.bridge_name);
        // A customer call entering an agent's session bridge is now that agent's call.
        let session = name
            .as_deref()
            .filter(|_| entered)
            .and_then(|n| self.session_for_bridge(n, channel));
        let two = entered
            && bridge
                .bridge_num_channels
                .and_then(|n| n.trim().parse::<u32>().ok())
                .is_some_and(|n| n >= 2);
        self.with_leg(uid, out, |call, i| {
            let leg = &mut call.legs[i];
            leg.bridge_id = known(bridge.bridge_uniqueid).filter(|_| entered);
            leg.bridge_name = name.clone().filter(|_| entered);
            if two && call.bridged_ms.is_none() {
                call.bridged_ms = Some(now_ms);
            }
            if let Some((agent_id, tenant)) = session {
                call.agent_id = Some(agent_id);
                if call.call_center_id.is_none() {
                    call.call_center_id = tenant;
                }
            }
        });
        if let Some(name) = name {
            self.on_session_bridge(&name, channel, &linkedid, entered, now_ms, out);
        }
    }

    pub(super) fn on_variable(
        &mut self,
        uid: &str,
        var: &str,
        value: &str,
        out: &mut Vec<LiveEvent>,
    ) {
        let value = value.trim();
        if var.eq_ignore_ascii_case(CALL_CENTER_VARIABLE) {
            // The dialplan's word beats any map: it is set per call, after the DID lookup.
            if let Ok(id) = value.parse::<i64>() {
                self.with_leg(uid, out, |call, _| call.call_center_id = Some(id));
            }
        } else if var.eq_ignore_ascii_case(CALL_ID_VARIABLE) && !value.is_empty() {
            self.with_leg(uid, out, |call, _| {
                call.callpro_call_id = Some(value.to_owned())
            });
        } else if var.eq_ignore_ascii_case(AMD_STATUS_VARIABLE) && !value.is_empty() {
            self.with_leg(uid, out, |call, _| call.amd_status = Some(value.to_owned()));
        }
    }
}
