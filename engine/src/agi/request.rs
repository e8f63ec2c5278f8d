//! The FastAGI environment block Asterisk sends first: `agi_key: value` lines, LF-terminated,
//! closed by an empty line, parsed into an [`AgiRequest`].
//!
//! Values are kept exactly as sent, including Asterisk's `unknown` placeholder for missing data
//! (see [`known`]). The script path and its query string come from `agi_network_script`, or from
//! `agi_request` when the former is absent.

/// Maps Asterisk's `unknown` placeholder (and empty values) to `None`.
pub fn known(value: &str) -> Option<&str> {
    if value.is_empty() || value == "unknown" {
        None
    } else {
        Some(value)
    }
}

/// The parsed environment of one FastAGI call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgiRequest {
    /// `agi_network` (`yes` for FastAGI).
    pub network: String,
    /// `agi_network_script`: script path and query, e.g. `test?x=1`.
    pub network_script: String,
    /// `agi_request`: the full URL, e.g. `agi://127.0.0.1:4573/test?x=1`.
    pub request: String,
    /// `agi_channel`: the channel name.
    pub channel: String,
    /// `agi_language`.
    pub language: String,
    /// `agi_type`: channel technology (`PJSIP`, `Local`, ...).
    pub channel_type: String,
    /// `agi_uniqueid`: the channel's Uniqueid, the key that ties AGI to AMI events.
    pub uniqueid: String,
    /// `agi_version`: the Asterisk version.
    pub version: String,
    /// `agi_callerid`: caller number.
    pub callerid: String,
    /// `agi_calleridname`: caller name.
    pub calleridname: String,
    /// `agi_callingpres`.
    pub callingpres: String,
    /// `agi_callingani2`.
    pub callingani2: String,
    /// `agi_callington`.
    pub callington: String,
    /// `agi_callingtns`.
    pub callingtns: String,
    /// `agi_dnid`: dialed number (the DID on inbound calls).
    pub dnid: String,
    /// `agi_rdnis`: redirecting number.
    pub rdnis: String,
    /// `agi_context`.
    pub context: String,
    /// `agi_extension`.
    pub extension: String,
    /// `agi_priority`.
    pub priority: String,
    /// `agi_enhanced`.
    pub enhanced: String,
    /// `agi_accountcode`.
    pub accountcode: String,
    /// `agi_threadid`.
    pub threadid: String,
    /// `agi_arg_1..N`, ordered by N.
    pub args: Vec<String>,
    /// The script path without query, e.g. `test` or `outbound/answered`.
    pub script: String,
    /// The query parameters of the script, in order, percent-decoded.
    pub query: Vec<(String, String)>,
    /// Any other `key: value` line, as sent.
    pub extra: Vec<(String, String)>,
}

impl AgiRequest {
    /// Parses the lines of an environment block (the closing empty line is optional).
    /// Lines without `:` are ignored: they carry nothing we could use.
    pub fn parse(block: &str) -> AgiRequest {
        let mut req = AgiRequest::default();
        let mut args: Vec<(u32, String)> = Vec::new();
        for line in block.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let key = key.trim();
            // Exactly one space follows the colon on the wire; keep any further spaces.
            let value = value.strip_prefix(' ').unwrap_or(value).to_owned();
            if let Some(n) = key.strip_prefix("agi_arg_").and_then(|n| n.parse().ok()) {
                args.push((n, value));
                continue;
            }
            let slot = match key {
                "agi_network" => &mut req.network,
                "agi_network_script" => &mut req.network_script,
                "agi_request" => &mut req.request,
                "agi_channel" => &mut req.channel,
                "agi_language" => &mut req.language,
                "agi_type" => &mut req.channel_type,
                "agi_uniqueid" => &mut req.uniqueid,
                "agi_version" => &mut req.version,
                "agi_callerid" => &mut req.callerid,
                "agi_calleridname" => &mut req.calleridname,
                "agi_callingpres" => &mut req.callingpres,
                "agi_callingani2" => &mut req.callingani2,
                "agi_callington" => &mut req.callington,
                "agi_callingtns" => &mut req.callingtns,
                "agi_dnid" => &mut req.dnid,
                "agi_rdnis" => &mut req.rdnis,
                "agi_context" => &mut req.context,
                "agi_extension" => &mut req.extension,
                "agi_priority" => &mut req.priority,
                "agi_enhanced" => &mut req.enhanced,
                "agi_accountcode" => &mut req.accountcode,
                "agi_threadid" => &mut req.threadid,
                _ => {
                    req.extra.push((key.to_owned(), value));
                    continue;
                }
            };
            *slot = value;
        }
        args.sort_by_key(|(n, _)| *n);
        req.args = args.into_iter().map(|(_, v)| v).collect();
        let (script, query) = split_script(script_source(&req.network_script, &req.request));
        req.script = script.to_owned();
        req.query = query;
        req
    }

    /// The first query parameter named `key`.
    pub fn query_param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// `agi_network_script` when present, else the path part of the `agi://host:port/` URL.
fn script_source<'a>(network_script: &'a str, request: &'a str) -> &'a str {
    if !network_script.is_empty() {
        return network_script;
    }
    match request.split_once("://") {
        Some((_, rest)) => rest.split_once('/').map_or("", |(_, path)| path),
        None => request,
    }
}

fn split_script(source: &str) -> (&str, Vec<(String, String)>) {
    let Some((path, query)) = source.split_once('?') else {
        return (source, Vec::new());
    };
    let params = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    (path, params)
}

/// Decodes `%XX` escapes; malformed escapes are kept literally, `+` is left alone (dialplan
/// authors write URLs by hand, not HTML forms).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| {
            std::str::from_utf8(h)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        });
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENV: &str = "agi_network: yes\nagi_network_script: ivr?did=0142000000&lang=fr%20FR\nagi_request: agi://127.0.0.1:4573/ivr?did=0142000000\nagi_channel: PJSIP/yeastar-paris-00000004\nagi_type: PJSIP\nagi_uniqueid: 1795441152.22\nagi_dnid: 0142000000\nagi_rdnis: unknown\nagi_accountcode: \nagi_arg_2: b\nagi_arg_1: a b\nagi_custom: x\n\n";

    #[test]
    fn parses_fields_args_and_query() {
        let r = AgiRequest::parse(ENV);
        assert_eq!(r.network, "yes");
        assert_eq!(r.channel_type, "PJSIP");
        assert_eq!(r.uniqueid, "1795441152.22");
        assert_eq!(r.rdnis, "unknown");
        assert_eq!(known(&r.rdnis), None);
        assert_eq!(r.accountcode, "");
        assert_eq!(r.args, ["a b", "b"]);
        assert_eq!(r.script, "ivr");
        assert_eq!(r.query_param("did"), Some("0142000000"));
        assert_eq!(r.query_param("lang"), Some("fr FR"));
        assert_eq!(r.extra, [("agi_custom".to_owned(), "x".to_owned())]);
    }

    #[test]
    fn script_falls_back_to_request_url() {
        let r = AgiRequest::parse("agi_request: agi://10.0.0.1/outbound/answered?id=7\n");
        assert_eq!(r.script, "outbound/answered");
        assert_eq!(r.query_param("id"), Some("7"));
        let r = AgiRequest::parse("agi_network_script: outbound/answered\n");
        assert_eq!(r.script, "outbound/answered");
        assert!(r.query.is_empty());
    }

    #[test]
    fn percent_decoding_is_forgiving() {
        assert_eq!(percent_decode("a%2Cb%zz%4"), "a,b%zz%4");
    }
}
