//! Actions written to Asterisk and not yet fully answered, keyed by `ActionID`, and the routing
//! of incoming packets to them.
//!
//! The socket reader calls [`PendingMap::route`] for every packet carrying an `ActionID`; the
//! map only ever completes oneshot channels or pushes into a `Vec`, so routing never waits on
//! the caller that is (or is no longer) awaiting the answer.

use std::collections::HashMap;
use std::time::Instant;

use tokio::sync::oneshot;

use super::error::AmiClientError;
use super::message::Message;
use super::metrics::AmiMetrics;

type Result<T, E = AmiClientError> = std::result::Result<T, E>;

/// A list action's answer: the `Response`, the item events, and the `...Complete` event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListResponse {
    /// The `Response: Success` packet (`EventList: start`).
    pub response: Message,
    /// The item events, in wire order.
    pub items: Vec<Message>,
    /// The closing `...Complete` event; `None` when Asterisk answered without a list.
    pub complete: Option<Message>,
}

/// Where the answer to one action goes.
pub(crate) enum Reply {
    /// One response packet.
    Single(oneshot::Sender<Result<Message>>),
    /// A response, item events, then a `...Complete` event.
    List(oneshot::Sender<Result<ListResponse>>),
    /// `Originate` with `Async: true`: the response, later `OriginateResponse`.
    Originate {
        accepted: oneshot::Sender<Result<Message>>,
        outcome: oneshot::Sender<Result<Message>>,
    },
}

impl Reply {
    /// Answers with an error wherever the caller is waiting.
    pub(crate) fn fail(self, err: AmiClientError) {
        // A dropped receiver means the caller gave up (timeout); nobody is left to tell.
        match self {
            Reply::Single(tx) => drop(tx.send(Err(err))),
            Reply::List(tx) => drop(tx.send(Err(err))),
            Reply::Originate { accepted, outcome } => {
                let _ = accepted.send(Err(err.clone()));
                let _ = outcome.send(Err(err));
            }
        }
    }

    /// True when the caller no longer waits for the first answer (it timed out).
    pub(crate) fn is_abandoned(&self) -> bool {
        match self {
            Reply::Single(tx) => tx.is_closed(),
            Reply::List(tx) => tx.is_closed(),
            Reply::Originate { accepted, .. } => accepted.is_closed(),
        }
    }
}

enum State {
    Single(oneshot::Sender<Result<Message>>),
    List {
        tx: oneshot::Sender<Result<ListResponse>>,
        response: Option<Message>,
        items: Vec<Message>,
    },
    Originate {
        accepted: Option<oneshot::Sender<Result<Message>>>,
        outcome: oneshot::Sender<Result<Message>>,
    },
}

struct Entry {
    action: String,
    started: Instant,
    state: State,
}

/// All pending actions of the client.
#[derive(Default)]
pub(crate) struct PendingMap {
    entries: HashMap<String, Entry>,
}

fn rejected(action: &str, msg: &Message) -> AmiClientError {
    AmiClientError::Rejected {
        action: action.to_owned(),
        message: msg.message().unwrap_or_default().to_owned(),
    }
}

fn is_error(msg: &Message) -> bool {
    msg.response()
        .is_some_and(|r| r.eq_ignore_ascii_case("Error"))
}

impl PendingMap {
    /// Registers an action just before it is written.
    pub(crate) fn insert(&mut self, id: String, action: &str, reply: Reply) {
        let state = match reply {
            Reply::Single(tx) => State::Single(tx),
            Reply::List(tx) => State::List {
                tx,
                response: None,
                items: Vec::new(),
            },
            Reply::Originate { accepted, outcome } => State::Originate {
                accepted: Some(accepted),
                outcome,
            },
        };
        let entry = Entry {
            action: action.to_owned(),
            started: Instant::now(),
            state,
        };
        self.entries.insert(id, entry);
    }

    /// Forgets an action whose caller gave up.
    pub(crate) fn remove(&mut self, id: &str) {
        self.entries.remove(id);
    }

    /// Fails every pending action (connection lost or client closed).
    pub(crate) fn fail_all(&mut self, err: &AmiClientError) {
        for (_, entry) in self.entries.drain() {
            match entry.state {
                State::Single(tx) => drop(tx.send(Err(err.clone()))),
                State::List { tx, .. } => drop(tx.send(Err(err.clone()))),
                State::Originate { accepted, outcome } => {
                    if let Some(tx) = accepted {
                        let _ = tx.send(Err(err.clone()));
                    }
                    let _ = outcome.send(Err(err.clone()));
                }
            }
        }
    }

    /// Number of actions awaiting an answer.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Hands `msg` (which carries ActionID `id`) to its pending action. Returns the packet back
    /// when it should also be published as an event (unclaimed events, `OriginateResponse`).
    pub(crate) fn route(
        &mut self,
        id: &str,
        msg: Message,
        metrics: Option<&AmiMetrics>,
    ) -> Option<Message> {
        let Some(entry) = self.entries.get_mut(id) else {
            return Some(msg);
        };
        let done = |entry: &Entry| {
            if let Some(m) = metrics {
                m.action(&entry.action, entry.started.elapsed());
            }
        };
        let is_response = msg.response().is_some();
        match &mut entry.state {
            State::Single(_) if !is_response => Some(msg),
            State::Single(_) => {
                done(entry);
                if let Some(Entry {
                    action,
                    state: State::Single(tx),
                    ..
                }) = self.entries.remove(id)
                {
                    let result = if is_error(&msg) {
                        Err(rejected(&action, &msg))
                    } else {
                        Ok(msg)
                    };
                    let _ = tx.send(result);
                }
                None
            }
            State::List {
                response, items, ..
            } => {
                let finished = if is_response {
                    let ends = is_error(&msg) || msg.event_list().is_none();
                    *response = Some(msg.clone());
                    ends
                } else if msg
                    .event_list()
                    .is_some_and(|l| l.eq_ignore_ascii_case("Complete"))
                {
                    true
                } else {
                    items.push(msg.clone());
                    false
                };
                if finished {
                    done(entry);
                    self.finish_list(id, msg, is_response);
                }
                None
            }
            State::Originate { accepted, .. } if is_response => {
                let err = is_error(&msg).then(|| rejected(&entry.action, &msg));
                if let Some(tx) = accepted.take() {
                    let _ = tx.send(err.clone().map_or(Ok(msg), Err));
                }
                done(entry);
                if let Some(err) = err {
                    // Refused outright: there will be no OriginateResponse.
                    if let Some(Entry {
                        state: State::Originate { outcome, .. },
                        ..
                    }) = self.entries.remove(id)
                    {
                        let _ = outcome.send(Err(err));
                    }
                }
                None
            }
            State::Originate { .. } if msg.event_name() == Some("OriginateResponse") => {
                if let Some(Entry {
                    state: State::Originate { accepted, outcome },
                    ..
                }) = self.entries.remove(id)
                {
                    // Asterisk always answers first; if not, the outcome implies acceptance.
                    if let Some(tx) = accepted {
                        let _ = tx.send(Ok(msg.clone()));
                    }
                    let _ = outcome.send(Ok(msg.clone()));
                }
                Some(msg)
            }
            State::Originate { .. } => Some(msg),
        }
    }

    fn finish_list(&mut self, id: &str, last: Message, last_is_response: bool) {
        let Some(Entry {
            action,
            state:
                State::List {
                    tx,
                    response,
                    items,
                },
            ..
        }) = self.entries.remove(id)
        else {
            return;
        };
        let result = match response {
            Some(r) if is_error(&r) => Err(rejected(&action, &r)),
            Some(response) => Ok(ListResponse {
                response,
                items,
                complete: (!last_is_response).then_some(last),
            }),
            None => Err(AmiClientError::Protocol(format!(
                "{action}: list completed before its response"
            ))),
        };
        let _ = tx.send(result);
    }
}
