//! Typed AMI events: the ones the engine acts on get a struct, every other event stays a raw
//! [`Message`] in [`Event::Other`].
//!
//! Events are zero-copy views borrowing from the message they were read from, so classifying
//! the recorded event mix costs one pass over each packet's headers and no allocation.

mod types;

pub use types::*;

use super::message::Message;

/// An AMI event, typed when the engine consumes it.
// The views are built on the stack and dropped quickly; boxing the big variants would cost an
// allocation per event, which is exactly what this layer avoids.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// `Newchannel`.
    Newchannel(Newchannel<'a>),
    /// `Newstate`.
    Newstate(Newstate<'a>),
    /// `Hangup`.
    Hangup(Hangup<'a>),
    /// `HangupRequest`.
    HangupRequest(HangupRequest<'a>),
    /// `DialBegin`.
    DialBegin(DialBegin<'a>),
    /// `DialState`.
    DialState(DialState<'a>),
    /// `DialEnd`.
    DialEnd(DialEnd<'a>),
    /// `BridgeEnter`.
    BridgeEnter(BridgeEnter<'a>),
    /// `BridgeLeave`.
    BridgeLeave(BridgeLeave<'a>),
    /// `LocalBridge`.
    LocalBridge(LocalBridge<'a>),
    /// `OriginateResponse`.
    OriginateResponse(OriginateResponse<'a>),
    /// `QueueCallerJoin`.
    QueueCallerJoin(QueueCallerJoin<'a>),
    /// `QueueCallerLeave`.
    QueueCallerLeave(QueueCallerLeave<'a>),
    /// `QueueCallerAbandon`.
    QueueCallerAbandon(QueueCallerAbandon<'a>),
    /// `AgentCalled`.
    AgentCalled(AgentCalled<'a>),
    /// `AgentConnect`.
    AgentConnect(AgentConnect<'a>),
    /// `AgentComplete`.
    AgentComplete(AgentComplete<'a>),
    /// `AgentRingNoAnswer`.
    AgentRingNoAnswer(AgentRingNoAnswer<'a>),
    /// `QueueMemberStatus`.
    QueueMemberStatus(QueueMemberEvent<'a>),
    /// `QueueMemberPause`.
    QueueMemberPause(QueueMemberEvent<'a>),
    /// `QueueMemberAdded`.
    QueueMemberAdded(QueueMemberEvent<'a>),
    /// `QueueMemberRemoved`.
    QueueMemberRemoved(QueueMemberEvent<'a>),
    /// `Cdr`.
    Cdr(Cdr<'a>),
    /// `ContactStatus`.
    ContactStatus(ContactStatus<'a>),
    /// `FullyBooted`.
    FullyBooted(FullyBooted<'a>),
    /// `Shutdown`.
    Shutdown(Shutdown<'a>),
    /// `CoreShowChannel` (list item).
    CoreShowChannel(CoreShowChannel<'a>),
    /// `QueueParams` (list item).
    QueueParams(QueueParams<'a>),
    /// `QueueMember` (list item).
    QueueMember(QueueMember<'a>),
    /// Any other event, raw.
    Other(&'a Message),
}

impl<'a> Event<'a> {
    /// Classifies `msg` by its `Event:` header; `None` for responses.
    pub fn parse(msg: &'a Message) -> Option<Event<'a>> {
        let name = msg.event_name()?;
        // Event names are exact on the wire; only header keys vary in case.
        let event = match name {
            "Newchannel" => Event::Newchannel(Newchannel::from_message(msg)),
            "Newstate" => Event::Newstate(Newstate::from_message(msg)),
            "Hangup" => Event::Hangup(Hangup::from_message(msg)),
            "HangupRequest" => Event::HangupRequest(HangupRequest::from_message(msg)),
            "DialBegin" => Event::DialBegin(DialBegin::from_message(msg)),
            "DialState" => Event::DialState(DialState::from_message(msg)),
            "DialEnd" => Event::DialEnd(DialEnd::from_message(msg)),
            "BridgeEnter" => Event::BridgeEnter(BridgeEnter::from_message(msg)),
            "BridgeLeave" => Event::BridgeLeave(BridgeLeave::from_message(msg)),
            "LocalBridge" => Event::LocalBridge(LocalBridge::from_message(msg)),
            "OriginateResponse" => Event::OriginateResponse(OriginateResponse::from_message(msg)),
            "QueueCallerJoin" => Event::QueueCallerJoin(QueueCallerJoin::from_message(msg)),
            "QueueCallerLeave" => Event::QueueCallerLeave(QueueCallerLeave::from_message(msg)),
            "QueueCallerAbandon" => {
                Event::QueueCallerAbandon(QueueCallerAbandon::from_message(msg))
            }
            "AgentCalled" => Event::AgentCalled(AgentCalled::from_message(msg)),
            "AgentConnect" => Event::AgentConnect(AgentConnect::from_message(msg)),
            "AgentComplete" => Event::AgentComplete(AgentComplete::from_message(msg)),
            "AgentRingNoAnswer" => Event::AgentRingNoAnswer(AgentRingNoAnswer::from_message(msg)),
            "QueueMemberStatus" => Event::QueueMemberStatus(QueueMemberEvent::from_message(msg)),
            "QueueMemberPause" => Event::QueueMemberPause(QueueMemberEvent::from_message(msg)),
            "QueueMemberAdded" => Event::QueueMemberAdded(QueueMemberEvent::from_message(msg)),
            "QueueMemberRemoved" => Event::QueueMemberRemoved(QueueMemberEvent::from_message(msg)),
            "Cdr" => Event::Cdr(Cdr::from_message(msg)),
            "ContactStatus" => Event::ContactStatus(ContactStatus::from_message(msg)),
            "FullyBooted" => Event::FullyBooted(FullyBooted::from_message(msg)),
            "Shutdown" => Event::Shutdown(Shutdown::from_message(msg)),
            "CoreShowChannel" => Event::CoreShowChannel(CoreShowChannel::from_message(msg)),
            "QueueParams" => Event::QueueParams(QueueParams::from_message(msg)),
            "QueueMember" => Event::QueueMember(QueueMember::from_message(msg)),
            _ => Event::Other(msg),
        };
        Some(event)
    }

    /// The event name as on the wire.
    pub fn name(&self) -> &'a str {
        match self {
            Event::Newchannel(_) => "Newchannel",
            Event::Newstate(_) => "Newstate",
            Event::Hangup(_) => "Hangup",
            Event::HangupRequest(_) => "HangupRequest",
            Event::DialBegin(_) => "DialBegin",
            Event::DialState(_) => "DialState",
            Event::DialEnd(_) => "DialEnd",
            Event::BridgeEnter(_) => "BridgeEnter",
            Event::BridgeLeave(_) => "BridgeLeave",
            Event::LocalBridge(_) => "LocalBridge",
            Event::OriginateResponse(_) => "OriginateResponse",
            Event::QueueCallerJoin(_) => "QueueCallerJoin",
            Event::QueueCallerLeave(_) => "QueueCallerLeave",
            Event::QueueCallerAbandon(_) => "QueueCallerAbandon",
            Event::AgentCalled(_) => "AgentCalled",
            Event::AgentConnect(_) => "AgentConnect",
            Event::AgentComplete(_) => "AgentComplete",
            Event::AgentRingNoAnswer(_) => "AgentRingNoAnswer",
            Event::QueueMemberStatus(_) => "QueueMemberStatus",
            Event::QueueMemberPause(_) => "QueueMemberPause",
            Event::QueueMemberAdded(_) => "QueueMemberAdded",
            Event::QueueMemberRemoved(_) => "QueueMemberRemoved",
            Event::Cdr(_) => "Cdr",
            Event::ContactStatus(_) => "ContactStatus",
            Event::FullyBooted(_) => "FullyBooted",
            Event::Shutdown(_) => "Shutdown",
            Event::CoreShowChannel(_) => "CoreShowChannel",
            Event::QueueParams(_) => "QueueParams",
            Event::QueueMember(_) => "QueueMember",
            Event::Other(msg) => msg.event_name().unwrap_or_default(),
        }
    }
}

/// Asterisk's `ChannelState` numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChannelState {
    /// 0: channel is down and available.
    Down,
    /// 1: reserved.
    Reserved,
    /// 2: off hook.
    OffHook,
    /// 3: digits have been dialed.
    Dialing,
    /// 4: the line is ringing (inbound).
    Ring,
    /// 5: the remote end is ringing (outbound).
    Ringing,
    /// 6: answered.
    Up,
    /// 7: busy.
    Busy,
    /// 8: digits dialed while off hook.
    DialingOffhook,
    /// 9: before ringing.
    PreRing,
    /// Any other number.
    Unknown(u8),
}

impl From<u8> for ChannelState {
    fn from(n: u8) -> Self {
        match n {
            0 => ChannelState::Down,
            1 => ChannelState::Reserved,
            2 => ChannelState::OffHook,
            3 => ChannelState::Dialing,
            4 => ChannelState::Ring,
            5 => ChannelState::Ringing,
            6 => ChannelState::Up,
            7 => ChannelState::Busy,
            8 => ChannelState::DialingOffhook,
            9 => ChannelState::PreRing,
            other => ChannelState::Unknown(other),
        }
    }
}

/// `OriginateResponse` `Reason` codes (Asterisk's `AST_CONTROL_*` subset).
///
/// Asterisk 22 reports `Failed` (0) for busy and unanswered trunk calls as well: the real cause
/// is in `DialEnd.DialStatus` and `Hangup.Cause`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OriginateReason {
    /// 0: failed (no such endpoint, or any failure Asterisk did not classify).
    Failed,
    /// 1: hung up before answer.
    HungUp,
    /// 3: rang without answer.
    NoAnswer,
    /// 4: answered.
    Answered,
    /// 5: busy.
    Busy,
    /// 8: congestion.
    Congestion,
    /// Any other code.
    Unknown(u8),
}

impl From<u8> for OriginateReason {
    fn from(n: u8) -> Self {
        match n {
            0 => OriginateReason::Failed,
            1 => OriginateReason::HungUp,
            3 => OriginateReason::NoAnswer,
            4 => OriginateReason::Answered,
            5 => OriginateReason::Busy,
            8 => OriginateReason::Congestion,
            other => OriginateReason::Unknown(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn originate_response_is_classified_by_event_first() {
        let msg = Message::parse(
            "Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: ami-originate-fail-2\r\nResponse: Failure\r\nChannel: PJSIP/nonexistent\r\nContext: agi-test\r\nExten: s\r\nReason: 0\r\nUniqueid: callpro-fail-0001\r\n",
        );
        let Some(Event::OriginateResponse(o)) = Event::parse(&msg) else {
            panic!("not typed");
        };
        assert_eq!(o.action_id, Some("ami-originate-fail-2"));
        assert!(!o.is_success());
        assert_eq!(o.reason_code(), Some(OriginateReason::Failed));
        assert_eq!(o.channel, Some("PJSIP/nonexistent"));
        assert_eq!(o.uniqueid, Some("callpro-fail-0001"));
    }

    #[test]
    fn dial_end_splits_caller_and_dest() {
        let msg = Message::parse(
            "Event: DialEnd\nChannel: Local/x;2\nUniqueid: u-2\nDestChannel: PJSIP/gw-1\nDestChannelState: 6\nDestUniqueid: u-3\nDestLinkedid: u-1\nDialStatus: ANSWER\n",
        );
        let Some(Event::DialEnd(d)) = Event::parse(&msg) else {
            panic!("not typed");
        };
        assert_eq!(d.caller.channel, Some("Local/x;2"));
        assert_eq!(d.caller.uniqueid, Some("u-2"));
        assert_eq!(d.dest.channel, Some("PJSIP/gw-1"));
        assert_eq!(d.dest.state(), Some(ChannelState::Up));
        assert_eq!(d.dest.linkedid, Some("u-1"));
        assert_eq!(d.dial_status, Some("ANSWER"));
    }

    #[test]
    fn keys_in_unusual_case_still_land() {
        let msg = Message::parse(
            "Event: DialEnd\nCHANNEL: Local/x;2\ndestchannel: PJSIP/gw-1\nDESTUNIQUEID: u-3\ndialstatus: BUSY\n",
        );
        let Some(Event::DialEnd(d)) = Event::parse(&msg) else {
            panic!("not typed");
        };
        assert_eq!(d.caller.channel, Some("Local/x;2"));
        assert_eq!(d.dest.channel, Some("PJSIP/gw-1"));
        assert_eq!(d.dest.uniqueid, Some("u-3"));
        assert_eq!(d.dial_status, Some("BUSY"));
        let cdr = Message::parse("Event: Cdr\nUniqueid: c-2\n");
        let Some(Event::Cdr(c)) = Event::parse(&cdr) else {
            panic!("not typed");
        };
        assert_eq!(c.unique_id, Some("c-2"));
    }

    #[test]
    fn cdr_uniqueid_spelling_and_hangup_cause() {
        let cdr = Message::parse("Event: Cdr\nUniqueID: c-1\nDisposition: BUSY\n");
        let Some(Event::Cdr(c)) = Event::parse(&cdr) else {
            panic!("not typed");
        };
        assert_eq!(c.unique_id, Some("c-1"));
        assert_eq!(c.disposition, Some("BUSY"));
        let h = Message::parse("Event: Hangup\nUniqueid: u\nCause: 17\nCause-txt: User busy\n");
        let Some(Event::Hangup(h)) = Event::parse(&h) else {
            panic!("not typed");
        };
        assert_eq!(h.cause_code(), Some(17));
        assert_eq!(h.cause_txt, Some("User busy"));
        assert_eq!(h.channel.uniqueid, Some("u"));
    }

    #[test]
    fn local_bridge_halves_and_other() {
        let msg = Message::parse(
            "Event: LocalBridge\nLocalOneUniqueid: a\nLocalTwoUniqueid: b\nContext: ctx\nLocalOneContext: c1\n",
        );
        let Some(Event::LocalBridge(l)) = Event::parse(&msg) else {
            panic!("not typed");
        };
        assert_eq!((l.one.uniqueid, l.two.uniqueid), (Some("a"), Some("b")));
        assert_eq!((l.context, l.one.context), (Some("ctx"), Some("c1")));
        let other = Message::parse("Event: VarSet\nVariable: X\n");
        let ev = Event::parse(&other).unwrap();
        assert!(matches!(ev, Event::Other(_)));
        assert_eq!(ev.name(), "VarSet");
        assert!(Event::parse(&Message::parse("Response: Success\n")).is_none());
    }

    #[test]
    fn queue_member_pause() {
        let msg = Message::parse(
            "Event: QueueMemberPause\nQueue: sales\nInterface: PJSIP/agent1002\nPaused: 1\nPausedReason: lunch\n",
        );
        let Some(Event::QueueMemberPause(q)) = Event::parse(&msg) else {
            panic!("not typed");
        };
        assert!(q.is_paused());
        assert_eq!(q.paused_reason, Some("lunch"));
        assert_eq!(q.interface, Some("PJSIP/agent1002"));
    }
}
