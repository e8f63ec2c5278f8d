//! `cargo bench --bench leads`: the public lead intake and the lead search, over real HTTP on
//! loopback against the real server ([`TestApp`]).
//!
//! - `leads/intake`: [`INTAKE_CLIENTS`] concurrent clients post valid JSON leads (distinct
//!   names, emails and phones) to `POST /f/{slug}` of a double opt-in form on the file-backed
//!   SQLite database, rate limits off (`leads.per_ip_per_minute = 0`,
//!   `leads.per_form_per_minute = 0`). Every accepted lead is stored with its timeline, its
//!   confirmation token and its confirmation email queued in the outbox, in one transaction;
//!   the outbox worker does not run (the test harness never starts it), so this is intake, not
//!   delivery. Prints leads/s and p50/p99 latency, then checks that the leads table and the
//!   outbox hold exactly one row per post. Target: >= 1000 leads/s.
//! - `leads/search/<backend>`: p50/p95/p99 of `GET /api/leads?q=..&stage=..&created_from=..`
//!   as the call center's owner: a text query (in turn a last name, the local part of an
//!   email, or the start of a phone number typed as `06 12 34 56`) plus two filters (the
//!   stage, and created within the 90 days before a date), each query taken from a real
//!   seeded lead so that it finds at least that lead. Every answer is checked: 200, at least
//!   one match, and every lead returned matching the term and both filters. The leads are
//!   seeded straight into the database with bulk SQL (names from lists, emails, valid E.164
//!   phones, the submitted fields as intake stores them, stages over the whole lifecycle with
//!   the timestamps and agents that go with them, four forms, eight agents; submitted over a
//!   year, oldest first as intake stores them, recent leads still pending or assigned);
//!   the text indexes are the product's own (the SQLite FTS5 table is filled by its triggers;
//!   PostgreSQL is vacuumed and analyzed after seeding, as autovacuum would). 100,000 leads on
//!   SQLite (target p95 < 100 ms); 1,000,000 on PostgreSQL when `CALLPRO_TEST_POSTGRES_URL` is
//!   set (target p95 < 50 ms).
//! - criterion: one intake post, and one search on the SQLite leads.
//!
//! Without `--bench` (e.g. `cargo test --benches`) everything runs briefly as a smoke test:
//! 200 posts, 2,000 seeded leads per backend.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use callpro_api::db::schema::{email_outbox, leads};
use callpro_api::models::lead::Lead;
use chrono::{DateTime, NaiveDateTime, Utc};
use common::{TestApp, USER_PASSWORD, body};
use criterion::Criterion;
use diesel::connection::SimpleConnection as _;
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Concurrent HTTP clients posting leads.
const INTAKE_CLIENTS: usize = 16;
/// Forms and agents of the searched call center.
const FORMS: usize = 4;
const AGENTS: usize = 8;
/// Search queries run (untimed) before the timed ones.
const WARMUP_QUERIES: usize = 20;
/// The `created_from` filter: this many days before the sample lead's submission.
const CREATED_WINDOW_DAYS: i64 = 90;

/// First names (ASCII: emails are made from them).
const FIRST_NAMES: &str = "\
    Jeanne Marie Camille Lea Manon Chloe Emma Ines Sarah Julie Laura Pauline Claire Sophie \
    Nathalie Isabelle Sylvie Catherine Christine Anne Valerie Sandrine Celine Aurelie Elodie \
    Lucie Alice Louise Juliette Zoe Fatima Amina Nadia Paul Jean Pierre Louis Lucas Hugo \
    Thomas Nicolas Julien Antoine Alexandre Maxime Quentin Romain Kevin Mathieu Guillaume \
    Florian Vincent Sebastien Olivier Philippe Michel Alain Patrick Eric Laurent Stephane \
    Christophe Frederic David Arnaud Yann Karim Mehdi Samir Youssef";
static FIRST: LazyLock<Vec<&str>> = LazyLock::new(|| FIRST_NAMES.split_whitespace().collect());

/// Last names.
const LAST_NAMES: &str = "\
    Martin Bernard Thomas Petit Robert Richard Durand Dubois Moreau Laurent Simon Michel \
    Lefebvre Leroy Roux David Bertrand Morel Fournier Girard Bonnet Dupont Lambert Fontaine \
    Rousseau Vincent Muller Lefevre Faure Andre Mercier Blanc Guerin Boyer Garnier Chevalier \
    Francois Legrand Gauthier Garcia Perrin Robin Clement Morin Nicolas Henry Roussel Mathieu \
    Gautier Masson Marchand Duval Denis Dumont Marie Lemaire Noel Meyer Dufour Meunier Brun \
    Blanchard Giraud Joly Riviere Lucas Brunet Gaillard Barbier Arnaud Martinez Gerard Roche \
    Renard Schmitt Roy Leroux Colin Vidal Caron Picard Roger Fabre Aubert Lemoine Renaud Dumas \
    Lacroix Olivier Philippe Bourgeois Pierre Benoit Rey Leclerc Payet Rolland Leclercq \
    Guillaume Lecomte Lopez Jean Dupuy Guillot Hubert Berger Carpentier Sanchez Dupuis Moulin \
    Louis Deschamps Huet Vasseur Perez Boucher Fleury Royer Klein Jacquet Adam Paris Poirier \
    Marty Aubry Guyot Carre Charles Renault Charpentier Menard Maillard Baron Bertin Bailly \
    Herve Schneider Fernandez Collet Leger Bouvier Julien Prevost Millet Perrot Daniel Cousin \
    Germain Breton Besson Langlois Remy Pelletier Leveque Perrier Leblanc Barre Lebrun Marchal \
    Weber Mallet Hamon Boulanger Jacob Monnier Michaud Rodriguez Guichard Gillet Etienne \
    Grondin Poulain Tessier Chevallier Collin Chauvin Bouchet Gay Lemaitre Benard Marechal \
    Humbert Reynaud Antoine Hoarau Perret Barthelemy Cordier Pichon Lejeune Gilbert Lamy \
    Delaunay Pasquier Carlier Laporte";
static LAST: LazyLock<Vec<&str>> = LazyLock::new(|| LAST_NAMES.split_whitespace().collect());

const DOMAINS: &[&str] = &[
    "gmail.com",
    "orange.fr",
    "hotmail.fr",
    "yahoo.fr",
    "free.fr",
    "outlook.fr",
    "laposte.net",
    "sfr.fr",
];

/// Digits that may follow `06` in a valid French mobile number.
const MOBILE_SECOND: &str = "01245678";

const PROJECTS: &[&str] = &["roof", "carport", "veranda", "insulation"];

/// How big each part runs.
struct Sizes {
    intake: usize,
    sqlite_leads: usize,
    postgres_leads: usize,
    queries: usize,
}

impl Sizes {
    fn new(full: bool) -> Self {
        if full {
            Self {
                intake: 10_000,
                sqlite_leads: 100_000,
                postgres_leads: 1_000_000,
                queries: 200,
            }
        } else {
            Self {
                intake: 200,
                sqlite_leads: 2_000,
                postgres_leads: 2_000,
                queries: 30,
            }
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `1k`, `100k`, `1m`: the size in a figure's name.
fn short(n: usize) -> String {
    if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        format!("{}m", n / 1_000_000)
    } else if n >= 1000 && n.is_multiple_of(1000) {
        format!("{}k", n / 1000)
    } else {
        n.to_string()
    }
}

/// Percent-encodes a query-string value.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            write!(out, "%{b:02X}").unwrap();
        }
    }
    out
}

// ---------------------------------------------------------------- the call center

/// A call center with its owner, agents, an SMTP profile (pointing at nothing: no worker
/// delivers), a confirmation template and double opt-in forms.
struct Center {
    app: TestApp,
    call_center_id: i64,
    owner: String,
    forms: Vec<(i64, String)>,
    agents: Vec<i64>,
}

async fn center(pg_url: Option<String>, forms: usize, agents: usize) -> Center {
    let app = TestApp::spawn_on(pg_url, |c| {
        c.http.public_url = Some("https://leads.callpro.test".into());
        c.leads.per_ip_per_minute = 0;
        c.leads.per_form_per_minute = 0;
    })
    .await;
    let admin = app.admin_token().await;
    let call_center_id = app.call_center(&admin, "Bench").await;
    app.user(&admin, "owner@bench.test", "owner", Some(call_center_id))
        .await;
    let owner = app.login("owner@bench.test", USER_PASSWORD).await;
    let mut agent_ids = Vec::with_capacity(agents);
    for i in 0..agents {
        let email = format!("agent{i}@bench.test");
        agent_ids.push(
            app.user(&admin, &email, "agent", Some(call_center_id))
                .await,
        );
    }
    let (profile, template) = app.opt_in_email(&owner, 9).await;
    let mut form_ids = Vec::with_capacity(forms);
    for i in 0..forms {
        let slug = format!("solar{i}");
        let res = app
            .post(
                "/api/forms",
                &owner,
                json!({
                    "name": format!("Solar panels {i}"),
                    "slug": slug,
                    "fields": [
                        {"name": "first_name", "label": "First name", "type": "text", "required": true, "max_length": 50},
                        {"name": "last_name", "label": "Last name", "type": "text"},
                        {"name": "email", "label": "Email", "type": "email", "required": true},
                        {"name": "phone", "label": "Phone", "type": "phone", "required": true, "default_country": "FR"},
                        {"name": "project", "label": "Project", "type": "select", "required": true,
                         "options": PROJECTS},
                        {"name": "zip", "label": "Postcode", "type": "text", "pattern": "[0-9]{5}"},
                        {"name": "consent", "label": "I agree to be called", "type": "checkbox", "required": true}
                    ],
                    "smtp_profile_id": profile,
                    "email_template_id": template,
                    "double_opt_in": true,
                    "consent_text": "We call you about your project only."
                }),
            )
            .await;
        let status = res.status();
        let form = body(res).await;
        assert_eq!(status, StatusCode::CREATED, "{form}");
        form_ids.push((form["id"].as_i64().unwrap(), slug));
    }
    Center {
        app,
        call_center_id,
        owner,
        forms: form_ids,
        agents: agent_ids,
    }
}

// ---------------------------------------------------------------- intake

/// The `i`-th posted lead: distinct email and phone for every `i`.
fn submission(i: usize) -> Value {
    let first = FIRST[i % FIRST.len()];
    let last = LAST[(i * 7 + i / FIRST.len()) % LAST.len()];
    let domain = DOMAINS[i % DOMAINS.len()];
    // A valid French mobile number (06 then 0-2 or 4-8, then seven digits); 73939133 is
    // prime to 10^7: distinct numbers for distinct i below 10^7.
    let digits = (i * 73_939_133 + 1_234_567) % 10_000_000;
    let d = format!(
        "{}{digits:07}",
        MOBILE_SECOND.as_bytes()[i % MOBILE_SECOND.len()] as char
    );
    json!({
        "first_name": first,
        "last_name": last,
        "email": format!("{}.{}.{i}@{domain}", first.to_lowercase(), last.to_lowercase()),
        "phone": format!("06 {} {} {} {}", &d[0..2], &d[2..4], &d[4..6], &d[6..8]),
        "project": PROJECTS[i % PROJECTS.len()],
        "zip": format!("{:05}", (i * 7919) % 100_000),
        "consent": true,
    })
}

/// Posts the `i`-th lead and checks it was accepted.
async fn post_lead(client: &reqwest::Client, url: &str, i: usize) {
    let res = client.post(url).json(&submission(i)).send().await.unwrap();
    let status = res.status();
    let answer = res.bytes().await.unwrap();
    assert_eq!(
        status,
        StatusCode::CREATED,
        "lead {i}: {}",
        String::from_utf8_lossy(&answer)
    );
}

/// `clients` clients post leads `0..total` between them; the elapsed time and every latency.
async fn flood(
    url: &str,
    client: &reqwest::Client,
    total: usize,
    clients: usize,
) -> (Duration, Vec<Duration>) {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let next = next.clone();
            let client = client.clone();
            let url = url.to_owned();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        return latencies;
                    }
                    let sent = Instant::now();
                    post_lead(&client, &url, i).await;
                    latencies.push(sent.elapsed());
                }
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(total);
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    (started.elapsed(), latencies)
}

async fn intake(center: &Center, total: usize) {
    let app = &center.app;
    let url = format!("{}/f/{}", app.base, center.forms[0].1);
    let (elapsed, mut latencies) = flood(&url, &app.client, total, INTAKE_CLIENTS).await;
    latencies.sort();
    println!(
        "leads/intake: {total} leads in {:.2} s = {:.0} leads/s (target >= 1000), {INTAKE_CLIENTS} \
         concurrent clients, SQLite file, double opt-in email queued per lead",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
    );
    println!(
        "leads/intake latency: p50={:.2} ms p99={:.2} ms max={:.2} ms",
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
        ms(*latencies.last().unwrap()),
    );
    let (stored, pending, queued, queued_leads) = app
        .state
        .db
        .run(|conn| {
            let stored: i64 = leads::table.count().get_result(conn)?;
            let pending: i64 = leads::table
                .filter(leads::stage.eq("pending_email"))
                .count()
                .get_result(conn)?;
            let queued: i64 = email_outbox::table
                .filter(email_outbox::status.eq("queued"))
                .count()
                .get_result(conn)?;
            let queued_leads = email_outbox::table
                .select(email_outbox::lead_id)
                .distinct()
                .load::<Option<i64>>(conn)?
                .into_iter()
                .flatten()
                .count() as i64;
            Ok((stored, pending, queued, queued_leads))
        })
        .await
        .unwrap();
    let total = total as i64;
    assert_eq!(stored, total, "leads stored");
    assert_eq!(pending, total, "leads waiting for their confirmation");
    assert_eq!(queued, total, "confirmation emails queued");
    assert_eq!(queued_leads, total, "one confirmation email per lead");
    println!(
        "leads/intake check: {stored} leads (all pending_email), {queued} confirmation emails \
         queued for {queued_leads} distinct leads: nothing lost"
    );
}

// ---------------------------------------------------------------- seeding

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Sqlite,
    Postgres,
}

/// `(VALUES (0, 'a'), (1, 'b'))`.
fn values<T: std::fmt::Display>(items: &[T], quote: bool) -> String {
    let rows: Vec<String> = items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            if quote {
                format!("({i}, '{v}')")
            } else {
                format!("({i}, {v})")
            }
        })
        .collect();
    format!("(VALUES {})", rows.join(", "))
}

/// One statement inserting leads `1..=n` of `call_center_id`, shaped like what intake and the
/// lifecycle write: the submitted fields as intake stores them (every field, keys sorted,
/// phone in E.164), a stage over the whole lifecycle with the timestamps, confirmation and
/// agent that go with it, a form. They were submitted over the year before `base`, evenly,
/// oldest first: ids grow with `created_at` as when intake stored them one by one.
///
/// Each row's attributes come from multiplicative hashes of its number (the high 16 bits of
/// `n * odd constant mod 2^32`), so the data is varied yet the same on both backends.
fn seed_sql(
    dialect: Dialect,
    n: usize,
    call_center_id: i64,
    forms: &[i64],
    agents: &[i64],
    base: NaiveDateTime,
) -> String {
    let base = base.format("%Y-%m-%d %H:%M:%S");
    let seq = match dialect {
        Dialect::Sqlite => {
            format!("seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {n})")
        }
        Dialect::Postgres => {
            format!("seq(n) AS (SELECT generate_series(1::bigint, {n}::bigint))")
        }
    };
    let pad = |expr: &str, width: usize| match dialect {
        Dialect::Sqlite => format!("printf('%0{width}d', {expr})"),
        Dialect::Postgres => format!("lpad(CAST({expr} AS TEXT), {width}, '0')"),
    };
    // A timestamp `off` seconds before `base`, as each backend stores one.
    let ts = |off: &str| match dialect {
        Dialect::Sqlite => format!("datetime('{base}', '-' || ({off}) || ' seconds')"),
        Dialect::Postgres => format!("(TIMESTAMP '{base}' - ({off}) * INTERVAL '1 second')"),
    };
    let hash = |mult: u64| format!("((n * {mult}) % 4294967296) / 65536");
    // Valid French mobile numbers in E.164, as intake stores them: +337 then 8, or +336 then
    // 0-2 or 4-8; seven digits after that.
    let phone = format!(
        "CASE WHEN h6 / 365 % 5 = 0 THEN '+3378' || {pad7} \
         ELSE '+336' || substr('{MOBILE_SECOND}', CAST(1 + h6 % 8 AS INTEGER), 1) || {pad7} END",
        pad7 = pad("digits % 10000000", 7),
    );
    let zip = pad("h7 * 100000 / 65536", 5);
    let (nf, nl, nd, np) = (FIRST.len(), LAST.len(), DOMAINS.len(), PROJECTS.len());
    let (nforms, nagents) = (forms.len(), agents.len());
    // The stage goes with the age: within a week of the post, leads wait for their click or
    // their call; older ones are mostly settled (a pending lead becomes unreachable after a
    // week).
    let stage = "CASE WHEN created_off < 604800 THEN \
                   CASE WHEN h4 % 100 < 40 THEN 'pending_email' \
                        WHEN h4 % 100 < 45 THEN 'email_confirmed' \
                        WHEN h4 % 100 < 90 THEN 'assigned' \
                        WHEN h4 % 100 < 97 THEN 'call_confirmed' \
                        ELSE 'invalid' END \
                 WHEN h4 % 100 < 3 THEN 'email_confirmed' \
                 WHEN h4 % 100 < 18 THEN 'assigned' \
                 WHEN h4 % 100 < 43 THEN 'call_confirmed' \
                 WHEN h4 % 100 < 58 THEN 'rejected' \
                 WHEN h4 % 100 < 78 THEN 'unreachable' \
                 WHEN h4 % 100 < 93 THEN 'converted' \
                 ELSE 'invalid' END";
    // Confirmed: the link was followed (within the hour); handed to an agent at once, except
    // for `email_confirmed` (no agent was free). Unreachable, invalid and pending leads never
    // confirmed.
    let confirmed =
        "stage IN ('email_confirmed', 'assigned', 'call_confirmed', 'rejected', 'converted')";
    let assigned = "stage IN ('assigned', 'call_confirmed', 'rejected', 'converted')";
    format!(
        "WITH RECURSIVE {seq},
        firsts(i, name) AS {firsts},
        lasts(i, name) AS {lasts},
        domains(i, name) AS {domains},
        projects(i, name) AS {projects},
        form_ids(i, id) AS {forms},
        agent_ids(i, id) AS {agents},
        h AS (SELECT n, {h1} AS h1, {h2} AS h2, {h3} AS h3, {h4} AS h4, {h5} AS h5,
                     {h6} AS h6, {h7} AS h7, {h8} AS h8, (n * 73939133) % 100000000 AS digits,
                     30 + ({n} - n) * 31536000 / {n} AS created_off
              FROM seq),
        r AS (SELECT h.*, f.name AS fname, l.name AS lname, d.name AS domain, p.name AS project,
                     fm.id AS form_id, ag.id AS agent_id, {stage} AS stage,
                     3600 + (h5 / 16 % 72) * 3600 AS later,
                     60 + (h5 / 1152 % 56) * 60 AS click
              FROM h
              JOIN firsts f ON f.i = h1 % {nf}
              JOIN lasts l ON l.i = h2 % {nl}
              JOIN domains d ON d.i = h3 % {nd}
              JOIN projects p ON p.i = h4 / 100 % {np}
              JOIN form_ids fm ON fm.i = h4 / 400 % {nforms}
              JOIN agent_ids ag ON ag.i = h5 % {nagents}),
        e AS (SELECT r.*,
                     lower(fname) || CASE h3 / 800 % 3 WHEN 0 THEN '.' WHEN 1 THEN '' ELSE '_' END
                       || lower(lname)
                       || CASE WHEN h3 / 8 % 100 < 40 THEN '' ELSE CAST(h3 / 8 % 100 AS TEXT) END
                       || '@' || domain AS email,
                     {phone} AS phone,
                     {zip} AS zip,
                     '10.' || CAST(h8 / 256 AS TEXT) || '.' || CAST(h8 % 256 AS TEXT) || '.'
                       || CAST(h7 % 254 + 1 AS TEXT) AS ip
              FROM r)
        INSERT INTO leads (call_center_id, phone, region, time_zone, first_name, last_name, email,
                           fields, priority, status, attempts, created_at, updated_at, form_id,
                           stage, assigned_user_id, assigned_at, stage_changed_at,
                           email_confirmed_at, submitted_ip, confirmed_ip, reminders_sent)
        SELECT {call_center_id}, phone, 'FR', 'Europe/Paris', fname, lname, email,
               '{{\"consent\":true,\"email\":\"' || email || '\",\"first_name\":\"' || fname
                 || '\",\"last_name\":\"' || lname || '\",\"phone\":\"' || phone
                 || '\",\"project\":\"' || project || '\",\"zip\":\"' || zip || '\"}}',
               0, 'new', 0,
               {created},
               CASE WHEN stage = 'pending_email' THEN {created}
                    WHEN stage IN ('email_confirmed', 'assigned') THEN {clicked}
                    ELSE {later} END,
               form_id, stage,
               CASE WHEN {assigned} THEN agent_id END,
               CASE WHEN {assigned} THEN {clicked} END,
               CASE WHEN stage = 'pending_email' THEN {created}
                    WHEN stage IN ('email_confirmed', 'assigned') THEN {clicked}
                    ELSE {later} END,
               CASE WHEN {confirmed} THEN {clicked} END,
               ip,
               CASE WHEN {confirmed} THEN ip END,
               CASE WHEN stage = 'pending_email' THEN h5 % 3
                    WHEN stage = 'unreachable' THEN 2 ELSE 0 END
        FROM e",
        firsts = values(&FIRST, true),
        lasts = values(&LAST, true),
        domains = values(DOMAINS, true),
        projects = values(PROJECTS, true),
        forms = values(forms, false),
        agents = values(agents, false),
        h1 = hash(2_654_435_761),
        h2 = hash(2_246_822_519),
        h3 = hash(3_266_489_917),
        h4 = hash(668_265_263),
        h5 = hash(374_761_393),
        h6 = hash(2_869_860_233),
        h7 = hash(3_323_198_485),
        h8 = hash(1_103_515_245),
        created = ts("created_off"),
        clicked = ts("CASE WHEN created_off > click THEN created_off - click ELSE 0 END"),
        later = ts("CASE WHEN created_off > later THEN created_off - later ELSE 0 END"),
    )
}

/// Seeds `n` leads into `center`; the time the insert took and, on PostgreSQL, the time of the
/// `VACUUM (ANALYZE)` after it.
async fn seed(center: &Center, n: usize) -> (Duration, Option<Duration>) {
    let dialect = match center.app.state.db.kind() {
        callpro_api::db::BackendKind::Sqlite => Dialect::Sqlite,
        callpro_api::db::BackendKind::Postgres => Dialect::Postgres,
    };
    let forms: Vec<i64> = center.forms.iter().map(|(id, _)| *id).collect();
    let sql = seed_sql(
        dialect,
        n,
        center.call_center_id,
        &forms,
        &center.agents,
        callpro_api::db::now(),
    );
    let took = center
        .app
        .state
        .db
        .run(move |conn| {
            let started = Instant::now();
            Ok(match dialect {
                // One transaction: the FTS5 triggers fill the text index row by row.
                Dialect::Sqlite => {
                    conn.batch_execute(&format!("BEGIN IMMEDIATE; {sql}; COMMIT;"))?;
                    (started.elapsed(), None)
                }
                Dialect::Postgres => {
                    conn.batch_execute(&sql)?;
                    let inserted = started.elapsed();
                    // What autovacuum does after a bulk load: visibility map, GIN pending list
                    // merged, statistics for the planner.
                    conn.batch_execute("VACUUM (ANALYZE) leads")?;
                    (inserted, Some(started.elapsed() - inserted))
                }
            })
        })
        .await
        .unwrap();
    let stored: i64 = center
        .app
        .state
        .db
        .run(|conn| Ok(leads::table.count().get_result(conn)?))
        .await
        .unwrap();
    assert_eq!(stored, n as i64, "leads seeded");
    took
}

// ---------------------------------------------------------------- search

/// What a query looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Term {
    Name,
    Email,
    Phone,
}

/// One search and how to check its answer.
struct Query {
    term: Term,
    q: String,
    stage: String,
    created_from: NaiveDateTime,
}

impl Query {
    /// A query that finds at least `lead`.
    fn from_lead(lead: &Lead, term: Term) -> Self {
        let q = match term {
            Term::Name => lead.last_name.clone().unwrap(),
            Term::Email => {
                let email = lead.email.as_deref().unwrap();
                email.split('@').next().unwrap().to_owned()
            }
            Term::Phone => {
                // +33612345678 as typed on the phone's national form, first four pairs:
                // "06 12 34 56".
                let national = format!("0{}", lead.phone.strip_prefix("+33").unwrap());
                let pairs: Vec<&str> = (0..4).map(|k| &national[k * 2..k * 2 + 2]).collect();
                pairs.join(" ")
            }
        };
        let created_from = (lead.created_at - chrono::Duration::days(CREATED_WINDOW_DAYS))
            .date()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        Self {
            term,
            q,
            stage: lead.stage.clone(),
            created_from,
        }
    }

    fn path(&self) -> String {
        format!(
            "/api/leads?q={}&stage={}&created_from={}",
            encode(&self.q),
            self.stage,
            encode(&self.created_from.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        )
    }

    /// Checks an answer: at least one match, every lead matching the term and both filters.
    /// The number of matches.
    fn check(&self, found: &Value) -> i64 {
        let total = found["total"].as_i64().unwrap();
        let items = found["items"].as_array().unwrap();
        assert!(
            total >= 1,
            "{}: the lead it was made from is not found",
            self.path()
        );
        assert_eq!(items.len() as i64, total.min(50), "{}", self.path());
        let from = self.created_from.and_utc();
        for item in items {
            assert_eq!(item["stage"], self.stage.as_str(), "{}", self.path());
            let created: DateTime<Utc> = item["created_at"].as_str().unwrap().parse().unwrap();
            assert!(created >= from, "{}: created {created}", self.path());
            let text = format!(
                "{} {} {} {} {}",
                item["first_name"].as_str().unwrap_or(""),
                item["last_name"].as_str().unwrap_or(""),
                item["email"].as_str().unwrap_or(""),
                item["phone"].as_str().unwrap_or(""),
                item["fields"]
            )
            .to_lowercase();
            let wanted = match self.term {
                Term::Phone => {
                    let digits: String = self.q.chars().filter(char::is_ascii_digit).collect();
                    digits.trim_start_matches('0').to_owned()
                }
                _ => self.q.to_lowercase(),
            };
            assert!(text.contains(&wanted), "{}: {item}", self.path());
        }
        total
    }
}

/// `count` queries made from leads spread over the table, cycling through the kinds of term.
async fn queries(center: &Center, count: usize) -> Vec<Query> {
    let (min, max): (Option<i64>, Option<i64>) = center
        .app
        .state
        .db
        .run(|conn| {
            Ok(leads::table
                .select((diesel::dsl::min(leads::id), diesel::dsl::max(leads::id)))
                .get_result(conn)?)
        })
        .await
        .unwrap();
    let (min, max) = (min.unwrap(), max.unwrap());
    let span = (max - min + 1) as u64;
    let ids: Vec<i64> = (0..count as u64)
        .map(|k| min + ((k * 2_654_435_761 + 17) % span) as i64)
        .collect();
    let wanted = ids.clone();
    let mut sample: Vec<Lead> = center
        .app
        .state
        .db
        .run(move |conn| {
            Ok(leads::table
                .filter(leads::id.eq_any(wanted))
                .select(Lead::as_select())
                .load(conn)?)
        })
        .await
        .unwrap();
    // In the order of `ids`, so that the kinds of term alternate.
    sample.sort_by_key(|l| ids.iter().position(|id| *id == l.id));
    let kinds = [Term::Name, Term::Email, Term::Phone];
    sample
        .iter()
        .enumerate()
        .map(|(k, lead)| Query::from_lead(lead, kinds[k % kinds.len()]))
        .collect()
}

async fn search(app: &TestApp, token: &str, query: &Query) -> i64 {
    let res = app.get(&query.path(), token).await;
    let status = res.status();
    let found = body(res).await;
    assert_eq!(status, StatusCode::OK, "{}: {found}", query.path());
    query.check(&found)
}

/// Runs the queries one after the other and prints the figures as `name`.
async fn search_figures(center: &Center, name: &str, count: usize, target_p95_ms: f64) {
    let all = queries(center, WARMUP_QUERIES + count).await;
    let (warmup, timed) = all.split_at(WARMUP_QUERIES.min(all.len()));
    for query in warmup {
        search(&center.app, &center.owner, query).await;
    }
    let mut samples = Vec::with_capacity(timed.len());
    let mut matches = [(0i64, 0usize); 3];
    for query in timed {
        let sent = Instant::now();
        let total = search(&center.app, &center.owner, query).await;
        samples.push(sent.elapsed());
        let slot = &mut matches[query.term as usize];
        slot.0 += total;
        slot.1 += 1;
    }
    let by_kind: Vec<Duration> = samples.clone();
    samples.sort();
    let p95 = ms(percentile(&samples, 0.95));
    let verdict = if p95 < target_p95_ms { "met" } else { "MISSED" };
    println!(
        "{name}: p50={:.2} p95={p95:.2} p99={:.2} ms (target p95 < {target_p95_ms:.0} ms, \
         {verdict}), {} queries of q + stage + created_from",
        ms(percentile(&samples, 0.50)),
        ms(percentile(&samples, 0.99)),
        samples.len(),
    );
    let mut line = format!("{name} per term:");
    for (kind, label) in [
        (Term::Name, "last name"),
        (Term::Email, "email local part"),
        (Term::Phone, "phone start"),
    ] {
        let mut mine: Vec<Duration> = timed
            .iter()
            .zip(&by_kind)
            .filter(|(q, _)| q.term == kind)
            .map(|(_, d)| *d)
            .collect();
        if mine.is_empty() {
            continue;
        }
        mine.sort();
        let (sum, n) = matches[kind as usize];
        write!(
            line,
            " {label}: p50={:.2} p95={:.2} ms, {:.0} matches on average;",
            ms(percentile(&mine, 0.50)),
            ms(percentile(&mine, 0.95)),
            sum as f64 / n as f64
        )
        .unwrap();
    }
    println!("{}", line.trim_end_matches(';'));
}

async fn search_world(
    pg_url: Option<String>,
    n: usize,
    count: usize,
    target_p95_ms: f64,
) -> Center {
    let backend = if pg_url.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    let center = center(pg_url, FORMS, AGENTS).await;
    let (inserted, vacuumed) = seed(&center, n).await;
    println!(
        "leads/seed/{backend}-{}: {n} leads inserted in {:.1} s{}",
        short(n),
        inserted.as_secs_f64(),
        match vacuumed {
            Some(v) => format!(
                " (indexes included), then VACUUM (ANALYZE) in {:.1} s",
                v.as_secs_f64()
            ),
            None => " (FTS5 index filled by its triggers)".to_owned(),
        }
    );
    search_figures(
        &center,
        &format!("leads/search/{backend}-{}", short(n)),
        count,
        target_p95_ms,
    )
    .await;
    center
}

fn main() {
    // `cargo bench` passes --bench; anything else (cargo test --benches) is a quick smoke run.
    let full = std::env::args().any(|a| a == "--bench");
    let sizes = Sizes::new(full);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    let desk = rt.block_on(async {
        let desk = center(None, 1, 0).await;
        intake(&desk, sizes.intake).await;
        desk
    });

    let sqlite = rt.block_on(search_world(None, sizes.sqlite_leads, sizes.queries, 100.0));

    // Kept until the end: dropping it drops its database under its still-running server.
    let postgres = match common::postgres_url() {
        Some(url) => Some(rt.block_on(search_world(
            Some(url),
            sizes.postgres_leads,
            sizes.queries,
            50.0,
        ))),
        None => {
            println!(
                "leads/search/postgres-{}: skipped, CALLPRO_TEST_POSTGRES_URL is not set; for this \
             figure: export CALLPRO_TEST_POSTGRES_URL=$(.ci/postgres.sh | tail -n 1)",
                short(sizes.postgres_leads)
            );
            None
        }
    };

    let next = AtomicUsize::new(sizes.intake);
    let intake_url = format!("{}/f/{}", desk.app.base, desk.forms[0].1);
    let probe = rt.block_on(queries(&sqlite, 1)).remove(0);
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    c.bench_function("leads/intake_post", |b| {
        b.iter(|| {
            let i = next.fetch_add(1, Ordering::Relaxed);
            rt.block_on(post_lead(&desk.app.client, &intake_url, i))
        })
    });
    c.bench_function("leads/search_get", |b| {
        b.iter(|| rt.block_on(search(&sqlite.app, &sqlite.owner, &probe)))
    });
    c.final_summary();
    rt.block_on(async move {
        drop(desk);
        drop(sqlite);
        drop(postgres);
    });
}
