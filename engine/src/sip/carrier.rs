//! A simulated carrier / gateway for end-to-end tests and benches, built on ezk-sip-core's
//! endpoint and transactions plus ezk-sip-ua's dialog and INVITE-acceptor layers (no media:
//! `default-features = false`, the 200 OK carries a fixed minimal SDP and no RTP flows).
//!
//! It answers OPTIONS with 200 and decides every INVITE by weighted draw from a seeded RNG —
//! answer, ring out, busy or reject — so a run with the same seed and the same INVITE order
//! makes the same decisions. The per-call script lives in [`crate::sip::carrier_call`].
//!
//! ezk's UDP receive task has no shutdown: the simulator lives as long as the tokio runtime
//! (one per `#[tokio::test]`), which is what tests and benches need.

pub use crate::sip::carrier_stats::CarrierStats;
use crate::sip::carrier_stats::{Counters, bump};
use crate::sip::error::Result;
use ezk_sip_core::{Endpoint, IncomingRequest, Layer, MayTake};
use ezk_sip_types::header::typed::Contact;
use ezk_sip_types::uri::{NameAddr, SipUri};
use ezk_sip_types::{Method, StatusCode};
use ezk_sip_ua::dialog::DialogLayer;
use ezk_sip_ua::invite::InviteLayer;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the carrier does with one INVITE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum CarrierOutcome {
    /// 100, 180 after `ring_delay`, 200 + SDP after `answer_delay`; waits for ACK and BYE.
    Answer,
    /// 100, 180, then `no_answer_code` (480 by default) after `no_answer_timeout`.
    RingOut,
    /// 100 then 486 Busy Here.
    Busy,
    /// 100 then `reject_code` (503 by default).
    Reject,
}

/// Relative weights of the outcomes; all zero means always answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutcomeWeights {
    /// Weight of [`CarrierOutcome::Answer`].
    pub answer: u32,
    /// Weight of [`CarrierOutcome::RingOut`].
    pub ring_out: u32,
    /// Weight of [`CarrierOutcome::Busy`].
    pub busy: u32,
    /// Weight of [`CarrierOutcome::Reject`].
    pub reject: u32,
}

impl OutcomeWeights {
    /// Draws one outcome.
    pub fn pick(&self, rng: &mut impl Rng) -> CarrierOutcome {
        let table = [
            (self.answer, CarrierOutcome::Answer),
            (self.ring_out, CarrierOutcome::RingOut),
            (self.busy, CarrierOutcome::Busy),
            (self.reject, CarrierOutcome::Reject),
        ];
        let total: u64 = table.iter().map(|(w, _)| u64::from(*w)).sum();
        if total == 0 {
            return CarrierOutcome::Answer;
        }
        let mut ticket = rng.random_range(0..total);
        for (weight, outcome) in table {
            if ticket < u64::from(weight) {
                return outcome;
            }
            ticket -= u64::from(weight);
        }
        CarrierOutcome::Answer
    }
}

/// Behaviour of the simulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarrierConfig {
    /// UDP address to listen on; loopback with an ephemeral port by default.
    pub bind: SocketAddr,
    /// RNG seed: same seed and INVITE order, same decisions.
    pub seed: u64,
    /// Outcome weights.
    pub weights: OutcomeWeights,
    /// Delay between 100 Trying and 180 Ringing.
    pub ring_delay: Duration,
    /// Delay between 180 Ringing and 200 OK when answering.
    pub answer_delay: Duration,
    /// How long a ring-out rings before its final response.
    pub no_answer_timeout: Duration,
    /// Final status of a ring-out (408 or 480 are typical).
    pub no_answer_code: u16,
    /// Final status of a reject (503, 404, 403…).
    pub reject_code: u16,
    /// If set, the carrier hangs up (sends BYE) an answered call after this long.
    pub hangup_after: Option<Duration>,
}

impl Default for CarrierConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0),
            seed: 1,
            weights: OutcomeWeights {
                answer: 6,
                ring_out: 2,
                busy: 1,
                reject: 1,
            },
            ring_delay: Duration::from_millis(20),
            answer_delay: Duration::from_millis(100),
            no_answer_timeout: Duration::from_secs(1),
            no_answer_code: 480,
            reject_code: 503,
            hangup_after: None,
        }
    }
}

impl CarrierConfig {
    /// A carrier that does `outcome` for every INVITE.
    pub fn always(outcome: CarrierOutcome) -> Self {
        let only = |o| u32::from(o == outcome);
        let weights = OutcomeWeights {
            answer: only(CarrierOutcome::Answer),
            ring_out: only(CarrierOutcome::RingOut),
            busy: only(CarrierOutcome::Busy),
            reject: only(CarrierOutcome::Reject),
        };
        Self {
            weights,
            ..Self::default()
        }
    }
}

/// State shared by the layer and the per-call tasks.
pub(crate) struct Shared {
    pub(crate) config: CarrierConfig,
    pub(crate) counters: Counters,
    pub(crate) contact: Contact,
    pub(crate) local: SocketAddr,
    rng: Mutex<StdRng>,
}

/// A running carrier simulator.
#[derive(Clone)]
pub struct CarrierSim {
    endpoint: Endpoint,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for CarrierSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CarrierSim")
            .field("local", &self.shared.local)
            .finish_non_exhaustive()
    }
}

impl CarrierSim {
    /// Binds the UDP transport and starts answering.
    pub async fn start(config: CarrierConfig) -> Result<Self> {
        let mut builder = Endpoint::builder();
        builder.user_agent("callpro-carrier-sim");
        let transport = builder.bind_udp(config.bind).await?;
        let local = transport.bound();
        let contact = Contact::new(NameAddr::uri(SipUri::new(local.into())));
        let rng = Mutex::new(StdRng::seed_from_u64(config.seed));
        let shared = Arc::new(Shared {
            config,
            counters: Counters::default(),
            contact,
            local,
            rng,
        });
        // Order matters: in-dialog requests (ACK, BYE) go to the dialog layer first, CANCEL to
        // the invite layer, and only new requests reach the carrier.
        builder.add_layer(DialogLayer::default());
        builder.add_layer(InviteLayer::default());
        builder.add_layer(CarrierLayer {
            shared: shared.clone(),
        });
        let endpoint = builder.build();
        Ok(Self { endpoint, shared })
    }

    /// The UDP address INVITEs and OPTIONS go to.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local
    }

    /// Counters of what the simulator did.
    pub fn stats(&self) -> CarrierStats {
        self.shared.counters.snapshot()
    }

    /// The ezk endpoint, e.g. to run a UAC on the same stack in a test.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
}

struct CarrierLayer {
    shared: Arc<Shared>,
}

impl CarrierLayer {
    fn decide(&self) -> CarrierOutcome {
        // A poisoned lock only means a panicking test thread; the RNG inside is still usable.
        let mut rng = self.shared.rng.lock().unwrap_or_else(|e| e.into_inner());
        self.shared.config.weights.pick(&mut *rng)
    }

    async fn handle(&self, endpoint: &Endpoint, request: MayTake<'_, IncomingRequest>) {
        if request.line.method == Method::OPTIONS {
            let mut options = request.take();
            let response = endpoint.create_response(&options, StatusCode::OK, None);
            let tsx = endpoint.create_server_tsx(&mut options);
            match tsx.respond(response).await {
                Ok(()) => bump(&self.shared.counters.options),
                Err(e) => tracing::debug!(error = %e, "carrier: OPTIONS response failed"),
            }
        } else if request.line.method == Method::INVITE && request.base_headers.to.tag.is_none() {
            bump(&self.shared.counters.invites);
            let outcome = self.decide();
            let invite = request.take();
            let call = crate::sip::carrier_call::run(
                endpoint.clone(),
                self.shared.clone(),
                invite,
                outcome,
            );
            tokio::spawn(call);
        }
        // Anything else falls through to ezk's default (481 / ignored ACK).
    }
}

// ezk's `Layer` is an `async_trait`; that macro is not a dependency here, so the boxed-future
// signature it would generate is written out by hand.
impl Layer for CarrierLayer {
    fn name(&self) -> &'static str {
        "callpro-carrier"
    }

    fn receive<'s, 'e, 'r, 'f>(
        &'s self,
        endpoint: &'e Endpoint,
        request: MayTake<'r, IncomingRequest>,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'f>>
    where
        's: 'f,
        'e: 'f,
        'r: 'f,
        Self: 'f,
    {
        Box::pin(self.handle(endpoint, request))
    }
}
