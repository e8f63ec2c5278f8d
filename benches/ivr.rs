//! `cargo bench --bench ivr`: inbound IVR sessions over loopback FastAGI.
//!
//! A real `AgiServer` routes `/ivr` to the `IvrService` (flows from memory, sessions recorded
//! into memory: the database is not what is measured here) walking a 5-node flow — answer,
//! playback, menu (the caller presses 1), set_variable, queue (answered) — which is 8 AGI
//! commands per call. Clients play Asterisk with the reply formats of the recorded sessions.
//!
//! - `ivr/executor`: criterion, the sans-IO walk of that flow alone (no I/O).
//! - `ivr/flood/100`: 100 callers calling again and again with no think time: sessions/s.
//! - `ivr/paced/1000`: 1000 sessions in progress at all times (each caller calls again when its
//!   call ends), waiting 0-100 ms before each reply (the prompt playing, the caller thinking);
//!   the step latency is what such a caller waits between its reply and callpro's next command
//!   (reply written → next command read, think excluded). Target: p99 < 2 ms.
//!
//! The server runs on one tokio worker thread, the clients on another thread, one core each as
//! when Asterisk and callpro run side by side. Without `--bench` (e.g. `cargo test --benches`)
//! everything runs briefly as a smoke test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::HashMap;
use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use callpro_engine::agi::{AgiConfig, AgiServer, BoxFuture, Router};
use callpro_ivr::driver::SessionRecord;
use callpro_ivr::{
    Action, CallInfo, Flow, FlowSource, Input, IvrConfig, IvrMetrics, IvrService, LoadedFlow,
    Lookup, SessionSink, SessionStart, Walk,
};
use criterion::Criterion;
use prometheus::core::Metric;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const DID: &str = "0142000000";
const COMMANDS_PER_CALL: usize = 8;

fn flow() -> LoadedFlow {
    let definition = json!({"start": "answer", "nodes": [
        {"id": "answer", "type": "answer", "exits": {"next": "welcome"}},
        {"id": "welcome", "type": "playback", "prompts": ["callpro/welcome"], "exits": {"next": "menu"}},
        {"id": "menu", "type": "menu", "prompt": "callpro/main-menu",
         "exits": {"1": "tag", "invalid": null, "timeout": null}},
        {"id": "tag", "type": "set_variable", "variable": "ROUTE", "value": "sales-${DID}",
         "exits": {"next": "sales"}},
        {"id": "sales", "type": "queue", "group_id": 1, "max_wait_secs": 120,
         "exits": {"answered": null, "timeout": null, "full": null, "unavailable": null, "failed": null}}
    ]});
    LoadedFlow {
        call_center_id: 1,
        flow_id: 1,
        version: 1,
        time_zone: Some("Europe/Paris".to_owned()),
        flow: Arc::new(Flow::parse(&definition).unwrap()),
        agents: HashMap::new(),
    }
}

struct MemorySource(LoadedFlow);

impl FlowSource for MemorySource {
    fn by_did(&self, did: &str) -> BoxFuture<Result<Lookup, callpro_ivr::driver::SourceError>> {
        let found = if did == DID {
            Lookup::Found(self.0.clone())
        } else {
            Lookup::UnknownDid
        };
        Box::pin(async move { Ok(found) })
    }

    fn by_id(
        &self,
        _: i64,
        _: i64,
    ) -> BoxFuture<Result<Option<LoadedFlow>, callpro_ivr::driver::SourceError>> {
        Box::pin(async { Ok(None) })
    }
}

#[derive(Default)]
struct CountingSink {
    started: AtomicUsize,
    queued: AtomicUsize,
}

impl SessionSink for CountingSink {
    fn started(&self, _: SessionStart) -> BoxFuture<Option<i64>> {
        let id = self.started.fetch_add(1, Ordering::Relaxed);
        Box::pin(async move { i64::try_from(id).ok() })
    }

    fn finished(&self, _: Option<i64>, record: SessionRecord) -> BoxFuture<()> {
        if record.outcome.kind == callpro_ivr::OutcomeKind::Queued {
            self.queued.fetch_add(1, Ordering::Relaxed);
        }
        Box::pin(async {})
    }
}

// ---------------------------------------------------------------- executor alone

fn executor(c: &mut Criterion) {
    let loaded = flow();
    let call = CallInfo {
        did: DID.to_owned(),
        caller_id: "0600000000".to_owned(),
        ..CallInfo::default()
    };
    let now = chrono::Utc::now();
    let mut group = c.benchmark_group("ivr");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(2));
    group.bench_function("executor", |b| {
        b.iter(|| {
            let mut walk = Walk::new(loaded.clone(), &call);
            let mut input = Input::Start;
            loop {
                input = match walk.advance(input, now) {
                    Action::Finish(outcome) => break black_box(outcome),
                    Action::Play { file, .. } if file.ends_with("main-menu") => {
                        Input::Digit(Some('1'))
                    }
                    Action::Exec { .. } => Input::Exec {
                        result: 0,
                        status: None,
                        answered_by: Some("Local/7@callpro-agent-bridge".to_owned()),
                    },
                    _ => Input::Done,
                };
            }
        })
    });
    group.finish();
}

// ---------------------------------------------------------------- over FastAGI

fn environment(uniqueid: usize) -> String {
    format!(
        "agi_network: yes\nagi_network_script: ivr?did={DID}\nagi_request: agi://127.0.0.1:4573/ivr?did={DID}\n\
         agi_channel: PJSIP/yeastar-paris-{uniqueid:08x}\nagi_language: en\nagi_type: PJSIP\n\
         agi_uniqueid: 1795441152.{uniqueid}\nagi_version: 22.10.1\nagi_callerid: 0600000000\n\
         agi_calleridname: Bench\nagi_callingpres: 0\nagi_callingani2: 0\nagi_callington: 0\n\
         agi_callingtns: 0\nagi_dnid: {DID}\nagi_rdnis: unknown\nagi_context: from-gw\n\
         agi_extension: {DID}\nagi_priority: 2\nagi_enhanced: 0.0\nagi_accountcode: \n\
         agi_threadid: 140363223316160\n\n"
    )
}

fn reply(command: &[u8]) -> &'static [u8] {
    if command.starts_with(b"STREAM FILE callpro/main-menu") {
        b"200 result=49 endpos=5600\n"
    } else if command.starts_with(b"STREAM FILE") {
        b"200 result=0 endpos=11360\n"
    } else if command.starts_with(b"SET VARIABLE") {
        b"200 result=1\n"
    } else if command.starts_with(b"GET VARIABLE MEMBERINTERFACE") {
        b"200 result=1 (Local/7@callpro-agent-bridge)\n"
    } else {
        // ANSWER, EXEC Queue, and GET VARIABLE QUEUESTATUS (unset: an agent answered).
        b"200 result=0\n"
    }
}

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// One inbound call; with `think`, waits 0-100 ms before each reply. Pushes the turnaround of
/// every step (reply written → next command read) and returns the commands answered.
async fn call(
    addr: SocketAddr,
    id: usize,
    mut think: Option<u64>,
    turnaround: &mut Vec<u32>,
) -> usize {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    stream.write_all(environment(id).as_bytes()).await.unwrap();
    let mut buf = [0u8; 512];
    let mut filled = 0;
    let mut answered = 0;
    let mut replied_at: Option<Instant> = None;
    loop {
        let n = match stream.read(&mut buf[filled..]).await {
            Ok(0) | Err(_) => return answered,
            Ok(n) => n,
        };
        filled += n;
        // Commands strictly alternate with replies: at most one line is pending.
        let Some(end) = buf[..filled].iter().position(|&b| b == b'\n') else {
            continue;
        };
        if let Some(at) = replied_at {
            turnaround.push(u32::try_from(at.elapsed().as_nanos()).unwrap_or(u32::MAX));
        }
        let answer = reply(&buf[..end]);
        filled = 0;
        if let Some(state) = think.as_mut() {
            tokio::time::sleep(Duration::from_micros(xorshift(state) % 100_000)).await;
        }
        if stream.write_all(answer).await.is_err() {
            return answered;
        }
        replied_at = Some(Instant::now());
        answered += 1;
    }
}

fn pct(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() - 1) as f64 * p).round() as usize;
    f64::from(sorted[idx]) / 1_000_000.0
}

/// The step histogram at one instant: cumulative count per bucket bound (s), and the total.
fn step_snapshot(metrics: &IvrMetrics) -> (Vec<(f64, u64)>, u64) {
    let metric = metrics.step_seconds.metric();
    let histogram = metric.get_histogram();
    let buckets = histogram
        .get_bucket()
        .iter()
        .map(|b| (b.upper_bound(), b.cumulative_count()))
        .collect();
    (buckets, histogram.get_sample_count())
}

/// The bucket bound (ms) under which 99 % of the steps observed since `before` fall, and how
/// many steps that was.
fn step_p99_ms(metrics: &IvrMetrics, before: &(Vec<(f64, u64)>, u64)) -> (f64, u64) {
    let (now, total_now) = step_snapshot(metrics);
    let total = total_now - before.1;
    let target = (total as f64 * 0.99).ceil() as u64;
    let bound = now
        .iter()
        .zip(&before.0)
        .find(|((_, c), (_, b))| c - b >= target)
        .map_or(f64::INFINITY, |((bound, _), _)| bound * 1000.0);
    (bound, total)
}

fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn over_fastagi(full: bool) {
    let sink = Arc::new(CountingSink::default());
    let metrics = IvrMetrics::new(&prometheus::Registry::new()).unwrap();
    let service = IvrService::new(
        Arc::new(MemorySource(flow())),
        sink.clone(),
        IvrConfig::default(),
    )
    .unwrap()
    .with_metrics(metrics.clone());
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = server_rt
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = AgiConfig {
        max_sessions: 4096,
        ..AgiConfig::default()
    };
    let router = Router::new().route("ivr", service.handler());
    let server = server_rt.spawn(AgiServer::new(config).run(listener, router, async move {
        drop(stopped.await);
    }));

    // Two descriptors per session in this one process.
    let mut big = 1000;
    if let Some(limit) = open_files_limit().filter(|l| *l < 2200) {
        big = usize::try_from(limit.saturating_sub(100) / 2)
            .unwrap_or(1)
            .max(1);
        println!("ivr: open-file limit {limit} < 2200, using {big} sessions (ulimit -n 4096)");
    }
    if !full {
        big = big.min(50);
    }
    let clients = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    clients.block_on(async {
        // Flood: sessions per second with no think time.
        let flooders = 100;
        let budget = if full {
            Duration::from_secs(3)
        } else {
            Duration::from_millis(200)
        };
        let until = Instant::now() + budget;
        let started = Instant::now();
        let tasks: Vec<_> = (0..flooders)
            .map(|i| {
                tokio::spawn(async move {
                    let (mut sessions, mut scratch) = (0usize, Vec::new());
                    while Instant::now() < until {
                        let answered = call(addr, i * 1_000_000 + sessions, None, &mut scratch).await;
                        assert_eq!(answered, COMMANDS_PER_CALL, "a flooded call was cut short");
                        scratch.clear();
                        sessions += 1;
                    }
                    sessions
                })
            })
            .collect();
        let mut sessions = 0;
        for t in tasks {
            sessions += t.await.unwrap();
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "ivr/flood/{flooders}: {:.0} sessions/s ({sessions} sessions of {COMMANDS_PER_CALL} AGI commands in {secs:.1} s, {flooders} callers with no think time)",
            sessions as f64 / secs
        );

        // Paced: `big` callers, each calling again as soon as its call ends, thinking 0-100 ms
        // before each reply. First calls start spread over 100 ms (calls do not all arrive in
        // the same millisecond); steps are counted after a warm-up of one second, when about
        // `big` sessions are in progress at any time.
        let (warm_up, window) = if full {
            (Duration::from_secs(1), Duration::from_secs(6))
        } else {
            (Duration::from_millis(100), Duration::from_millis(300))
        };
        let started = Instant::now();
        let before = step_snapshot(&metrics);
        let measure_from = started + warm_up;
        let until = measure_from + window;
        let tasks: Vec<_> = (0..big)
            .map(|i| {
                tokio::spawn(async move {
                    let mut seed = 0x9E37_79B9_7F4A_7C15_u64 ^ (i as u64 + 1);
                    tokio::time::sleep(Duration::from_micros(xorshift(&mut seed) % 100_000)).await;
                    let (mut turnaround, mut scratch) = (Vec::new(), Vec::new());
                    let (mut complete, mut calls) = (0usize, 0usize);
                    while Instant::now() < until {
                        let began = Instant::now();
                        let answered = call(
                            addr,
                            10_000_000 + i * 10_000 + calls,
                            Some(xorshift(&mut seed)),
                            &mut scratch,
                        )
                        .await;
                        let ended = Instant::now();
                        calls += 1;
                        // Steps of calls begun after the warm-up; calls ended in the window.
                        if began >= measure_from {
                            turnaround.append(&mut scratch);
                        }
                        if ended >= measure_from && ended < until {
                            complete += usize::from(answered == COMMANDS_PER_CALL);
                        }
                        scratch.clear();
                    }
                    (turnaround, complete)
                })
            })
            .collect();
        let mut turnaround = Vec::new();
        let mut complete = 0;
        for t in tasks {
            let (turn, n) = t.await.unwrap();
            turnaround.extend(turn);
            complete += n;
        }
        turnaround.sort_unstable();
        let (server_p99, server_steps) = step_p99_ms(&metrics, &before);
        println!(
            "ivr/paced/{big}: server step p99 <= {server_p99:.3} ms over {server_steps} steps (callpro_ivr_step_seconds bucket: reply read → next command about to be written, measured in the server)"
        );
        println!(
            "ivr/paced/{big}: step latency p99 {:.3} ms (target < 2 ms), p50 {:.3} ms, max {:.3} ms over {} steps (reply written → next command read, playback/think excluded); {:.0} sessions/s with {big} in progress ({complete} complete sessions in {:.1} s after a {:.1} s warm-up)",
            pct(&turnaround, 0.99),
            pct(&turnaround, 0.50),
            pct(&turnaround, 1.0),
            turnaround.len(),
            complete as f64 / window.as_secs_f64(),
            window.as_secs_f64(),
            warm_up.as_secs_f64(),
        );
    });
    let _ = stop.send(());
    server_rt.block_on(server).unwrap();
    println!(
        "ivr: {} sessions recorded, {} queued",
        sink.started.load(Ordering::Relaxed),
        sink.queued.load(Ordering::Relaxed)
    );
}

fn main() {
    // `cargo bench` passes --bench; anything else (cargo test --benches) is a quick smoke run.
    let full = std::env::args().any(|a| a == "--bench");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut criterion = Criterion::default().configure_from_args();
    if full {
        executor(&mut criterion);
    }
    over_fastagi(full);
    criterion.final_summary();
}
