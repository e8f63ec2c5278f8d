//! `/health` and `/metrics`: what operators and load balancers poll.

use std::collections::BTreeMap;
use std::time::Instant;

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db;
use crate::state::AppState;

/// Overall or per-component state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// Working.
    Up,
    /// Working with a component down that is not essential.
    Degraded,
    /// Not working.
    Down,
    /// Not configured (e.g. no AMI URL): neither up nor a fault.
    Disabled,
}

/// One component's health.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComponentHealth {
    /// State.
    pub status: Status,
    /// Details (backend, latency, pool).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// Body of `/health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `UP`, `DEGRADED` or `DOWN`.
    pub status: Status,
    /// callpro version.
    pub version: &'static str,
    /// Per component.
    pub components: BTreeMap<&'static str, ComponentHealth>,
}

/// Health of callpro and its dependencies; 503 when DOWN.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let started = Instant::now();
    let pool = state.db.pool().state();
    let ping = state.db.run(|conn| Ok(db::ping(conn)?)).await;
    let database = ComponentHealth {
        status: if ping.is_ok() {
            Status::Up
        } else {
            Status::Down
        },
        details: serde_json::json!({
            "backend": state.db.kind().as_str(),
            "latency_ms": started.elapsed().as_secs_f64() * 1000.0,
            "pool_connections": pool.connections,
            "pool_idle": pool.idle_connections,
            "error": ping.err().map(|e| e.code()),
        }),
    };
    let mut components = BTreeMap::from([("database", database)]);
    components.extend(state.engine.health());
    // The database is essential; the telephony side only degrades the service.
    let status = if components["database"].status == Status::Down {
        Status::Down
    } else if components.values().any(|c| c.status == Status::Down) {
        Status::Degraded
    } else {
        Status::Up
    };
    let body = Health {
        status,
        version: env!("CARGO_PKG_VERSION"),
        components,
    };
    if status == Status::Down {
        HttpResponse::ServiceUnavailable().json(body)
    } else {
        HttpResponse::Ok().json(body)
    }
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")))]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render(&state.db.pool().state()))
}
