//! `cargo bench --bench api`: latency of login and of an authenticated `GET /api/users` on the
//! embedded SQLite backend, over real HTTP on loopback. Prints p50/p99 from a fixed number of
//! sequential requests, then lets criterion measure the same two operations.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp};
use criterion::Criterion;
use reqwest::StatusCode;

const LOGINS: usize = 200;
const LISTS: usize = 2000;
const USERS: usize = 100;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let total: Duration = samples.iter().sum();
    println!(
        "{name}: n={} p50={:.2} ms p99={:.2} ms mean={:.2} ms",
        samples.len(),
        percentile(&samples, 0.50).as_secs_f64() * 1000.0,
        percentile(&samples, 0.99).as_secs_f64() * 1000.0,
        total.as_secs_f64() * 1000.0 / samples.len() as f64,
    );
}

async fn login(app: &TestApp) {
    let res = app.login_response(ADMIN_EMAIL, ADMIN_PASSWORD, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.bytes().await.unwrap();
}

async fn list_users(app: &TestApp, token: &str) {
    let res = app.get("/api/users?per_page=50", token).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.bytes().await.unwrap();
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (app, token) = rt.block_on(async {
        let app = TestApp::spawn_sqlite().await;
        let token = app.admin_token().await;
        let cc = app.call_center(&token, "Bench").await;
        for i in 0..USERS {
            app.user(&token, &format!("agent{i}@bench.test"), "agent", Some(cc))
                .await;
        }
        (app, token)
    });

    let logins = rt.block_on(async {
        let mut samples = Vec::with_capacity(LOGINS);
        for _ in 0..LOGINS {
            let started = Instant::now();
            login(&app).await;
            samples.push(started.elapsed());
        }
        samples
    });
    report("api/login (sqlite, argon2id)", logins);

    let lists = rt.block_on(async {
        for _ in 0..50 {
            list_users(&app, &token).await;
        }
        let mut samples = Vec::with_capacity(LISTS);
        for _ in 0..LISTS {
            let started = Instant::now();
            list_users(&app, &token).await;
            samples.push(started.elapsed());
        }
        samples
    });
    report("api/GET /api/users?per_page=50 (sqlite, 101 users)", lists);

    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    c.bench_function("api/login", |b| b.iter(|| rt.block_on(login(&app))));
    c.bench_function("api/list_users", |b| {
        b.iter(|| rt.block_on(list_users(&app, &token)))
    });
    c.final_summary();
    drop(app);
}
