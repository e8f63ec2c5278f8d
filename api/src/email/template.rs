//! A deliberately small renderer: `{{name}}` is replaced by a value, nothing else (no loops,
//! no conditionals, no partials). Known names are [`VARIABLES`] and `field.<name>` for the
//! lead's form fields; anything else is refused when a template is saved.

use std::collections::HashMap;

/// The variables every template may use, besides `field.<name>`.
pub const VARIABLES: &[&str] = &[
    "first_name",
    "last_name",
    "company",
    "confirm_url",
    "email",
    "phone",
];

/// Why a template cannot be saved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `{{name}}` with a name that is not a known variable.
    #[error("unknown variable `{{{{{0}}}}}`")]
    Unknown(String),
    /// `{{` without its `}}`.
    #[error("`{{{{` without a closing `}}}}`")]
    Unclosed,
}

fn known(name: &str) -> bool {
    if VARIABLES.contains(&name) {
        return true;
    }
    name.strip_prefix("field.").is_some_and(|field| {
        (1..=64).contains(&field.len())
            && field
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    })
}

/// Splits a template into literal text and variable names.
fn parts(template: &str) -> Result<Vec<(&str, Option<&str>)>, TemplateError> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or(TemplateError::Unclosed)?;
        out.push((&rest[..start], Some(after[..end].trim())));
        rest = &after[end + 2..];
    }
    out.push((rest, None));
    Ok(out)
}

/// Checks that every variable of `template` is known.
pub fn check(template: &str) -> Result<(), TemplateError> {
    for (_, name) in parts(template)? {
        if let Some(name) = name
            && !known(name)
        {
            return Err(TemplateError::Unknown(name.to_owned()));
        }
    }
    Ok(())
}

/// The variable names `template` uses (none when it is malformed).
pub fn names(template: &str) -> Vec<&str> {
    parts(template)
        .map(|parts| parts.into_iter().filter_map(|(_, name)| name).collect())
        .unwrap_or_default()
}

/// Values of the variables (`first_name`, `field.city`, ...); missing ones render empty.
pub type Values = HashMap<String, String>;

/// Renders `template`, HTML-escaping values when `html` is set.
pub fn render(template: &str, values: &Values, html: bool) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len());
    for (text, name) in parts(template)? {
        out.push_str(text);
        if let Some(value) = name.and_then(|n| values.get(n)) {
            if html {
                escape_into(&mut out, value);
            } else {
                out.push_str(value);
            }
        }
    }
    Ok(out)
}

/// Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attribute values.
pub fn escape_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Sample values for previews.
pub fn sample_values() -> Values {
    [
        ("first_name", "Jeanne"),
        ("last_name", "Dupont <sample>"),
        ("company", "Dupont & Fils"),
        ("confirm_url", "https://example.com/confirm/sample-token"),
        ("email", "jeanne.dupont@example.com"),
        ("phone", "+33612345678"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_known_variables_and_escapes_html() {
        let mut values = Values::new();
        values.insert("first_name".into(), "<b>Jo</b>".into());
        values.insert("field.city".into(), "Lyon".into());
        let t = "Hi {{ first_name }} from {{field.city}}{{phone}}!";
        assert_eq!(
            render(t, &values, true).unwrap(),
            "Hi &lt;b&gt;Jo&lt;/b&gt; from Lyon!"
        );
        assert_eq!(
            render(t, &values, false).unwrap(),
            "Hi <b>Jo</b> from Lyon!"
        );
    }

    #[test]
    fn refuses_unknown_and_unclosed() {
        assert_eq!(
            check("{{ nope }}"),
            Err(TemplateError::Unknown("nope".into()))
        );
        assert_eq!(
            check("{{field.}}"),
            Err(TemplateError::Unknown("field.".into()))
        );
        assert_eq!(check("a {{email"), Err(TemplateError::Unclosed));
        assert!(check("{{email}} {{field.zip_code}} }} plain").is_ok());
    }
}
