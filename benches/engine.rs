//! `cargo bench --bench engine`: (a) AMI decode throughput over the recorded Asterisk captures,
//! 16 KiB reads into `AmiCodec`, every packet classified into a typed `Event`, on one core;
//! (b) FastAGI round trips through a real `AgiServer` on loopback, with in-process clients playing
//! Asterisk (`200 result=0` to every command), at 1, 100 and 1000 concurrent sessions with no
//! think time, then about 1000 sessions in progress at any time (callers re-dial when a call
//! ends; first calls spread over 100 ms; counted after a warm-up second) that think 0-100 ms,
//! to the microsecond, before each reply.
//!
//! Prints plain `engine/...:` lines. In the zero-think runs clients and server share one process
//! and one tokio runtime (one worker per core), so those numbers are for both ends on the same
//! cores. The paced run puts the server in a process of its own (this binary re-run as a bare
//! FastAGI server with one worker) beside the clients on one thread, one core each as when
//! Asterisk and callpro run side by side, so its peak RSS is the server's alone. Without
//! `--bench` (e.g. `cargo test --benches`) everything runs briefly as a smoke test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use callpro_engine::agi::{AgiConfig, AgiMetrics, AgiServer, AgiSession, HandlerResult, Router};
use callpro_engine::ami::{AmiCodec, AmiFrame, Event};
use criterion::{Criterion, Throughput};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Decoder;

const AMI_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/engine/tests/captures/ami");
const READ_SIZE: usize = 16 * 1024;
const COMMANDS: usize = 20;
const BANNER: &[u8] = b"Asterisk Call Manager/";

// ---------------------------------------------------------------- (a) AMI decode

/// The "in" bytes of every AMI capture, one stream; later captures lose their banner line so a
/// single codec (which expects one banner) reads the whole stream.
fn ami_stream() -> Vec<u8> {
    let mut files: Vec<_> = std::fs::read_dir(AMI_DIR)
        .unwrap_or_else(|e| panic!("{AMI_DIR}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let mut stream = Vec::new();
    for (i, path) in files.iter().enumerate() {
        let mut capture = Vec::new();
        for line in std::fs::read_to_string(path).unwrap().lines() {
            let record: serde_json::Value = serde_json::from_str(line).unwrap();
            if record["dir"] == "in" {
                // Latin-1: one char per byte.
                let text = record["bytes"].as_str().unwrap();
                capture.extend(text.chars().map(|c| u8::try_from(u32::from(c)).unwrap()));
            }
        }
        if i > 0 && capture.starts_with(BANNER) {
            let end = capture.iter().position(|b| *b == b'\n').unwrap();
            capture.drain(..=end);
        }
        stream.extend(capture);
    }
    stream
}

#[derive(Default, Debug, Clone, Copy, PartialEq)]
struct Decoded {
    packets: u64,
    events: u64,
    typed: u64,
}

fn decode_all(stream: &[u8]) -> Decoded {
    let mut codec = AmiCodec::default();
    let mut buf = BytesMut::with_capacity(2 * READ_SIZE);
    let mut n = Decoded::default();
    for read in stream.chunks(READ_SIZE) {
        buf.extend_from_slice(read);
        while let Some(frame) = codec.decode(&mut buf).unwrap() {
            let AmiFrame::Message(msg) = frame else {
                continue;
            };
            n.packets += 1;
            if let Some(event) = Event::parse(&msg) {
                n.events += 1;
                n.typed += u64::from(!matches!(event, Event::Other(_)));
                black_box(&event);
            }
        }
    }
    n
}

fn ami_decode(c: &mut Criterion, full: bool) {
    let stream = ami_stream();
    let per_pass = decode_all(&stream);
    let budget = if full {
        Duration::from_secs(3)
    } else {
        Duration::from_millis(200)
    };
    let started = Instant::now();
    let mut passes = 0u64;
    while started.elapsed() < budget {
        black_box(decode_all(black_box(&stream)));
        passes += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    let rate = |n: u64| (n * passes) as f64 / secs;
    println!(
        "engine/ami_decode: {:.2}M events/s, one core (events = every Event::parse result: {} typed + {} Other per pass; {:.2}M packets/s incl. responses; {:.0} MB/s; {} packets, {} KiB per pass)",
        rate(per_pass.events) / 1e6,
        per_pass.typed,
        per_pass.events - per_pass.typed,
        rate(per_pass.packets) / 1e6,
        rate(stream.len() as u64) / 1e6,
        per_pass.packets,
        stream.len() / 1024,
    );
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(per_pass.events));
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(3));
    group.bench_function("ami_decode", |b| b.iter(|| decode_all(black_box(&stream))));
    group.finish();
}

// ---------------------------------------------------------------- (b) FastAGI

/// Nanosecond samples collected by the handlers (u32: 4 s is plenty, halves the memory).
#[derive(Default)]
struct Samples {
    round_trip: Vec<u32>,
    step: Vec<u32>,
}

fn nanos(d: Duration) -> u32 {
    u32::try_from(d.as_nanos()).unwrap_or(u32::MAX)
}

/// 20 commands per session, a mix of the typed methods an IVR uses.
async fn bench_flow(mut s: AgiSession, samples: Arc<Mutex<Samples>>) -> HandlerResult {
    let mut rts = Vec::with_capacity(COMMANDS);
    let mut steps = Vec::with_capacity(COMMANDS);
    for i in 0..COMMANDS {
        let previous_reply = s.last_reply_at();
        let sent = Instant::now();
        match i % 4 {
            0 => s.answer().await?,
            1 => drop(s.stream_file("beep", "0123456789*#").await?),
            2 => drop(s.get_variable("CALLPRO_CAMPAIGN").await?),
            _ => drop(s.wait_for_digit(Duration::from_millis(1000)).await?),
        }
        rts.push(nanos(sent.elapsed()));
        // Reply decoded → next command written: the server's own share of a round trip.
        if let (Some(reply), Some(written)) = (previous_reply, s.last_command_at()) {
            steps.push(nanos(written.duration_since(reply)));
        }
    }
    let mut all = samples.lock().unwrap();
    all.round_trip.extend(rts);
    all.step.extend(steps);
    Ok(())
}

/// One Asterisk call: environment, then `200 result=0` to each command, optionally after a
/// uniform 0-100 ms think time. Returns (commands answered, client turnaround samples).
async fn play_call(addr: SocketAddr, think: Option<&mut u64>, turnaround: &mut Vec<u32>) -> usize {
    const ENV: &[u8] = b"agi_network: yes\nagi_network_script: bench?x=1\nagi_request: agi://127.0.0.1/bench?x=1\nagi_channel: Local/s@bench-00000001;2\nagi_language: en\nagi_type: Local\nagi_uniqueid: bench-1\nagi_version: 22.10.1\nagi_callerid: 0100000000\nagi_context: bench\nagi_extension: s\nagi_priority: 1\n\n";
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    stream.write_all(ENV).await.unwrap();
    let mut buf = [0u8; 256];
    let mut filled = 0;
    let mut answered = 0;
    let mut rng = think;
    let mut replied_at: Option<Instant> = None;
    loop {
        let n = match stream.read(&mut buf[filled..]).await {
            Ok(0) | Err(_) => return answered,
            Ok(n) => n,
        };
        filled += n;
        // Commands strictly alternate with replies, so at most one line is ever pending.
        if !buf[..filled].contains(&b'\n') {
            continue;
        }
        filled = 0;
        if let Some(at) = replied_at {
            turnaround.push(nanos(at.elapsed()));
        }
        if let Some(state) = rng.as_deref_mut() {
            think_for(Duration::from_micros(xorshift(state) % 100_000)).await;
        }
        if stream.write_all(b"200 result=0\n").await.is_err() {
            return answered;
        }
        replied_at = Some(Instant::now());
        answered += 1;
    }
}

/// Waits `duration` to the microsecond. tokio's timer has millisecond slots, so plain sleeps
/// would release every caller due in the same millisecond at once, a burst no set of Asterisk
/// channel threads produces; the last stretch is spent yielding instead.
async fn think_for(duration: Duration) {
    let deadline = Instant::now() + duration;
    if let Some(coarse) = duration.checked_sub(Duration::from_millis(2)) {
        tokio::time::sleep(coarse).await;
    }
    while Instant::now() < deadline {
        tokio::task::yield_now().await;
    }
}

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn pct(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() - 1) as f64 * p).round() as usize;
    f64::from(sorted[idx]) / 1000.0
}

struct Bench {
    addr: SocketAddr,
    samples: Arc<Mutex<Samples>>,
}

impl Bench {
    fn take(&self) -> Samples {
        std::mem::take(&mut *self.samples.lock().unwrap())
    }

    /// `clients` concurrent callers, each calling again until `until` (zero think time).
    async fn flood(&self, clients: usize, budget: Duration) -> (usize, f64) {
        let until = Instant::now() + budget;
        let started = Instant::now();
        let tasks: Vec<_> = (0..clients)
            .map(|_| {
                let addr = self.addr;
                tokio::spawn(async move {
                    let (mut sessions, mut scratch) = (0, Vec::new());
                    while Instant::now() < until {
                        play_call(addr, None, &mut scratch).await;
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
        (sessions, started.elapsed().as_secs_f64())
    }
}

fn report_flood(label: &str, clients: usize, sessions: usize, secs: f64, s: &Samples) {
    let mut rt = s.round_trip.clone();
    rt.sort_unstable();
    println!(
        "engine/agi_rt/{label}: {:.0} rt/s, round trip p50 {:.1} µs p99 {:.1} µs ({clients} concurrent sessions, {COMMANDS} commands each, {sessions} sessions in {secs:.1} s; rt = command written → reply decoded, server side)",
        rt.len() as f64 / secs,
        pct(&rt, 0.50),
        pct(&rt, 0.99),
    );
}

fn proc_status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn fastagi(full: bool) {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap();
    // Each session costs two descriptors here (server and client side of the socket).
    let mut big = 1000;
    if let Some(limit) = open_files_limit().filter(|l| *l < 2200) {
        big = usize::try_from(limit.saturating_sub(100) / 2)
            .unwrap_or(0)
            .max(1);
        println!(
            "engine/agi: open-file limit {limit} < 2200, using {big} sessions (raise it: ulimit -n 4096)"
        );
    }
    let budget = if full {
        Duration::from_millis(2500)
    } else {
        Duration::from_millis(200)
    };
    rt.block_on(async {
        let samples = Arc::new(Mutex::new(Samples::default()));
        let flow_samples = samples.clone();
        let router = Router::new().route("bench", move |s: AgiSession| {
            bench_flow(s, flow_samples.clone())
        });
        let config = AgiConfig {
            max_sessions: 4096,
            ..AgiConfig::default()
        };
        let metrics = AgiMetrics::new(&Default::default()).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = AgiServer::new(config).with_metrics(metrics);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server.run(listener, router, async move { drop(stopped.await) }));
        let bench = Bench { addr, samples };

        for (label, clients) in [("1", 1), ("100", 100), ("1000", big)] {
            let (sessions, secs) = bench.flood(clients, budget).await;
            report_flood(label, clients, sessions, secs, &bench.take());
        }

        let _ = stop.send(());
        task.await.unwrap();
    });
    drop(rt);
    // The paced clients play Asterisk from one thread, leaving the other core to the server
    // process, as on a machine where Asterisk and callpro each have their own cores.
    let clients = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    clients.block_on(paced(big, full));
}

/// Env var that turns this bench binary into a bare FastAGI server (the paced run's server
/// process, so its peak RSS is the server's alone).
const SERVER_ROLE: &str = "CALLPRO_BENCH_AGI_SERVER";

/// The paced run: a separate server process (this binary re-run with [`SERVER_ROLE`]) and
/// `big` callers here, each calling again when its call ends, that think 0-100 ms before each
/// reply, as Asterisk does while a command runs.
async fn paced(big: usize, full: bool) {
    use std::process::Stdio;
    use tokio::io::AsyncBufReadExt as _;
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .env(SERVER_ROLE, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next_line().await.unwrap().unwrap();
    let addr: SocketAddr = first.strip_prefix("listening ").unwrap().parse().unwrap();
    let idle_kib = child_rss_kib(&child).unwrap_or(0);

    // Callers re-dial as soon as their call ends, so about `big` sessions are in progress at
    // any time; first calls start spread over 100 ms (calls do not all arrive in the same
    // millisecond) and only calls begun after a warm-up second are counted.
    let (warm_up, window) = if full {
        (Duration::from_secs(1), Duration::from_secs(6))
    } else {
        (Duration::from_millis(100), Duration::from_millis(300))
    };
    let started = Instant::now();
    let measure_from = started + warm_up;
    let until = measure_from + window;
    let tasks: Vec<_> = (0..big)
        .map(|i| {
            tokio::spawn(async move {
                let mut seed = 0x9E37_79B9_7F4A_7C15_u64 ^ (i as u64 + 1);
                tokio::time::sleep(Duration::from_micros(xorshift(&mut seed) % 100_000)).await;
                let (mut turn, mut scratch, mut answered) = (Vec::new(), Vec::new(), 0);
                while Instant::now() < until {
                    let began = Instant::now();
                    let n = play_call(addr, Some(&mut seed), &mut scratch).await;
                    if began >= measure_from {
                        turn.append(&mut scratch);
                        answered += n;
                    }
                    scratch.clear();
                }
                (turn, answered)
            })
        })
        .collect();
    let mut turnaround = Vec::new();
    let mut answered = 0;
    for t in tasks {
        let (turn, n) = t.await.unwrap();
        turnaround.extend(turn);
        answered += n;
    }
    let secs = started.elapsed().as_secs_f64() - warm_up.as_secs_f64();
    // Closing stdin asks the server for its figures.
    drop(child.stdin.take());
    let mut step = (0usize, f64::NAN, f64::NAN);
    let mut hwm_kib = 0u64;
    while let Some(line) = lines.next_line().await.unwrap() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        match parts.as_slice() {
            ["steps", n, p50, p99] => {
                step = (
                    n.parse().unwrap(),
                    p50.parse().unwrap(),
                    p99.parse().unwrap(),
                );
            }
            ["hwm", kib] => hwm_kib = kib.parse().unwrap(),
            _ => {}
        }
    }
    child.wait().await.unwrap();
    turnaround.sort_unstable();
    println!(
        "engine/agi_paced/{big}: server step p99 {:.1} µs (p50 {:.1} µs over {} steps; reply decoded → next command written, measured in the server), client turnaround p99 {:.1} µs (reply written → next command read, think excluded), {:.0} rt/s with {big} sessions in progress, counted over {secs:.1} s after a {:.1} s warm-up",
        step.2,
        step.1,
        step.0,
        pct(&turnaround, 0.99),
        answered as f64 / secs,
        warm_up.as_secs_f64(),
    );
    println!(
        "engine/agi_paced/{big}: server peak RSS {:.1} MiB (VmHWM of the server process alone, clients in another process; {:.1} MiB idle before the run)",
        hwm_kib as f64 / 1024.0,
        idle_kib as f64 / 1024.0,
    );
}

fn child_rss_kib(child: &tokio::process::Child) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()?)).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The server process of the paced run: serves the bench flow on an ephemeral port, prints
/// `listening ADDR`, and when stdin closes prints `steps N P50_NS P99_NS` and `hwm KIB`.
///
/// The clients keep one core busy, so the server gets the other: one worker thread (more
/// workers than free cores only add context switches to the tail). On a bigger machine,
/// `CALLPRO_BENCH_SERVER_WORKERS=N` gives it more.
fn agi_server_process() {
    let workers = std::env::var("CALLPRO_BENCH_SERVER_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let samples = Arc::new(Mutex::new(Samples::default()));
        let flow_samples = samples.clone();
        let router = Router::new().route("bench", move |s: AgiSession| {
            bench_flow(s, flow_samples.clone())
        });
        let config = AgiConfig {
            max_sessions: 4096,
            ..AgiConfig::default()
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("listening {}", listener.local_addr().unwrap());
        let stop = async {
            let mut sink = Vec::new();
            let _ = tokio::io::stdin().read_to_end(&mut sink).await;
        };
        AgiServer::new(config).run(listener, router, stop).await;
        let mut steps = std::mem::take(&mut samples.lock().unwrap().step);
        steps.sort_unstable();
        println!(
            "steps {} {:.1} {:.1}",
            steps.len(),
            pct(&steps, 0.50),
            pct(&steps, 0.99)
        );
        println!("hwm {}", proc_status_kib("VmHWM:").unwrap_or(0));
    });
}

fn main() {
    if std::env::var_os(SERVER_ROLE).is_some() {
        return agi_server_process();
    }
    // `cargo bench` passes --bench; anything else (cargo test --benches) is a quick smoke run.
    let full = std::env::args().any(|a| a == "--bench");
    let mut criterion = Criterion::default().configure_from_args();
    ami_decode(&mut criterion, full);
    fastagi(full);
    criterion.final_summary();
}
