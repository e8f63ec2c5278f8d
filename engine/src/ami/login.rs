//! Opening one AMI connection: TCP connect, banner, then a plain or MD5 login.
//!
//! Runs before the connection task splits the socket into its reader and writer, so it reads
//! and writes inline; packets that arrive before the login answer are not expected and dropped.

use bytes::BytesMut;
use futures_util::StreamExt;
use md5::{Digest, Md5};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio_util::codec::FramedRead;

use super::codec::{AmiCodec, AmiFrame};
use super::config::{AmiConfig, AuthMode};
use super::error::AmiClientError;
use super::message::{Action, Message};

type Result<T, E = AmiClientError> = std::result::Result<T, E>;

/// A logged-in socket, split, with whatever the reader already buffered kept in `reader`.
pub(crate) struct LoggedIn {
    pub(crate) reader: FramedRead<OwnedReadHalf, AmiCodec>,
    pub(crate) writer: OwnedWriteHalf,
    pub(crate) banner: String,
}

/// `md5hex(challenge + secret)`, the `Key` of an MD5 login.
pub fn md5_key(challenge: &str, secret: &str) -> String {
    let digest = Md5::new()
        .chain_update(challenge.as_bytes())
        .chain_update(secret.as_bytes())
        .finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Connects and logs in; `next_id` yields the ActionIDs to use.
pub(crate) async fn connect(
    config: &AmiConfig,
    mut next_id: impl FnMut() -> String,
) -> Result<LoggedIn> {
    let stream = TcpStream::connect(config.address()).await?;
    // Actions are small and latency matters more than packet count.
    stream.set_nodelay(true)?;
    let (read, writer) = stream.into_split();
    let mut conn = LoggedIn {
        reader: FramedRead::new(read, AmiCodec::default()),
        writer,
        banner: String::new(),
    };
    conn.banner = match conn.reader.next().await {
        Some(Ok(AmiFrame::Banner(banner))) => banner,
        Some(Ok(AmiFrame::Message(_))) => {
            return Err(AmiClientError::Protocol(
                "no `Asterisk Call Manager` banner".into(),
            ));
        }
        Some(Err(err)) => return Err(err.into()),
        None => return Err(AmiClientError::Io("closed before the banner".into())),
    };
    let login = Action::new("Login").with_action_id(next_id());
    let login = match config.auth {
        AuthMode::Plain => login
            .header("Username", &config.username)
            .header("Secret", config.secret.expose()),
        AuthMode::Md5 => {
            let challenge = Action::new("Challenge")
                .with_action_id(next_id())
                .header("AuthType", "MD5");
            let answer = conn.exchange(&challenge).await?;
            if answer.response() != Some("Success") {
                let why = answer.message().unwrap_or("Challenge refused");
                return Err(AmiClientError::AuthenticationFailed(why.to_owned()));
            }
            let challenge = answer.get("Challenge").ok_or_else(|| {
                AmiClientError::Protocol("Challenge response without a challenge".into())
            })?;
            login
                .header("AuthType", "MD5")
                .header("Username", &config.username)
                .header("Key", md5_key(challenge, config.secret.expose()))
        }
    };
    let login = login.header("Events", &config.events);
    let answer = conn.exchange(&login).await?;
    if answer.response() != Some("Success") {
        let why = answer.message().unwrap_or("Login refused");
        return Err(AmiClientError::AuthenticationFailed(why.to_owned()));
    }
    Ok(conn)
}

impl LoggedIn {
    /// Writes `action` and reads until the response carrying its ActionID.
    async fn exchange(&mut self, action: &Action) -> Result<Message> {
        let mut buf = BytesMut::new();
        action.encode_into(&mut buf)?;
        self.writer.write_all(&buf).await?;
        let id = action.action_id().unwrap_or_default();
        loop {
            match self.reader.next().await {
                Some(Ok(AmiFrame::Message(msg))) => {
                    if msg.response().is_some() && msg.action_id() == Some(id) {
                        return Ok(msg);
                    }
                    tracing::debug!(
                        ami.event = msg.event_name().unwrap_or_default(),
                        "AMI packet before the login answer; ignored"
                    );
                }
                Some(Ok(AmiFrame::Banner(_))) => {}
                Some(Err(err)) => return Err(err.into()),
                None => {
                    return Err(AmiClientError::Io(format!(
                        "connection closed while waiting for the {} answer",
                        action.name()
                    )));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_key_matches_the_recorded_login() {
        // ami-login-md5.jsonl: Challenge 586842965, secret callpro-secret.
        assert_eq!(
            md5_key("586842965", "callpro-secret"),
            "1014899fa8d25e031441cb7fad0ff16e"
        );
    }
}
