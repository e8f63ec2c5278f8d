//! SIP `OPTIONS` on the wire: building the probe request with rsip and parsing/matching the
//! responses. Pure functions over bytes; no sockets here.
//!
//! Matching follows RFC 3261 §17.1.3 (client transaction): the top Via `branch` and the CSeq
//! method identify the transaction; the Call-ID and CSeq number are checked too, so a stray
//! response from an older probe (same socket, earlier round) can never be taken for this one.

use crate::sip::error::{Error, Result};
use rand::Rng;
use rand::distr::Alphanumeric;
use rsip::prelude::UntypedHeader;
use rsip::{Header, headers};
use std::net::{IpAddr, SocketAddr};

/// Largest datagram the prober reads; OPTIONS answers are well under 2 KiB, so anything bigger
/// is hostile or broken and is dropped without parsing.
pub const MAX_DATAGRAM: usize = 8 * 1024;
/// RFC 3261 magic cookie every branch must start with.
pub const BRANCH_MAGIC: &str = "z9hG4bK";
/// The `User-Agent` the prober sends.
pub const USER_AGENT: &str = "callpro";

/// One OPTIONS probe ready to send, with the identifiers its response must echo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionsRequest {
    /// Call-ID header value.
    pub call_id: String,
    /// Top Via branch (`z9hG4bK` + random).
    pub branch: String,
    /// From tag.
    pub from_tag: String,
    /// CSeq number (method is always OPTIONS).
    pub cseq: u32,
    /// The serialized request, sent unchanged on every retransmission (RFC 3261 §17.1.2.2).
    pub bytes: Vec<u8>,
}

/// The parts of a response the prober cares about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResponse {
    /// Status code, e.g. 200 or 404.
    pub status: u16,
    /// Call-ID header value.
    pub call_id: String,
    /// `branch` parameter of the top Via, if any.
    pub branch: Option<String>,
    /// CSeq number.
    pub cseq: u32,
    /// CSeq method, as sent.
    pub cseq_method: String,
}

fn token(rng: &mut impl Rng, len: usize) -> String {
    rng.sample_iter(Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// `host` as it appears in a SIP URI or Via: IPv6 literals need brackets.
fn uri_host(host: &str) -> String {
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => format!("[{v6}]"),
        _ => host.to_owned(),
    }
}

impl OptionsRequest {
    /// Builds an OPTIONS for `sip:host:port`, sent from `local` (used in Via, From and Contact).
    pub fn build(host: &str, port: u16, local: SocketAddr, rng: &mut impl Rng) -> Result<Self> {
        if host.is_empty()
            || host
                .chars()
                .any(|c| c.is_whitespace() || c == '<' || c == '>')
        {
            return Err(Error::InvalidTarget(host.to_owned()));
        }
        let host = uri_host(host);
        let target = format!("sip:{host}:{port}");
        // Built field by field: rsip 0.4's URI parser rejects and its printer un-brackets IPv6
        // literals, while a `Domain` host is printed verbatim.
        let uri = rsip::Uri {
            scheme: Some(rsip::Scheme::Sip),
            host_with_port: rsip::HostWithPort {
                host: rsip::Host::Domain(host.into()),
                port: Some(port.into()),
            },
            ..Default::default()
        };
        let branch = format!("{BRANCH_MAGIC}{}", token(rng, 24));
        let from_tag = token(rng, 12);
        let call_id = format!("{}@callpro", token(rng, 24));
        // Start low and random so two probers behind one NAT never collide on (Call-ID, CSeq).
        let cseq = rng.random_range(1..10_000u32);
        let sent_by = SocketAddr::new(local.ip(), local.port());

        let mut hdrs = rsip::Headers::default();
        // rport (RFC 3581): answer to the source port even if a NAT rewrote it.
        hdrs.push(headers::Via::new(format!("SIP/2.0/UDP {sent_by};rport;branch={branch}")).into());
        hdrs.push(headers::MaxForwards::new("70").into());
        hdrs.push(headers::From::new(format!("<sip:callpro@{sent_by}>;tag={from_tag}")).into());
        hdrs.push(headers::To::new(format!("<{target}>")).into());
        hdrs.push(headers::CallId::new(call_id.clone()).into());
        hdrs.push(headers::CSeq::new(format!("{cseq} OPTIONS")).into());
        hdrs.push(headers::Contact::new(format!("<sip:callpro@{sent_by}>")).into());
        hdrs.push(headers::Accept::new("application/sdp").into());
        hdrs.push(headers::UserAgent::new(USER_AGENT).into());
        hdrs.push(headers::ContentLength::new("0").into());

        let request = rsip::Request {
            method: rsip::Method::Options,
            uri,
            version: rsip::Version::V2,
            headers: hdrs,
            body: Vec::new(),
        };
        Ok(Self {
            call_id,
            branch,
            from_tag,
            cseq,
            bytes: request.to_string().into_bytes(),
        })
    }

    /// True if `response` answers this request (same branch, Call-ID and CSeq, method OPTIONS).
    pub fn matches(&self, response: &ProbeResponse) -> bool {
        response.branch.as_deref() == Some(self.branch.as_str())
            && response.call_id == self.call_id
            && response.cseq == self.cseq
            && response.cseq_method.eq_ignore_ascii_case("OPTIONS")
    }
}

/// Parses a datagram as a SIP response. Oversized input, requests, keep-alives and garbage are
/// errors, never panics.
pub fn parse_response(datagram: &[u8]) -> Result<ProbeResponse> {
    if datagram.len() > MAX_DATAGRAM {
        return Err(Error::TooLarge {
            len: datagram.len(),
            max: MAX_DATAGRAM,
        });
    }
    // Cheap pre-check: keeps CRLF keep-alives and requests away from the full parser.
    if !datagram.starts_with(b"SIP/2.0 ") {
        return Err(Error::NotAResponse);
    }
    let response = rsip::Response::try_from(datagram)?;
    let status = response.status_code.code();

    let mut call_id = None;
    let mut top_via = None;
    let mut cseq = None;
    for header in response.headers.iter() {
        match header {
            Header::CallId(v) => call_id = call_id.or(Some(v.value().to_owned())),
            Header::Via(v) => top_via = top_via.or(Some(v.value().to_owned())),
            Header::CSeq(v) => cseq = cseq.or(Some(v.value().to_owned())),
            // rsip knows only the long names; gateways may send the RFC 3261 compact forms.
            Header::Other(name, value) if name.eq_ignore_ascii_case("i") => {
                call_id = call_id.or(Some(value.clone()));
            }
            Header::Other(name, value) if name.eq_ignore_ascii_case("v") => {
                top_via = top_via.or(Some(value.clone()));
            }
            _ => {}
        }
    }
    let call_id = call_id
        .ok_or(Error::MissingHeader("Call-ID"))?
        .trim()
        .to_owned();
    let top_via = top_via.ok_or(Error::MissingHeader("Via"))?;
    let (cseq, cseq_method) = split_cseq(&cseq.ok_or(Error::MissingHeader("CSeq"))?)?;
    Ok(ProbeResponse {
        status,
        call_id,
        branch: via_branch(&top_via),
        cseq,
        cseq_method,
    })
}

/// `branch` of the first Via value (a Via header may carry several, comma-separated).
fn via_branch(via: &str) -> Option<String> {
    let first = via.split(',').next()?;
    first.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("branch")
            .then(|| value.trim().to_owned())
    })
}

fn split_cseq(value: &str) -> Result<(u32, String)> {
    let mut parts = value.split_whitespace();
    let number = parts.next().and_then(|n| n.parse::<u32>().ok());
    match (number, parts.next()) {
        (Some(n), Some(method)) => Ok((n, method.to_owned())),
        _ => Err(Error::Malformed(format!("CSeq {value:?}"))),
    }
}

#[cfg(test)]
#[path = "options_tests.rs"]
mod tests;
