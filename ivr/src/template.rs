//! `${NAME}` templates in flow parameters (variable values, condition subjects, lookup URLs).

use std::collections::BTreeMap;

/// Whether `name` is a flow variable name: a capital letter, then capitals, digits or `_`.
pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Checks that every `${` is closed and names a variable.
pub fn check(text: &str) -> Result<(), String> {
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!("`${{` without a closing `}}` in `{text}`"));
        };
        let name = &after[..end];
        if !is_variable_name(name) {
            return Err(format!("`${{{name}}}` does not name a variable"));
        }
        rest = &after[end + 1..];
    }
    Ok(())
}

/// Replaces every `${NAME}` by the variable's value (empty when unset), passing each value
/// through `encode` first.
pub fn render(
    text: &str,
    vars: &BTreeMap<String, String>,
    encode: impl Fn(&str) -> String,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        if let Some(value) = vars.get(&after[..end]) {
            out.push_str(&encode(value));
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Percent-encodes everything but RFC 3986 unreserved characters (for values put into URLs).
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_checks() {
        let vars = BTreeMap::from([("ACCOUNT".to_owned(), "12 34/5".to_owned())]);
        assert_eq!(
            render(
                "https://crm/a/${ACCOUNT}?x=${MISSING}",
                &vars,
                percent_encode
            ),
            "https://crm/a/12%2034%2F5?x="
        );
        assert_eq!(render("${ACCOUNT}!", &vars, str::to_owned), "12 34/5!");
        assert!(check("a ${ACCOUNT} b").is_ok());
        assert!(check("a ${ACCOUNT b").is_err());
        assert!(check("${lower}").is_err());
        assert!(is_variable_name("CUSTOMER_TIER2"));
        assert!(!is_variable_name("2X"));
    }
}
