#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

//! The management layer of callpro: the actix-web REST API with authentication (argon2id,
//! JWT access tokens, rotating refresh cookies, TOTP), authorization by role and tenant, the
//! audit trail, persistence over SQLite or PostgreSQL, health and metrics.
//!
//! [`server::prepare`] builds the [`state::AppState`] from a [`config::Config`];
//! [`server::start`] serves it. The binary in `src/main.rs` is a thin shell around both.

pub mod admin;
pub mod asterisk;
pub mod audit;
pub mod auth;
pub mod authz;
pub mod bootstrap;
pub mod config;
pub mod crypto;
pub mod db;
pub mod email;
pub mod engine;
pub mod error;
pub mod extract;
pub mod handlers;
pub mod intake;
pub mod ivr;
pub mod leadflow;
pub mod metrics;
pub mod models;
pub mod openapi;
pub mod outbound;
pub mod routes;
pub mod secret;
pub mod server;
pub mod state;
pub mod telemetry;
pub mod validate;
