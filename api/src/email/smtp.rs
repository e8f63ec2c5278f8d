//! Delivery through a profile's SMTP server with lettre (rustls with ring), and the
//! classification of failures into temporary (retry) and permanent (give up).

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};

use crate::models::smtp_profile::SmtpProfile;

/// A pooled SMTP transport.
pub type Transport = AsyncSmtpTransport<Tokio1Executor>;

/// Why an email was not delivered.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SendError {
    /// The message or the transport cannot be built (bad address, bad host): permanent.
    #[error("{0}")]
    Invalid(String),
    /// A 4xx answer, a refused or dropped connection, a timeout: worth retrying.
    #[error("{0}")]
    Temporary(String),
    /// A 5xx answer: retrying will not help.
    #[error("{0}")]
    Permanent(String),
}

impl SendError {
    /// Whether a retry may succeed.
    pub fn is_temporary(&self) -> bool {
        matches!(self, Self::Temporary(_))
    }
}

impl From<lettre::transport::smtp::Error> for SendError {
    fn from(e: lettre::transport::smtp::Error) -> Self {
        if e.is_permanent() {
            Self::Permanent(e.to_string())
        } else {
            Self::Temporary(e.to_string())
        }
    }
}

/// A rendered email.
#[derive(Debug, Clone)]
pub struct Email<'a> {
    /// Recipient.
    pub to: &'a str,
    /// Subject.
    pub subject: &'a str,
    /// HTML body.
    pub html: &'a str,
    /// Plain-text body.
    pub text: &'a str,
    /// Message-ID, angle brackets included.
    pub message_id: &'a str,
}

/// A pooled transport for `profile` (`password` opened from its sealed form).
pub fn transport(
    profile: &SmtpProfile,
    password: Option<String>,
    timeout: Duration,
) -> Result<Transport, SendError> {
    let tls = match profile.security.as_str() {
        "none" => Tls::None,
        security => {
            let params = TlsParameters::new(profile.host.clone())
                .map_err(|e| SendError::Invalid(format!("TLS for {}: {e}", profile.host)))?;
            if security == "tls" {
                Tls::Wrapper(params)
            } else {
                Tls::Required(params)
            }
        }
    };
    let port = u16::try_from(profile.port)
        .map_err(|_| SendError::Invalid(format!("bad port {}", profile.port)))?;
    let mut builder = Transport::builder_dangerous(profile.host.as_str())
        .port(port)
        .tls(tls)
        .timeout(Some(timeout))
        .pool_config(PoolConfig::new().max_size(4));
    if let Some(user) = &profile.username {
        builder = builder.credentials(Credentials::new(user.clone(), password.unwrap_or_default()));
    }
    Ok(builder.build())
}

fn mailbox(name: Option<&str>, address: &str) -> Result<Mailbox, SendError> {
    let address = address
        .parse()
        .map_err(|e| SendError::Invalid(format!("address {address}: {e}")))?;
    Ok(Mailbox::new(name.map(str::to_owned), address))
}

/// Builds the MIME message of `email` from `profile`'s sender.
pub fn message(profile: &SmtpProfile, email: &Email<'_>) -> Result<Message, SendError> {
    let mut builder = Message::builder()
        .from(mailbox(
            profile.from_name.as_deref(),
            &profile.from_address,
        )?)
        .to(mailbox(None, email.to)?)
        .subject(email.subject)
        .message_id(Some(email.message_id.to_owned()));
    if let Some(reply_to) = &profile.reply_to {
        builder = builder.reply_to(mailbox(None, reply_to)?);
    }
    builder
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(email.text.to_owned()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(email.html.to_owned()),
                ),
        )
        .map_err(|e| SendError::Invalid(e.to_string()))
}

/// A fresh Message-ID in the sender's domain.
pub fn new_message_id(from_address: &str) -> String {
    let domain = from_address
        .rsplit_once('@')
        .map_or("callpro.invalid", |(_, d)| d);
    format!("<{}@{domain}>", uuid::Uuid::new_v4())
}

/// Sends `email`; the server's final answer (`250 ...`) on success.
pub async fn send(
    transport: &Transport,
    profile: &SmtpProfile,
    email: &Email<'_>,
) -> Result<String, SendError> {
    let message = message(profile, email)?;
    let response = transport.send(message).await?;
    let text: Vec<&str> = response.message().collect();
    Ok(format!("{} {}", response.code(), text.join(" ")))
}
