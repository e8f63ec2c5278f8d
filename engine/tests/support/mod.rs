//! A scripted AMI peer for the client tests: it replays the real Asterisk captures of
//! `engine/tests/captures/ami` over a loopback socket.
//!
//! A capture becomes a [`Script`]: `in` chunks are written at their recorded boundaries, `out`
//! records wait for the client to write an action of the same name. The recorded ActionID of
//! that action is then mapped to the one the client sent, and every `ActionID:` in later chunks
//! is rewritten, so the client's correlation is exercised for real; an `Originate`'s recorded
//! `ChannelId`/`OtherChannelId` are replaced by the client's wherever they appear, so the
//! events name the client's own legs. Actions the script does not expect (the resync lists,
//! `Ping`, `Logoff`) are answered from the recorded answers in `ami-eventlist`; only
//! `PJSIPShowContacts`, absent from the captures, gets a synthetic empty list shaped like
//! res_pjsip's (`ContactListComplete`, `ListItems: 0`).
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs
)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use callpro_engine::ami::{AmiCodec, AmiFrame, AmiLimits, Message};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::FramedRead;

use crate::fixtures::{Capture, load_captures};

/// One step of a replay.
#[derive(Clone, Debug)]
pub enum Step {
    /// Write these bytes (ActionIDs rewritten).
    Send(Vec<u8>),
    /// Wait for the client to send an action named like this recorded one.
    Expect(Message),
    /// Close the socket.
    Close,
}

/// The steps of one connection.
#[derive(Clone, Debug, Default)]
pub struct Script {
    pub steps: Vec<Step>,
}

pub fn capture(name: &str) -> Capture {
    load_captures("ami")
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("capture {name} missing"))
}

/// Splits raw bytes into whole packets (each keeps its blank-line terminator).
pub fn packets(bytes: &[u8]) -> Vec<Vec<u8>> {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    text.split_inclusive("\r\n\r\n")
        .map(|p| p.as_bytes().to_vec())
        .collect()
}

fn action_id_of(packet: &[u8]) -> Option<String> {
    Message::parse(std::str::from_utf8(packet).ok()?)
        .action_id()
        .map(str::to_owned)
}

impl Script {
    /// The whole capture, step for step.
    pub fn from_capture(name: &str) -> Script {
        let cap = capture(name);
        let mut steps = Vec::new();
        for rec in &cap.records {
            match (rec.dir.as_str(), rec.event.as_deref()) {
                ("in", Some("eof")) => steps.push(Step::Close),
                ("in", _) if !rec.bytes.is_empty() => {
                    steps.push(Step::Send(rec.bytes.clone().into_bytes()))
                }
                ("out", None) => steps.push(Step::Expect(Message::parse(&rec.bytes))),
                _ => {}
            }
        }
        Script { steps }
    }

    /// Drops one recorded exchange: the action with `action_id` and the packets answering it.
    pub fn without_exchange(mut self, action_id: &str) -> Script {
        self.steps.retain_mut(|step| match step {
            Step::Expect(m) => m.action_id() != Some(action_id),
            Step::Send(bytes) => {
                let kept: Vec<Vec<u8>> = packets(bytes)
                    .into_iter()
                    .filter(|p| action_id_of(p).as_deref() != Some(action_id))
                    .collect();
                *bytes = kept.concat();
                !bytes.is_empty()
            }
            Step::Close => true,
        });
        self
    }

    /// The steps before the `n`-th (0-based) expected action named `name`.
    pub fn before_expect(&self, name: &str, n: usize) -> Script {
        let mut seen = 0;
        let mut steps = Vec::new();
        for step in &self.steps {
            if let Step::Expect(m) = step
                && m.get("Action") == Some(name)
            {
                if seen == n {
                    break;
                }
                seen += 1;
            }
            steps.push(step.clone());
        }
        Script { steps }
    }

    /// The `Send` step answering the recorded action named `name`.
    pub fn answer_to(&self, name: &str) -> Vec<u8> {
        let mut after = false;
        for step in &self.steps {
            match step {
                Step::Expect(m) => after = m.get("Action") == Some(name),
                Step::Send(bytes) if after => return bytes.clone(),
                _ => {}
            }
        }
        panic!("no answer to {name}");
    }
}

/// What the peer observed.
#[derive(Debug, Default)]
pub struct PeerLog {
    /// Accepted connections.
    pub connections: usize,
    /// Every action received, with its connection index.
    pub actions: Vec<(usize, Message)>,
    /// Logins refused because the credentials did not match the recording.
    pub auth_failures: usize,
}

/// The listening peer.
pub struct Peer {
    pub addr: SocketAddr,
    pub log: Arc<Mutex<PeerLog>>,
}

impl Peer {
    /// Connection `i` plays `scripts[i]` (the last one again for any later connection).
    pub async fn start(scripts: Vec<Script>) -> Peer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(Mutex::new(PeerLog::default()));
        let shared = Arc::clone(&log);
        tokio::spawn(async move {
            let library = Arc::new(library());
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let index = {
                    let mut log = shared.lock().unwrap();
                    log.connections += 1;
                    log.connections - 1
                };
                let script = scripts[index.min(scripts.len() - 1)].clone();
                let (log, library) = (Arc::clone(&shared), Arc::clone(&library));
                tokio::spawn(serve(stream, script, index, log, library));
            }
        });
        Peer { addr, log }
    }

    /// Actions named `name` received on any connection.
    pub fn actions(&self, name: &str) -> Vec<Message> {
        let log = self.log.lock().unwrap();
        log.actions
            .iter()
            .filter(|(_, m)| {
                m.get("Action")
                    .is_some_and(|a| a.eq_ignore_ascii_case(name))
            })
            .map(|(_, m)| m.clone())
            .collect()
    }

    pub fn connections(&self) -> usize {
        self.log.lock().unwrap().connections
    }
}

/// Headers other than `ActionID`, for comparing our actions with the recorded ones.
pub fn wire_headers(m: &Message) -> Vec<(String, String)> {
    m.iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("ActionID"))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Recorded answers by lower-cased action name: (recorded ActionID, bytes).
type Library = HashMap<String, (String, Vec<u8>)>;

fn library() -> Library {
    let mut lib = Library::new();
    let mut current: Option<(String, String)> = None;
    for step in Script::from_capture("ami-eventlist").steps {
        match step {
            Step::Expect(m) => {
                let name = m.get("Action").unwrap().to_ascii_lowercase();
                let id = m.action_id().unwrap().to_owned();
                lib.entry(name.clone())
                    .or_insert_with(|| (id.clone(), Vec::new()));
                current = Some((name, id));
            }
            Step::Send(bytes) => {
                let Some((name, id)) = &current else { continue };
                let entry = lib.get_mut(name).unwrap();
                if &entry.0 != id {
                    continue;
                }
                for p in packets(&bytes) {
                    if action_id_of(&p).as_deref() == Some(id.as_str()) {
                        entry.1.extend_from_slice(&p);
                    }
                }
            }
            Step::Close => {}
        }
    }
    let contacts = "Response: Success\r\nActionID: synthetic\r\nEventList: start\r\nMessage: A listing of Contacts follows, presented as ContactList events\r\n\r\nEvent: ContactListComplete\r\nActionID: synthetic\r\nEventList: Complete\r\nListItems: 0\r\n\r\n";
    lib.insert(
        "pjsipshowcontacts".into(),
        ("synthetic".into(), contacts.as_bytes().to_vec()),
    );
    lib
}

/// Replaces every header value found in `ids`: recorded ActionIDs, and the recorded channel
/// ids of an originate wherever they appear (`Uniqueid`, `Linkedid`, `DestUniqueid`, ...).
fn rewrite(bytes: &[u8], ids: &HashMap<String, String>) -> Vec<u8> {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\r', '\n']);
        let ending = &line[body.len()..];
        match body.split_once(':') {
            Some((k, v)) if ids.contains_key(v.trim()) => {
                out.push_str(k);
                out.push_str(": ");
                out.push_str(&ids[v.trim()]);
                out.push_str(ending);
            }
            _ => out.push_str(line),
        }
    }
    out.into_bytes()
}

async fn answer_from_library(w: &mut OwnedWriteHalf, action: &Message, library: &Library) -> bool {
    let name = action
        .get("Action")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let (recorded, bytes) = library
        .get(&name)
        .or_else(|| library.get("foobarunknown"))
        .unwrap();
    let ids = HashMap::from([(
        recorded.clone(),
        action.action_id().unwrap_or_default().to_owned(),
    )]);
    let ok = w.write_all(&rewrite(bytes, &ids)).await.is_ok();
    // Asterisk closes the connection after answering Logoff.
    ok && name != "logoff"
}

fn credentials_match(recorded: &Message, actual: &Message) -> bool {
    ["Username", "Secret", "Key", "AuthType"]
        .iter()
        .all(|h| recorded.get(h) == actual.get(h))
}

async fn serve(
    stream: TcpStream,
    script: Script,
    index: usize,
    log: Arc<Mutex<PeerLog>>,
    library: Arc<Library>,
) {
    let (r, mut w) = stream.into_split();
    let mut reader = FramedRead::new(r, AmiCodec::without_banner(AmiLimits::default()));
    let mut ids = HashMap::new();
    for step in script.steps {
        match step {
            Step::Send(bytes) => {
                if w.write_all(&rewrite(&bytes, &ids)).await.is_err() {
                    return;
                }
            }
            Step::Expect(recorded) => loop {
                let Some(Ok(AmiFrame::Message(action))) = reader.next().await else {
                    return;
                };
                log.lock().unwrap().actions.push((index, action.clone()));
                let name = action.get("Action").unwrap_or_default();
                if !name.eq_ignore_ascii_case(recorded.get("Action").unwrap()) {
                    if !answer_from_library(&mut w, &action, &library).await {
                        return;
                    }
                    continue;
                }
                if name.eq_ignore_ascii_case("Login") && !credentials_match(&recorded, &action) {
                    log.lock().unwrap().auth_failures += 1;
                    let refused = format!(
                        "Response: Error\r\nActionID: {}\r\nMessage: Authentication failed\r\n\r\n",
                        action.action_id().unwrap_or_default()
                    );
                    let _ = w.write_all(refused.as_bytes()).await;
                    return;
                }
                ids.insert(
                    recorded.action_id().unwrap().to_owned(),
                    action.action_id().unwrap_or_default().to_owned(),
                );
                // An originate's own channel ids name its legs in every later event.
                for header in ["ChannelId", "OtherChannelId"] {
                    if let (Some(was), Some(now)) = (recorded.get(header), action.get(header)) {
                        ids.insert(was.to_owned(), now.to_owned());
                    }
                }
                break;
            },
            Step::Close => return,
        }
    }
    while let Some(Ok(AmiFrame::Message(action))) = reader.next().await {
        log.lock().unwrap().actions.push((index, action.clone()));
        if !answer_from_library(&mut w, &action, &library).await {
            return;
        }
    }
}
