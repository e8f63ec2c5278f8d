//! Trunk health: Asterisk's qualify verdicts (`ContactStatus`, `ContactStatusDetail`) and
//! callpro's own SIP OPTIONS probes, side by side so an operator can tell "Asterisk cannot
//! reach the gateway" from "callpro cannot reach it either".

use crate::ami::event::ContactStatus;
use crate::bus::LiveEvent;

use super::view::{TrunkProbe, TrunkView};
use super::{LiveState, known};

/// What Asterisk said about a contact, from either the event or the list item.
pub(super) struct ContactReport<'a> {
    pub(super) endpoint: Option<&'a str>,
    pub(super) aor: Option<&'a str>,
    pub(super) uri: Option<&'a str>,
    pub(super) status: Option<&'a str>,
    pub(super) rtt_usec: Option<&'a str>,
}

/// `Reachable` → true, `Unreachable` → false, anything else (`NonQualified`, `Unknown`,
/// `Created`, `Removed`, `Updated`) tells nothing about reachability.
fn reachable(status: &str) -> Option<bool> {
    if status.eq_ignore_ascii_case("Reachable") {
        Some(true)
    } else if status.eq_ignore_ascii_case("Unreachable") {
        Some(false)
    } else {
        None
    }
}

impl LiveState {
    fn change_trunk(
        &mut self,
        name: &str,
        out: &mut Vec<LiveEvent>,
        f: impl FnOnce(&mut TrunkView),
    ) {
        let tenant = self.tenants.trunk(name);
        let trunk = self
            .trunks
            .entry(name.to_owned())
            .or_insert_with(|| TrunkView {
                name: name.to_owned(),
                call_center_id: tenant,
                reachable: None,
                status: None,
                rtt_usec: None,
                uri: None,
                updated_ms: None,
                probe: None,
            });
        let before = trunk.clone();
        f(trunk);
        if *trunk != before {
            out.push(LiveEvent::TrunkChanged {
                trunk: trunk.clone(),
            });
        }
    }

    pub(super) fn on_contact(
        &mut self,
        e: &ContactStatus<'_>,
        now_ms: u64,
        out: &mut Vec<LiveEvent>,
    ) {
        let report = ContactReport {
            endpoint: e.endpoint_name,
            aor: e.aor,
            uri: e.uri,
            status: e.contact_status,
            rtt_usec: e.roundtrip_usec,
        };
        self.on_contact_report(&report, now_ms, out);
    }

    pub(super) fn on_contact_report(
        &mut self,
        r: &ContactReport<'_>,
        now_ms: u64,
        out: &mut Vec<LiveEvent>,
    ) {
        // Trunks are named by endpoint; a contact of an AOR with no endpoint goes by the AOR.
        let Some(name) = known(r.endpoint).or_else(|| known(r.aor)) else {
            return;
        };
        let status = known(r.status);
        let rtt = r.rtt_usec.and_then(|v| v.trim().parse::<u64>().ok());
        self.change_trunk(&name, out, |t| {
            if let Some(s) = status.as_deref() {
                if let Some(ok) = reachable(s) {
                    t.reachable = Some(ok);
                }
                if s.eq_ignore_ascii_case("Removed") {
                    t.reachable = None;
                }
                t.status = status.clone();
            }
            // Asterisk reports 0 µs for an unreachable contact: not a round trip.
            t.rtt_usec = rtt.filter(|n| *n > 0 && t.reachable == Some(true));
            if let Some(uri) = known(r.uri) {
                t.uri = Some(uri);
            }
            t.updated_ms = Some(now_ms);
        });
    }

    /// Records a result of callpro's SIP OPTIONS prober for trunk `name` (endpoint name).
    pub fn set_trunk_probe(&mut self, name: &str, probe: TrunkProbe) -> Vec<LiveEvent> {
        let mut out = Vec::new();
        self.change_trunk(name, &mut out, |t| t.probe = Some(probe));
        out
    }
}
