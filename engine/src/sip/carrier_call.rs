//! The script one simulated INVITE follows once the carrier has drawn its outcome, on
//! ezk-sip-ua's `InviteAcceptor` (which owns the INVITE server transaction, CANCEL handling and
//! the 2xx/ACK exchange) and `InviteSession` (in-dialog BYE).

use crate::sip::carrier::{CarrierOutcome, Shared};
use crate::sip::carrier_stats::bump;
use bytes::Bytes;
use ezk_sip_core::transport::OutgoingResponse;
use ezk_sip_core::{Endpoint, IncomingRequest};
use ezk_sip_types::header::typed::FromTo;
use ezk_sip_types::{Name, StatusCode};
use ezk_sip_ua::dialog::Dialog;
use ezk_sip_ua::invite::acceptor::{Error as AcceptError, InviteAcceptor};
use ezk_sip_ua::invite::session::{InviteSession, InviteSessionEvent};
use std::sync::Arc;
use std::time::Duration;

/// Runs one call to its end; errors are counted and logged, never propagated.
pub(crate) async fn run(
    endpoint: Endpoint,
    shared: Arc<Shared>,
    invite: IncomingRequest,
    outcome: CarrierOutcome,
) {
    let call_id = invite.base_headers.call_id.0.to_string();
    if let Err(e) = script(endpoint, &shared, invite, outcome).await {
        bump(&shared.counters.errors);
        tracing::debug!(call.id = %call_id, error = %e, ?outcome, "carrier: call ended with an error");
    }
}

async fn script(
    endpoint: Endpoint,
    shared: &Shared,
    mut invite: IncomingRequest,
    outcome: CarrierOutcome,
) -> Result<(), AcceptError> {
    let dialog = match Dialog::new_server(endpoint.clone(), &invite, shared.contact.clone()) {
        Ok(dialog) => dialog,
        Err(e) => {
            // No From tag or no Contact: no dialog can exist, refuse the request as malformed.
            let response = endpoint.create_response(&invite, StatusCode::BAD_REQUEST, None);
            endpoint
                .create_server_inv_tsx(&mut invite)
                .respond_failure(response)
                .await?;
            return Err(AcceptError::Core(e.into()));
        }
    };
    // ezk tags the To header of 2xx only; RFC 3261 §8.2.6.2 wants it on every response but 100.
    let to_tag = dialog.local_fromto.tag.clone();
    let mut acceptor = InviteAcceptor::new(dialog, invite);
    let tag = |mut response: OutgoingResponse| {
        let _ = response
            .msg
            .headers
            .edit(Name::TO, |to: &mut FromTo| to.tag.clone_from(&to_tag));
        response
    };

    let trying = acceptor.create_response(StatusCode::TRYING, None).await?;
    acceptor.respond_provisional(trying).await?;
    let config = &shared.config;
    let counters = &shared.counters;

    let final_code = match outcome {
        CarrierOutcome::Busy => StatusCode::BUSY_HERE,
        CarrierOutcome::Reject => StatusCode::from(config.reject_code),
        CarrierOutcome::Answer | CarrierOutcome::RingOut => {
            if !ring(&mut acceptor, config.ring_delay).await {
                bump(&counters.cancelled);
                return Ok(());
            }
            let ringing = tag(acceptor.create_response(StatusCode::RINGING, None).await?);
            acceptor.respond_provisional(ringing).await?;
            bump(&counters.ringing);
            let wait = if outcome == CarrierOutcome::Answer {
                config.answer_delay
            } else {
                config.no_answer_timeout
            };
            if !ring(&mut acceptor, wait).await {
                bump(&counters.cancelled);
                return Ok(());
            }
            if outcome == CarrierOutcome::Answer {
                return answer(acceptor, shared).await;
            }
            StatusCode::from(config.no_answer_code)
        }
    };
    let response = tag(acceptor.create_response(final_code, None).await?);
    // respond_failure retransmits until the ACK arrives and only returns Ok once it has.
    acceptor.respond_failure(response).await?;
    bump(&counters.acks);
    let counter = match outcome {
        CarrierOutcome::Busy => &counters.busy,
        CarrierOutcome::Reject => &counters.rejected,
        _ => &counters.no_answer,
    };
    bump(counter);
    Ok(())
}

/// Waits `delay` unless the caller cancels first; false if cancelled (ezk already sent 487).
async fn ring(acceptor: &mut InviteAcceptor, delay: Duration) -> bool {
    tokio::select! {
        () = acceptor.cancelled() => false,
        () = tokio::time::sleep(delay) => true,
    }
}

/// Sends 200 + SDP, waits for the ACK, then serves the session until a BYE either way.
async fn answer(acceptor: InviteAcceptor, shared: &Shared) -> Result<(), AcceptError> {
    let mut ok = acceptor.create_response(StatusCode::OK, None).await?;
    ok.msg.headers.insert(Name::CONTENT_TYPE, "application/sdp");
    ok.msg.body = Bytes::from(minimal_sdp(shared));
    let (mut session, _ack) = acceptor.respond_success(ok).await?;
    bump(&shared.counters.acks);
    bump(&shared.counters.answered);

    let hangup = async {
        match shared.config.hangup_after {
            Some(after) => tokio::time::sleep(after).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(hangup);
    loop {
        tokio::select! {
            () = &mut hangup => {
                session.terminate().await?;
                bump(&shared.counters.byes_sent);
                return Ok(());
            }
            event = session.run() => {
                if serve(&mut session, event?, shared).await? {
                    return Ok(());
                }
            }
        }
    }
}

/// Handles one session event; true when the session is over.
async fn serve(
    session: &mut InviteSession,
    event: InviteSessionEvent,
    shared: &Shared,
) -> Result<bool, AcceptError> {
    match event {
        InviteSessionEvent::Bye(bye) => {
            session.handle_bye(bye).await?;
            bump(&shared.counters.byes_received);
            Ok(true)
        }
        InviteSessionEvent::Terminated => Ok(true),
        // No media, no session timer requested by tests: refreshes, re-INVITEs and NOTIFYs are
        // out of scope and simply dropped (ezk answers what needs answering).
        _ => Ok(false),
    }
}

/// An SDP answer with one PCMU stream on a port nobody listens on: signalling only.
fn minimal_sdp(shared: &Shared) -> String {
    let ip = shared.local.ip();
    let family = if ip.is_ipv4() { "IP4" } else { "IP6" };
    format!(
        "v=0\r\no=carrier 1 1 IN {family} {ip}\r\ns=-\r\nc=IN {family} {ip}\r\nt=0 0\r\n\
         m=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
    )
}
