//! Secrets at rest and random tokens: XChaCha20-Poly1305 sealing of values stored in the
//! database (TOTP secrets, the generated JWT key, later SMTP and SIP passwords), SHA-256 digests
//! of bearer tokens, and URL-safe random tokens.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore as _;
use sha2::{Digest, Sha256};

use crate::config::SecretsConfig;

/// Prefix of sealed values, so the format can change later.
const SEALED_PREFIX: &str = "v1:";
const NONCE_LEN: usize = 24;

/// Problems with the key or a sealed value.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The configured key is not base64 of 32 bytes.
    #[error("the key must be base64 of exactly 32 bytes")]
    BadKey,
    /// The key file could not be read or created.
    #[error("key file {path}: {source}")]
    KeyFile {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A sealed value was tampered with or sealed under another key.
    #[error("cannot decrypt a stored secret: was the secret key changed?")]
    Decrypt,
}

/// Seals and opens secrets with one symmetric key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(***)")
    }
}

impl SecretBox {
    /// Builds from base64 of a 32-byte key.
    pub fn from_base64(key: &str) -> Result<Self, CryptoError> {
        let bytes = STANDARD
            .decode(key.trim())
            .map_err(|_| CryptoError::BadKey)?;
        let cipher = XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| CryptoError::BadKey)?;
        Ok(Self { cipher })
    }

    /// The configured key, else the key file, created with a fresh key on first run.
    pub fn from_config(config: &SecretsConfig) -> Result<Self, CryptoError> {
        if let Some(key) = &config.key {
            return Self::from_base64(key.expose());
        }
        let path = &config.key_file;
        let io = |source| CryptoError::KeyFile {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(key) => Self::from_base64(&key),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = STANDARD.encode(XChaCha20Poly1305::generate_key(&mut OsRng));
                write_private(path, &key).map_err(io)?;
                tracing::warn!(
                    key_file = %path.display(),
                    "generated a new secret key; back it up: secrets stored in the database \
                     cannot be read without it"
                );
                Self::from_base64(&key)
            }
            Err(e) => Err(io(e)),
        }
    }

    /// Encrypts `plaintext` under a fresh random nonce.
    pub fn seal(&self, plaintext: &str) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        // Encryption into a Vec cannot fail for inputs below the AEAD's 256 GiB limit.
        let ciphertext = self
            .cipher
            .encrypt(&nonce, plaintext.as_bytes())
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ciphertext);
        format!("{SEALED_PREFIX}{}", STANDARD.encode(out))
    }

    /// Decrypts a value produced by [`SecretBox::seal`].
    pub fn open(&self, sealed: &str) -> Result<String, CryptoError> {
        let raw = sealed
            .strip_prefix(SEALED_PREFIX)
            .and_then(|b64| STANDARD.decode(b64).ok())
            .filter(|raw| raw.len() > NONCE_LEN)
            .ok_or(CryptoError::Decrypt)?;
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), ciphertext)
            .map_err(|_| CryptoError::Decrypt)?;
        String::from_utf8(plain).map_err(|_| CryptoError::Decrypt)
    }
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

/// `n` random bytes from the OS-seeded CSPRNG, URL-safe base64 without padding.
pub fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Hex SHA-256 of a bearer token: what the database stores instead of the token.
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_box() -> SecretBox {
        SecretBox::from_base64(&STANDARD.encode([7u8; 32])).unwrap()
    }

    #[test]
    fn seal_then_open_round_trips() {
        let b = test_box();
        let sealed = b.seal("JBSWY3DPEHPK3PXP");
        assert!(sealed.starts_with("v1:"));
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_eq!(b.open(&sealed).unwrap(), "JBSWY3DPEHPK3PXP");
        assert_ne!(b.seal("x"), b.seal("x"), "nonces must differ");
    }

    #[test]
    fn other_key_or_tampering_fails() {
        let sealed = test_box().seal("secret");
        let other = SecretBox::from_base64(&STANDARD.encode([8u8; 32])).unwrap();
        assert!(other.open(&sealed).is_err());
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push('A');
        assert!(test_box().open(&tampered).is_err());
        assert!(test_box().open("garbage").is_err());
    }

    #[test]
    fn bad_keys_are_rejected() {
        assert!(SecretBox::from_base64("c2hvcnQ=").is_err());
        assert!(SecretBox::from_base64("not base64!").is_err());
    }
}
