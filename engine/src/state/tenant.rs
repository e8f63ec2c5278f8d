//! Which call center (tenant) a call, agent, queue or trunk belongs to.
//!
//! Asterisk knows nothing of tenants, so the live state learns them from three places, most
//! authoritative first:
//!
//! 1. the `CALLPRO_CALL_CENTER` channel variable, which the dialer sets on every `Originate` and
//!    the inbound dialplan sets after the DID lookup; it reaches us as a `VarSet` event, or as a
//!    `ChanVariable` header when `manager.conf` lists it in `channelvars`;
//! 2. the agent whose session bridge (`agent-<id>`) the call enters;
//! 3. the maps the API supplies here: agent extension → call center, trunk endpoint → call
//!    center, queue → call center. Shared trunks must be left out of the map: they would
//!    attribute every tenant's calls to one of them.

use std::collections::HashMap;

/// The channel variable that carries a call's call center id.
pub const CALL_CENTER_VARIABLE: &str = "CALLPRO_CALL_CENTER";
/// The channel variable that carries callpro's own call id.
pub const CALL_ID_VARIABLE: &str = "CALLPRO_CALL_ID";
/// The variable Asterisk's `AMD()` sets: `HUMAN`, `MACHINE`, `NOTSURE` or `HANGUP`.
pub const AMD_STATUS_VARIABLE: &str = "AMDSTATUS";

/// Maps from Asterisk names to call center ids, supplied (and refreshed) by the API.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TenantResolver {
    extensions: HashMap<String, i64>,
    trunks: HashMap<String, i64>,
    queues: HashMap<String, i64>,
}

impl TenantResolver {
    /// An empty resolver: only channel variables and agent sessions attribute tenants.
    pub fn new() -> TenantResolver {
        TenantResolver::default()
    }

    /// Maps an agent extension (`1002` or `PJSIP/agent1002`) to a call center.
    pub fn set_extension(&mut self, extension: &str, call_center_id: i64) -> &mut Self {
        self.extensions
            .insert(normalize_interface(extension), call_center_id);
        self
    }

    /// Maps a trunk's PJSIP endpoint name (`yeastar-paris`) to a call center.
    pub fn set_trunk(&mut self, endpoint: &str, call_center_id: i64) -> &mut Self {
        self.trunks.insert(endpoint.to_owned(), call_center_id);
        self
    }

    /// Maps a queue name to a call center.
    pub fn set_queue(&mut self, queue: &str, call_center_id: i64) -> &mut Self {
        self.queues.insert(queue.to_owned(), call_center_id);
        self
    }

    /// The call center of an agent interface.
    pub fn extension(&self, interface: &str) -> Option<i64> {
        self.extensions
            .get(&normalize_interface(interface))
            .copied()
    }

    /// The call center of a trunk endpoint.
    pub fn trunk(&self, endpoint: &str) -> Option<i64> {
        self.trunks.get(endpoint).copied()
    }

    /// The call center of a queue.
    pub fn queue(&self, queue: &str) -> Option<i64> {
        self.queues.get(queue).copied()
    }

    /// The call center of a channel, from its device: an agent phone or a trunk.
    pub fn channel(&self, channel: &str) -> Option<i64> {
        let interface = channel_interface(channel)?;
        if let Some(id) = self.extensions.get(interface) {
            return Some(*id);
        }
        let (_, resource) = interface.split_once('/')?;
        self.trunks.get(resource).copied()
    }
}

/// `1002` → `PJSIP/1002`; names that already carry a technology are kept.
pub fn normalize_interface(extension: &str) -> String {
    if extension.contains('/') {
        extension.to_owned()
    } else {
        format!("PJSIP/{extension}")
    }
}

/// The device behind a channel name: `PJSIP/yeastar-paris-00000004` → `PJSIP/yeastar-paris`.
///
/// Local channels (`Local/...;1`) belong to no device and give `None`.
pub fn channel_interface(channel: &str) -> Option<&str> {
    let (tech, _) = channel.split_once('/')?;
    if tech.eq_ignore_ascii_case("Local") {
        return None;
    }
    // Asterisk appends `-<8 hex digits>` to make each channel name unique.
    match channel.rsplit_once('-') {
        Some((device, suffix))
            if !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            Some(device)
        }
        _ => Some(channel),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_map_to_devices_and_tenants() {
        assert_eq!(
            channel_interface("PJSIP/yeastar-paris-00000004"),
            Some("PJSIP/yeastar-paris")
        );
        assert_eq!(channel_interface("Local/s@agi-test-00000000;1"), None);
        assert_eq!(
            channel_interface("PJSIP/agent1002"),
            Some("PJSIP/agent1002")
        );
        let mut t = TenantResolver::new();
        t.set_extension("agent1002", 7)
            .set_trunk("yeastar-paris", 3);
        assert_eq!(t.channel("PJSIP/agent1002-0000000a"), Some(7));
        assert_eq!(t.channel("PJSIP/yeastar-paris-00000004"), Some(3));
        assert_eq!(t.channel("PJSIP/yeastar-lyon-00000001"), None);
        assert_eq!(t.extension("PJSIP/agent1002"), Some(7));
    }
}
