//! Authentication: argon2id passwords, short-lived JWT access tokens, rotating refresh tokens,
//! TOTP second factor with recovery codes, failed-login throttling, and the [`Principal`]
//! extractor that every authenticated handler takes.

pub mod jwt;
pub mod mfa;
pub mod password;
pub mod principal;
pub mod refresh;
pub mod throttle;

pub use principal::Principal;
