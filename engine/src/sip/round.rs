//! One probe round: resolve every trunk, run all OPTIONS transactions concurrently on the one
//! socket, and turn each outcome into a [`TrunkState`]. This is the thin I/O driver around
//! [`ProbeTxn`]; all timing decisions live there.

use crate::sip::options::{MAX_DATAGRAM, OptionsRequest, parse_response};
use crate::sip::prober::{Transport, Trunk, TrunkProber, TrunkState, TrunkStatus};
use crate::sip::transaction::{ProbeOutcome, ProbeTxn};
use futures_util::future::join_all;
use rand::SeedableRng;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::{Instant, sleep_until, timeout};

/// A probe in flight: the trunk it belongs to, where it goes, its transaction.
struct InFlight {
    name: String,
    dest: SocketAddr,
    txn: ProbeTxn,
    error: Option<String>,
}

impl TrunkProber {
    /// Probes `trunks` once; returns one state per trunk, in input order.
    pub(crate) async fn probe_round(&self, trunks: &[Trunk]) -> Vec<(String, TrunkState)> {
        let mut done = Vec::new();
        let resolved = join_all(trunks.iter().map(|t| self.resolve(t))).await;
        // ThreadRng is !Send: keep it out of the awaits so the prober can run on any worker.
        let mut rng = rand::rngs::StdRng::from_rng(&mut rand::rng());
        let mut flights = Vec::new();
        for (trunk, dest) in trunks.iter().zip(resolved) {
            let request = dest.and_then(|dest| {
                let local = SocketAddr::new(self.advertised_ip(dest), self.local_port());
                OptionsRequest::build(&trunk.host, trunk.port, local, &mut rng)
                    .map(|req| (dest, req))
                    .map_err(|e| (TrunkStatus::Down, e.to_string()))
            });
            match request {
                Ok((dest, req)) => flights.push(InFlight {
                    name: trunk.name.clone(),
                    dest,
                    txn: ProbeTxn::new(req, self.config.schedule, Instant::now()),
                    error: None,
                }),
                Err((status, error)) => done.push((
                    trunk.name.clone(),
                    finished(status, None, None, Some(error)),
                )),
            }
        }
        self.drive(&mut flights).await;
        done.extend(flights.into_iter().map(into_state));
        // Keep the caller's order: it is the order of the configuration.
        let order = |name: &String| trunks.iter().position(|t| &t.name == name);
        done.sort_by_key(|(name, _)| order(name));
        done
    }

    async fn drive(&self, flights: &mut [InFlight]) {
        let mut buf = vec![0u8; MAX_DATAGRAM + 1];
        loop {
            let now = Instant::now();
            for flight in flights.iter_mut() {
                while let Some(bytes) = flight.txn.poll_transmit(now) {
                    if let Err(e) = self.socket.send_to(bytes, flight.dest).await {
                        // Remember the error but keep the schedule: a transient ENOBUFS must not
                        // turn a live gateway into a dead one.
                        flight.error = Some(format!("send to {}: {e}", flight.dest));
                    }
                }
            }
            let Some(deadline) = flights.iter().filter_map(|f| f.txn.poll_deadline()).min() else {
                return;
            };
            tokio::select! {
                received = self.socket.recv_from(&mut buf) => {
                    // recv errors (e.g. ICMP port unreachable surfacing) carry no match: skip them.
                    let Ok((len, _from)) = received else { continue };
                    let Some(datagram) = buf.get(..len) else { continue };
                    let Ok(response) = parse_response(datagram) else { continue };
                    let now = Instant::now();
                    for flight in flights.iter_mut() {
                        if flight.txn.on_response(&response, now) {
                            break;
                        }
                    }
                }
                () = sleep_until(deadline) => {}
            }
        }
    }

    /// Resolves a trunk to one socket address of the socket's family.
    async fn resolve(&self, trunk: &Trunk) -> Result<SocketAddr, (TrunkStatus, String)> {
        if trunk.transport != Transport::Udp {
            let name = format!("{:?}", trunk.transport).to_lowercase();
            return Err((
                TrunkStatus::Unsupported,
                format!("{name} probing is not supported yet"),
            ));
        }
        let want_v4 = self
            .socket
            .local_addr()
            .map(|a| a.is_ipv4())
            .unwrap_or(true);
        let lookup = tokio::net::lookup_host((trunk.host.as_str(), trunk.port));
        match timeout(self.config.schedule.timeout, lookup).await {
            Err(_) => Err((
                TrunkStatus::Down,
                format!("resolving {} timed out", trunk.host),
            )),
            Ok(Err(e)) => Err((TrunkStatus::Down, format!("resolving {}: {e}", trunk.host))),
            Ok(Ok(mut addrs)) => addrs.find(|a| a.is_ipv4() == want_v4).ok_or_else(|| {
                (
                    TrunkStatus::Down,
                    format!("{} has no usable address", trunk.host),
                )
            }),
        }
    }

    fn local_port(&self) -> u16 {
        self.socket.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The IP the gateway can answer to: configured, bound, or the kernel's route choice.
    fn advertised_ip(&self, dest: SocketAddr) -> IpAddr {
        if let Some(ip) = self.config.advertise_ip {
            return ip;
        }
        let bound = self
            .socket
            .local_addr()
            .map(|a| a.ip())
            .unwrap_or(self.config.bind.ip());
        if !bound.is_unspecified() {
            return bound;
        }
        // connect() on a throw-away UDP socket sends nothing; it only asks for the route.
        let any = SocketAddr::new(bound, 0);
        std::net::UdpSocket::bind(any)
            .and_then(|s| s.connect(dest).and_then(|()| s.local_addr()))
            .map(|a| a.ip())
            .unwrap_or(bound)
    }
}

fn into_state(flight: InFlight) -> (String, TrunkState) {
    let state = match flight.txn.outcome() {
        Some(ProbeOutcome::Answered { status, rtt, .. }) => {
            let verdict = if *status == 503 {
                TrunkStatus::Degraded
            } else {
                TrunkStatus::Up
            };
            finished(verdict, Some(*rtt), Some(*status), None)
        }
        Some(ProbeOutcome::TimedOut { transmissions }) => {
            let timeout_ms = flight.txn.schedule().timeout.as_millis();
            let why = flight.error.unwrap_or_else(|| {
                format!("no response within {timeout_ms} ms ({transmissions} transmissions)")
            });
            finished(TrunkStatus::Down, None, None, Some(why))
        }
        None => finished(TrunkStatus::Down, None, None, flight.error),
    };
    (flight.name, state)
}

fn finished(
    status: TrunkStatus,
    rtt: Option<Duration>,
    code: Option<u16>,
    error: Option<String>,
) -> TrunkState {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .ok();
    TrunkState {
        status,
        rtt_ms: rtt.map(|d| d.as_secs_f64() * 1000.0),
        last_code: code,
        last_checked_unix_ms: now_ms,
        last_error: error,
    }
}
