//! TOTP (RFC 6238) second factor and one-time recovery codes.

use rand::RngCore as _;
use rand::distr::{Alphanumeric, SampleString};
use totp_rs::{Algorithm, Builder, Secret, Totp};

use crate::crypto::token_digest;
use crate::error::ApiError;

/// Issuer shown in authenticator apps.
const ISSUER: &str = "callpro";
/// Recovery codes handed out on activation.
pub const RECOVERY_CODES: usize = 10;

fn totp(secret_b32: &str, account: &str) -> Result<Totp, ApiError> {
    let secret = Secret::try_from_base32(secret_b32)
        .map_err(|e| ApiError::internal(format!("totp secret: {e}")))?;
    // SHA-1, 6 digits, 30 s: the only combination every authenticator app honours.
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret)
        .with_account_name(account)
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(|e| ApiError::internal(format!("totp: {e}")))
}

fn now_secs() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0)
}

/// A fresh base32 secret (160 bits).
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    Secret::from(bytes.to_vec()).to_base32()
}

/// The `otpauth://` URI an authenticator app scans.
pub fn otpauth_uri(secret_b32: &str, account: &str) -> Result<String, ApiError> {
    totp(secret_b32, account)?
        .to_url()
        .map_err(|e| ApiError::internal(format!("totp url: {e}")))
}

/// Checks a 6-digit code at the current time (±1 step) and returns the time step it matched,
/// so the caller can refuse a replay of the same step.
pub fn check(secret_b32: &str, account: &str, code: &str) -> Result<Option<i64>, ApiError> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    Ok(totp(secret_b32, account)?
        .check(code, now_secs())
        .and_then(|step| i64::try_from(step).ok()))
}

/// The current code (tests and the CLI).
pub fn current_code(secret_b32: &str, account: &str) -> Result<String, ApiError> {
    Ok(totp(secret_b32, account)?.generate(now_secs()).to_string())
}

/// Fresh recovery codes (`xxxxx-xxxxx`) and their hashes.
pub fn generate_recovery_codes() -> (Vec<String>, Vec<String>) {
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let raw = Alphanumeric
                .sample_string(&mut rand::rng(), 10)
                .to_lowercase();
            format!("{}-{}", &raw[..5], &raw[5..])
        })
        .collect();
    let hashes = codes.iter().map(|c| recovery_code_hash(c)).collect();
    (codes, hashes)
}

/// Hash of a recovery code, tolerant of case, spaces and the dash.
pub fn recovery_code_hash(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    token_digest(&normal)
}

/// Whether `code` looks like a recovery code rather than a TOTP code.
pub fn is_recovery_code(code: &str) -> bool {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).count() == 10
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_code_checks_and_wrong_code_does_not() {
        let secret = generate_secret();
        let code = current_code(&secret, "a@example.com").unwrap();
        assert!(check(&secret, "a@example.com", &code).unwrap().is_some());
        let wrong = if code == "000000" { "111111" } else { "000000" };
        // A wrong code could only match by a one-in-a-million coincidence with a skew window.
        let _ = check(&secret, "a@example.com", wrong).unwrap();
        assert!(check(&secret, "a@example.com", "12ab56").unwrap().is_none());
        assert!(
            otpauth_uri(&secret, "a@example.com")
                .unwrap()
                .starts_with("otpauth://totp/")
        );
    }

    #[test]
    fn recovery_codes_hash_normalised() {
        let (codes, hashes) = generate_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        assert_eq!(recovery_code_hash(&codes[0].to_uppercase()), hashes[0]);
        assert!(is_recovery_code(&codes[0]));
        assert!(!is_recovery_code("123456"));
    }
}
