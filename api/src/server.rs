//! Building the application state and running the HTTP server.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;

use actix_web::middleware::{Compress, from_fn};
use actix_web::{App, HttpServer, web};

use crate::auth::jwt::JwtKeys;
use crate::bootstrap::{self, Bootstrapped};
use crate::config::Config;
use crate::crypto::SecretBox;
use crate::db::Db;
use crate::engine::Engine;
use crate::extract;
use crate::leadflow::throttle::IntakeThrottle;
use crate::leadflow::writer::IntakeWriter;
use crate::metrics::{self, Metrics};
use crate::outbound::Board;
use crate::routes;
use crate::state::AppState;

/// Start-up failures, each saying what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    /// The secret key is missing or wrong.
    #[error(transparent)]
    Crypto(#[from] crate::crypto::CryptoError),
    /// First-run set-up failed.
    #[error("first-run set-up failed: {0}")]
    Bootstrap(#[from] crate::error::ApiError),
    /// The telephony engine could not start.
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    /// Metrics could not be registered.
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// The listener could not be bound or started.
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
    /// The TLS certificate or key could not be loaded.
    #[error("TLS: {0}")]
    Tls(String),
}

/// Connects, migrates, loads secrets, runs first-run set-up and starts the telephony engine.
/// Returns the state and, on the very first run, the created super admin.
pub async fn prepare(config: Config) -> Result<(AppState, Option<Bootstrapped>), StartError> {
    let (mut state, admin) = tokio::task::spawn_blocking(move || prepare_storage(config))
        .await
        .map_err(|e| StartError::Io(std::io::Error::other(e)))??;
    state.engine = Engine::start(&state.config, &state.db, state.metrics.registry()).await?;
    Ok((state, admin))
}

/// The blocking part of [`prepare`]: database, migrations, secrets, bootstrap.
fn prepare_storage(config: Config) -> Result<(AppState, Option<Bootstrapped>), StartError> {
    let db = Db::connect(&config.database)?;
    let applied = db.migrate()?;
    if applied > 0 {
        tracing::info!(
            migrations = applied,
            backend = db.kind().as_str(),
            "database migrated"
        );
    }
    let secrets = SecretBox::from_config(&config.secrets)?;
    let mut conn = db.get()?;
    let jwt_secret = bootstrap::jwt_secret(&mut conn, &config, &secrets)?;
    let admin = bootstrap::first_admin(&mut conn, &config)?;
    drop(conn);
    let jwt = JwtKeys::new(
        jwt_secret.expose().as_bytes(),
        config.auth.access_token_ttl_secs,
    );
    let intake_writer = IntakeWriter::start(db.clone())?;
    let state = AppState {
        db,
        intake: IntakeThrottle::new(config.leads.limits()),
        intake_writer,
        config: Arc::new(config),
        jwt,
        secrets,
        metrics: Metrics::new()?,
        engine: Engine::offline(),
        dialer: Board::default(),
    };
    Ok((state, admin))
}

/// Starts serving on `listener`. The returned server runs until its handle stops it; with
/// `handle_signals` it also stops gracefully on SIGINT/SIGTERM.
pub fn start(
    state: AppState,
    listener: TcpListener,
    handle_signals: bool,
) -> Result<actix_web::dev::Server, StartError> {
    let workers = match state.config.http.workers {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    let http = state.config.http.clone();
    let data = web::Data::new(state);
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::QueryConfig::default().error_handler(extract::query_error))
            .app_data(web::PathConfig::default().error_handler(extract::path_error))
            .app_data(web::JsonConfig::default().error_handler(extract::json_error))
            .wrap(from_fn(metrics::track))
            .wrap(Compress::default())
            .configure(routes::configure)
            .default_service(web::to(routes::not_found))
    })
    .workers(workers)
    .shutdown_timeout(30);
    server = match (&http.tls_cert, &http.tls_key) {
        (Some(cert), Some(key)) => server.listen_rustls_0_23(listener, tls_config(cert, key)?)?,
        _ => server.listen(listener)?,
    };
    if !handle_signals {
        server = server.disable_signals();
    }
    Ok(server.run())
}

/// A rustls server configuration from PEM files (ring provider, TLS 1.2 and 1.3, h2 + http/1.1).
fn tls_config(cert: &Path, key: &Path) -> Result<rustls::ServerConfig, StartError> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let tls = |what: &str, path: &Path, e: &dyn std::fmt::Display| {
        StartError::Tls(format!("{what} {}: {e}", path.display()))
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| tls("cannot read certificate", cert, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls("bad certificate", cert, &e))?;
    let key_der =
        PrivateKeyDer::from_pem_file(key).map_err(|e| tls("cannot read private key", key, &e))?;
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| tls("certificate and key do not match in", cert, &e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
