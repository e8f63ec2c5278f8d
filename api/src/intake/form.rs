//! One public lead form: the [`FieldSpec`]s it asks for, checked by [`check_fields`]; a
//! posted submission, validated by [`validate_submission`] into a [`Submission`]; and the page
//! that asks for it, rendered by [`render_html`].
//!
//! The browser and the server apply the same rules. Every rule of a field is checked here,
//! and where HTML5 has an attribute for it the page states it as well; the server stays the
//! authority, the attributes only spare people a round trip.
//!
//! Bots are caught by a honeypot: an input named [`HONEYPOT`] that people never see and bots
//! fill in (see [`is_spam`]).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::{LazyLock, Mutex, PoisonError};

use callpro_dialer::phone::{self, Normalized, PhoneError};
use chrono::NaiveDate;
use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::email::template::escape_into;
use crate::error::FieldError;

/// Name of the honeypot input, which no form may use for a field of its own.
pub const HONEYPOT: &str = "website_url";

/// Most fields a form may have.
const MAX_FIELDS: usize = 100;
/// Longest field name, in characters.
const MAX_NAME_LEN: usize = 64;
/// Longest label, in characters.
const MAX_LABEL_LEN: usize = 200;
/// Longest pattern, in characters.
const MAX_PATTERN_LEN: usize = 500;
/// Most memory a compiled pattern may take, in bytes.
const PATTERN_SIZE_LIMIT: usize = 64 * 1024;
/// Most options a select may have.
const MAX_OPTIONS: usize = 200;
/// Longest option, in characters.
const MAX_OPTION_LEN: usize = 200;
/// Largest `max_length` a form may set, in characters.
const MAX_MAX_LENGTH: u32 = 10_000;
/// Longest submitted value of any field, in bytes, whatever the field's `max_length`.
const MAX_VALUE_BYTES: usize = 10_000;

/// Field names that fill the lead's own columns: the type each must have and the browser
/// autofill token that suits it.
const WELL_KNOWN: [(&str, FieldType, &str); 5] = [
    ("first_name", FieldType::Text, "given-name"),
    ("last_name", FieldType::Text, "family-name"),
    ("email", FieldType::Email, "email"),
    ("phone", FieldType::Phone, "tel"),
    ("company", FieldType::Text, "organization"),
];

/// A valid region handed to the phone parser for numbers written with a leading `+`, which
/// are read without a region: it only matters for numbers written in national form.
const REGION_OF_INTERNATIONAL: &str = "FR";

/// The tiny stylesheet of the form page; `.aux` hides the honeypot.
const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;padding:1rem;\
background:#f6f7f9;color:#1d2330}main{max-width:32rem;margin:0 auto}\
.field{margin:0 0 1rem}label{display:block;margin:0 0 .25rem}\
input,select,textarea{box-sizing:border-box;width:100%;padding:.5rem;font:inherit}\
.checkbox label{display:inline}.checkbox input{width:auto;margin-right:.5rem}\
button{padding:.6rem 1.2rem;font:inherit}.aux{position:absolute;left:-10000px}\
.errors,.error{color:#a4161a}";

/// What kind of value a field asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// One line of text.
    Text,
    /// An email address; the domain is stored in lowercase.
    Email,
    /// A phone number, stored in E.164 form.
    Phone,
    /// A finite number, stored as a JSON number.
    Number,
    /// A calendar date written `YYYY-MM-DD`.
    Date,
    /// One of the field's `options`.
    Select,
    /// A box to tick, stored as `true` or `false`.
    Checkbox,
    /// Several lines of text.
    Textarea,
}

impl FieldType {
    /// The name of the type in JSON.
    fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Email => "email",
            FieldType::Phone => "phone",
            FieldType::Number => "number",
            FieldType::Date => "date",
            FieldType::Select => "select",
            FieldType::Checkbox => "checkbox",
            FieldType::Textarea => "textarea",
        }
    }

    /// The `max_length` of a field that sets none; `None` for types without lengths.
    fn default_max_length(self) -> Option<u32> {
        match self {
            FieldType::Text => Some(200),
            FieldType::Textarea => Some(5000),
            FieldType::Email => Some(254),
            FieldType::Phone => Some(32),
            _ => None,
        }
    }

    /// Whether `min_length` and `max_length` apply.
    fn has_length(self) -> bool {
        self.default_max_length().is_some()
    }

    /// Whether `pattern` applies.
    fn has_pattern(self) -> bool {
        matches!(self, FieldType::Text | FieldType::Textarea)
    }
}

/// One field of a form, as its owner defines it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// The key of the value in a submission: 1 to 64 of `a-z`, `0-9` and `_`, starting with a
    /// letter, unique in the form. `first_name`, `last_name`, `email`, `phone` and `company`
    /// fill the lead's columns.
    pub name: String,
    /// The text shown to people, 1 to 200 characters.
    pub label: String,
    /// What kind of value the field asks for.
    #[serde(rename = "type")]
    pub kind: FieldType,
    /// Whether a value is needed; for a checkbox, whether it must be ticked.
    #[serde(default)]
    pub required: bool,
    /// Fewest characters (text, textarea, email, phone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    /// Most characters (text, textarea, email, phone), at most 10,000; defaults to 200 for
    /// text, 5,000 for textarea, 254 for email and 32 for phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// A regular expression the whole value must match (text, textarea), at most 500
    /// characters. Browsers check it too, on text fields, if their syntax accepts it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Smallest value (number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Largest value (number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// The allowed values (select, where they are required): 1 to 200 distinct values of 1 to
    /// 200 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<String>>,
    /// The country, ISO 3166 alpha-2 in capitals, whose national numbers people may type
    /// (phone). Without it, numbers must be international: `+` and the country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_country: Option<String>,
}

/// Every problem of a form's definition, empty when there is none.
///
/// Paths look like `fields[2].pattern`; `fields` itself is blamed for too many fields and for
/// a form without a field named `email` or `phone`.
pub fn check_fields(fields: &[FieldSpec]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if fields.len() > MAX_FIELDS {
        errors.push(FieldError::new(
            "fields",
            "too_many_fields",
            format!("a form has at most {MAX_FIELDS} fields"),
        ));
    }
    let mut names = HashSet::new();
    for (i, field) in fields.iter().enumerate() {
        let path = format!("fields[{i}]");
        check_field(&mut errors, &path, field);
        if !names.insert(field.name.as_str()) {
            errors.push(FieldError::new(
                format!("{path}.name"),
                "duplicate_name",
                "another field has this name",
            ));
        }
    }
    if !fields
        .iter()
        .any(|f| f.name == "email" || f.name == "phone")
    {
        errors.push(FieldError::new(
            "fields",
            "contact_field_required",
            "a form needs a field named email or phone",
        ));
    }
    errors
}

/// The problems of one field, blamed on `path.<attribute>`.
fn check_field(errors: &mut Vec<FieldError>, path: &str, field: &FieldSpec) {
    check_name(errors, path, field);
    check_text(
        errors,
        &format!("{path}.label"),
        &field.label,
        MAX_LABEL_LEN,
    );
    check_lengths(errors, path, field);
    check_pattern(errors, path, field);
    check_bounds(errors, path, field);
    check_options(errors, path, field);
    check_country(errors, path, field);
}

fn check_name(errors: &mut Vec<FieldError>, path: &str, field: &FieldSpec) {
    let at = format!("{path}.name");
    let name = field.name.as_str();
    if name.is_empty() {
        errors.push(FieldError::new(at, "required", "must not be empty"));
    } else if !is_valid_name(name) {
        errors.push(FieldError::new(
            at,
            "invalid_name",
            format!(
                "must be at most {MAX_NAME_LEN} lowercase letters, digits or underscores, \
                 starting with a letter"
            ),
        ));
    } else if name == HONEYPOT {
        errors.push(FieldError::new(
            at,
            "reserved_name",
            "is reserved for the form's spam trap",
        ));
    } else if let Some(kind) = well_known_type(name)
        && kind != field.kind
    {
        errors.push(FieldError::new(
            format!("{path}.type"),
            "wrong_type",
            format!("a field named {name} must be of type {}", kind.as_str()),
        ));
    }
}

/// 1 to 64 of `a-z`, `0-9` and `_`, starting with a letter.
fn is_valid_name(name: &str) -> bool {
    let starts_with_letter = name.bytes().next().is_some_and(|b| b.is_ascii_lowercase());
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_';
    starts_with_letter && name.len() <= MAX_NAME_LEN && name.bytes().all(allowed)
}

/// The type a well-known field name must have.
fn well_known_type(name: &str) -> Option<FieldType> {
    WELL_KNOWN
        .iter()
        .find(|(known, _, _)| *known == name)
        .map(|(_, kind, _)| *kind)
}

/// Text shown to people: not blank, at most `max` characters, without NUL.
fn check_text(errors: &mut Vec<FieldError>, at: &str, value: &str, max: usize) {
    if value.trim().is_empty() {
        errors.push(FieldError::new(at, "required", "must not be empty"));
    } else if value.chars().count() > max {
        errors.push(FieldError::new(
            at,
            "too_long",
            format!("must be at most {max} characters"),
        ));
    } else if value.contains('\0') {
        errors.push(FieldError::new(
            at,
            "invalid_characters",
            "must not contain NUL characters",
        ));
    }
}

/// Records that `attribute` does not apply to the field's type.
fn not_allowed(errors: &mut Vec<FieldError>, path: &str, attribute: &str, kind: FieldType) {
    errors.push(FieldError::new(
        format!("{path}.{attribute}"),
        "not_allowed_for_type",
        format!("does not apply to {} fields", kind.as_str()),
    ));
}

fn check_lengths(errors: &mut Vec<FieldError>, path: &str, field: &FieldSpec) {
    if !field.kind.has_length() {
        for (attribute, value) in [
            ("min_length", field.min_length),
            ("max_length", field.max_length),
        ] {
            if value.is_some() {
                not_allowed(errors, path, attribute, field.kind);
            }
        }
        return;
    }
    if let Some(max) = field.max_length
        && !(1..=MAX_MAX_LENGTH).contains(&max)
    {
        errors.push(FieldError::new(
            format!("{path}.max_length"),
            "out_of_range",
            format!("must be between 1 and {MAX_MAX_LENGTH}"),
        ));
    }
    if let (Some(min), Some(max)) = (field.min_length, max_length(field))
        && min > max
    {
        errors.push(FieldError::new(
            format!("{path}.min_length"),
            "invalid_range",
            format!("must not exceed max_length ({max})"),
        ));
    }
}

/// The field's `max_length`, or its type's default.
fn max_length(field: &FieldSpec) -> Option<u32> {
    field.max_length.or(field.kind.default_max_length())
}

fn check_pattern(errors: &mut Vec<FieldError>, path: &str, field: &FieldSpec) {
    let Some(pattern) = &field.pattern else {
        return;
    };
    let at = format!("{path}.pattern");
    if !field.kind.has_pattern() {
        not_allowed(errors, path, "pattern", field.kind);
    } else if pattern.is_empty() {
        errors.push(FieldError::new(at, "invalid_pattern", "must not be empty"));
    } else if pattern.chars().count() > MAX_PATTERN_LEN {
        errors.push(FieldError::new(
            at,
            "too_long",
            format!("must be at most {MAX_PATTERN_LEN} characters"),
        ));
    } else if let Err(err) = compile_pattern(pattern) {
        errors.push(FieldError::new(at, "invalid_pattern", err.to_string()));
    }
}

/// Compiles a pattern to match whole values only.
///
/// The pattern is first compiled alone, so that one such as `a)|(b` cannot close the
/// anchoring group and match any value that merely contains a `b`.
fn compile_pattern(pattern: &str) -> Result<Regex, regex::Error> {
    build_regex(pattern)?;
    build_regex(&format!("^(?:{pattern})$"))
}

/// Most compiled submission patterns kept; past it the cache starts over.
const PATTERN_CACHE_SIZE: usize = 512;

/// [`compile_pattern`] for submissions: every post to a form checks the same few patterns,
/// and compiling one costs far more than matching it, so each is compiled once per process.
fn submission_pattern(pattern: &str) -> Result<Regex, regex::Error> {
    static CACHE: LazyLock<Mutex<HashMap<String, Regex>>> = LazyLock::new(Mutex::default);
    let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(regex) = cache.get(pattern) {
        return Ok(regex.clone());
    }
    let regex = compile_pattern(pattern)?;
    if cache.len() >= PATTERN_CACHE_SIZE {
        cache.clear();
    }
    cache.insert(pattern.to_owned(), regex.clone());
    Ok(regex)
}

fn build_regex(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .size_limit(PATTERN_SIZE_LIMIT)
        .build()
}

fn check_bounds(errors: &mut Vec<FieldError>, path: &str, field: &FieldSpec) {
    for (attribute, value) in [("min", field.min), ("max", field.max)] {
        let Some(value) = value else {
            continue;
        };
        if field.kind != FieldType::Number {
            not_allowed(errors, path, attribute, field.kind);
        } else if !value.is_finite() {
            errors.push(FieldError::new(
                format!("{path}.{attribute}"),
                "invalid_number",
                "must be a finite number",
            ));
        }
    }
    if field.kind == FieldType::Number
        && let (Some(min), Some(max)) = (field.min, field.max)
        && min > max
    {
        errors.push(FieldError::new(
            format!("{path}.min"),
            "invalid_range",
            format!("must not exceed max ({max})"),
        ));
    }
}

fn check_options(errors: &mut Vec<FieldError>, path: &str, field: &FieldSpec) {
    let at = format!("{path}.options");
    let options = match (&field.options, field.kind) {
        (None, FieldType::Select) => {
            errors.push(FieldError::new(
                at,
                "missing_options",
                "a select needs options",
            ));
            return;
        }
        (None, _) => return,
        (Some(_), kind) if kind != FieldType::Select => {
            not_allowed(errors, path, "options", kind);
            return;
        }
        (Some(options), _) => options,
    };
    if options.is_empty() {
        errors.push(FieldError::new(
            at,
            "missing_options",
            "a select needs options",
        ));
    } else if options.len() > MAX_OPTIONS {
        errors.push(FieldError::new(
            at,
            "too_many_options",
            format!("a select has at most {MAX_OPTIONS} options"),
        ));
    } else {
        check_each_option(errors, &at, options);
    }
}

fn check_each_option(errors: &mut Vec<FieldError>, at: &str, options: &[String]) {
    let mut seen = HashSet::new();
    for (j, option) in options.iter().enumerate() {
        let at = format!("{at}[{j}]");
        let count = errors.len();
        check_text(errors, &at, option, MAX_OPTION_LEN);
        if errors.len() > count {
            continue;
        }
        if option.trim() != option {
            errors.push(FieldError::new(
                at,
                "invalid_option",
                "must not begin or end with blanks",
            ));
        } else if !seen.insert(option.as_str()) {
            errors.push(FieldError::new(
                at,
                "duplicate_option",
                "another option has this value",
            ));
        }
    }
}

fn check_country(errors: &mut Vec<FieldError>, path: &str, field: &FieldSpec) {
    let Some(country) = &field.default_country else {
        return;
    };
    if field.kind != FieldType::Phone {
        not_allowed(errors, path, "default_country", field.kind);
    } else if !is_known_country(country) {
        errors.push(FieldError::new(
            format!("{path}.default_country"),
            "invalid_country",
            "must be an ISO 3166 country code in capitals, such as FR",
        ));
    }
}

/// Two capital letters that the phone number metadata knows as a country.
fn is_known_country(code: &str) -> bool {
    let shaped = code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase());
    // An international number is read without the region, so only the region can fail here.
    shaped
        && !matches!(
            phone::normalize("+33612345678", code),
            Err(PhoneError::UnknownRegion(_))
        )
}

/// A valid submission, normalized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Submission {
    /// The value of the field named `first_name`.
    pub first_name: Option<String>,
    /// The value of the field named `last_name`.
    pub last_name: Option<String>,
    /// The value of the field named `email`, its domain in lowercase.
    pub email: Option<String>,
    /// The value of the field named `phone`, in E.164 form.
    pub phone: Option<String>,
    /// The ISO 3166 alpha-2 country of `phone`; `None` for non-geographic numbers.
    pub region: Option<String>,
    /// The value of the field named `company`.
    pub company: Option<String>,
    /// The value of every field of the form, well-known ones included, keyed by field name:
    /// strings, numbers for number fields and booleans for checkboxes. Optional fields left
    /// empty are absent; an unticked checkbox is `false`.
    #[schema(value_type = Object)]
    pub values: Map<String, Value>,
}

/// Validates a submission against the form's fields, or reports every failing field (at most
/// one error each, blamed on the field's name).
///
/// `input` holds the posted values: strings (always, for a urlencoded post) or JSON numbers
/// and booleans. Keys that are not fields of the form, such as a submit button's, are ignored.
/// The fields are expected to have passed [`check_fields`]; a pattern that does not compile
/// rejects the field's value with `invalid_pattern`.
pub fn validate_submission(
    fields: &[FieldSpec],
    input: &Map<String, Value>,
) -> Result<Submission, Vec<FieldError>> {
    let mut values = Map::new();
    let mut region = None;
    let mut errors = Vec::new();
    for field in fields {
        match clean(field, input.get(&field.name)) {
            Ok(None) => {}
            Ok(Some(value)) => {
                if let Clean::Phone(number) = &value
                    && field.name == "phone"
                {
                    region = number.region.clone();
                }
                values.insert(field.name.clone(), value.into_json());
            }
            Err(err) => errors.push(err),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Submission {
        first_name: string_value(&values, "first_name"),
        last_name: string_value(&values, "last_name"),
        email: string_value(&values, "email"),
        phone: string_value(&values, "phone"),
        region,
        company: string_value(&values, "company"),
        values,
    })
}

/// Whether the honeypot input was filled in, which only bots do.
pub fn is_spam(input: &Map<String, Value>) -> bool {
    match input.get(HONEYPOT) {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(_) => true,
    }
}

/// A field's value once validated.
enum Clean {
    Text(String),
    Phone(Normalized),
    Number(f64),
    Bool(bool),
}

impl Clean {
    fn into_json(self) -> Value {
        match self {
            Clean::Text(text) => Value::String(text),
            Clean::Phone(number) => Value::String(number.e164),
            Clean::Number(number) => Value::from(number),
            Clean::Bool(checked) => Value::Bool(checked),
        }
    }
}

fn string_value(values: &Map<String, Value>, name: &str) -> Option<String> {
    values.get(name).and_then(Value::as_str).map(str::to_owned)
}

/// An error blamed on the field.
fn reject(field: &FieldSpec, code: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(field.name.as_str(), code, message)
}

/// The field's validated value; `None` when an optional field is left empty.
fn clean(field: &FieldSpec, raw: Option<&Value>) -> Result<Option<Clean>, FieldError> {
    let text = scalar_text(field, raw)?;
    if field.kind == FieldType::Checkbox {
        return clean_checkbox(field, text.as_deref()).map(Some);
    }
    let Some(text) = text else {
        return if field.required {
            Err(reject(field, "required", "is required"))
        } else {
            Ok(None)
        };
    };
    check_length(field, &text)?;
    let value = match field.kind {
        FieldType::Text | FieldType::Textarea => clean_text(field, text),
        FieldType::Email => clean_email(field, &text),
        FieldType::Phone => clean_phone(field, &text),
        FieldType::Number => clean_number(field, &text),
        FieldType::Date => clean_date(field, text),
        FieldType::Select => clean_select(field, text),
        FieldType::Checkbox => clean_checkbox(field, Some(&text)),
    }?;
    Ok(Some(value))
}

/// The posted value as trimmed text; `None` when absent, `null` or blank.
fn scalar_text(field: &FieldSpec, raw: Option<&Value>) -> Result<Option<String>, FieldError> {
    let text = match raw {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => Cow::Borrowed(s.as_str()),
        Some(Value::Bool(b)) => Cow::Owned(b.to_string()),
        Some(Value::Number(n)) => Cow::Owned(n.to_string()),
        Some(Value::Array(_) | Value::Object(_)) => {
            return Err(reject(
                field,
                "invalid_type",
                "must be a single value, not a list or an object",
            ));
        }
    };
    if text.len() > MAX_VALUE_BYTES {
        return Err(reject(
            field,
            "too_long",
            format!("must be at most {MAX_VALUE_BYTES} bytes"),
        ));
    }
    if text.contains('\0') {
        return Err(reject(
            field,
            "invalid_characters",
            "must not contain NUL characters",
        ));
    }
    let trimmed = text.trim();
    Ok((!trimmed.is_empty()).then(|| trimmed.to_owned()))
}

/// `min_length` and `max_length` (or its default), in characters, for the types they apply to.
fn check_length(field: &FieldSpec, text: &str) -> Result<(), FieldError> {
    if !field.kind.has_length() {
        return Ok(());
    }
    let len = text.chars().count();
    if let Some(min) = field.min_length
        && len < min as usize
    {
        return Err(reject(
            field,
            "too_short",
            format!("must be at least {min} characters"),
        ));
    }
    if let Some(max) = max_length(field)
        && len > max as usize
    {
        return Err(reject(
            field,
            "too_long",
            format!("must be at most {max} characters"),
        ));
    }
    Ok(())
}

fn clean_text(field: &FieldSpec, text: String) -> Result<Clean, FieldError> {
    if let Some(pattern) = &field.pattern {
        let regex = submission_pattern(pattern).map_err(|_| {
            reject(
                field,
                "invalid_pattern",
                "the form's pattern for this field is invalid",
            )
        })?;
        if !regex.is_match(&text) {
            return Err(reject(
                field,
                "pattern_mismatch",
                "does not match the expected format",
            ));
        }
    }
    Ok(Clean::Text(text))
}

/// A valid address, its domain in lowercase.
fn clean_email(field: &FieldSpec, text: &str) -> Result<Clean, FieldError> {
    if !email_address::EmailAddress::is_valid(text) {
        return Err(reject(
            field,
            "invalid_email",
            "must be a valid email address",
        ));
    }
    let email = match text.rsplit_once('@') {
        Some((local, domain)) => format!("{local}@{}", domain.to_lowercase()),
        None => text.to_owned(),
    };
    Ok(Clean::Text(email))
}

/// The number in E.164 form. Without a default country, only international numbers are
/// accepted: a national number's country would be a guess.
fn clean_phone(field: &FieldSpec, text: &str) -> Result<Clean, FieldError> {
    let region = match field.default_country.as_deref() {
        Some(country) => country,
        None if text.starts_with('+') => REGION_OF_INTERNATIONAL,
        None => {
            return Err(reject(
                field,
                "invalid_phone",
                "must be written in international form, with + and the country code \
                 (e.g. +33 6 12 34 56 78)",
            ));
        }
    };
    phone::normalize(text, region)
        .map(Clean::Phone)
        .map_err(|err| reject(field, "invalid_phone", err.to_string()))
}

fn clean_number(field: &FieldSpec, text: &str) -> Result<Clean, FieldError> {
    let Some(number) = text.parse::<f64>().ok().filter(|n| n.is_finite()) else {
        return Err(reject(field, "invalid_number", "must be a number"));
    };
    if let Some(min) = field.min
        && number < min
    {
        return Err(reject(
            field,
            "too_small",
            format!("must be at least {min}"),
        ));
    }
    if let Some(max) = field.max
        && number > max
    {
        return Err(reject(field, "too_large", format!("must be at most {max}")));
    }
    Ok(Clean::Number(number))
}

/// A calendar date written exactly `YYYY-MM-DD`.
fn clean_date(field: &FieldSpec, text: String) -> Result<Clean, FieldError> {
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if shaped && NaiveDate::parse_from_str(&text, "%Y-%m-%d").is_ok() {
        Ok(Clean::Text(text))
    } else {
        Err(reject(
            field,
            "invalid_date",
            "must be a date written YYYY-MM-DD",
        ))
    }
}

fn clean_select(field: &FieldSpec, text: String) -> Result<Clean, FieldError> {
    let options = field.options.as_deref().unwrap_or_default();
    if options.contains(&text) {
        Ok(Clean::Text(text))
    } else {
        Err(reject(
            field,
            "not_allowed",
            "must be one of the listed options",
        ))
    }
}

/// Ticked or not; a required checkbox, such as a consent, must be ticked.
fn clean_checkbox(field: &FieldSpec, text: Option<&str>) -> Result<Clean, FieldError> {
    let checked = match text {
        None => false,
        Some(text) => parse_checked(text)
            .ok_or_else(|| reject(field, "invalid_boolean", "must be true or false"))?,
    };
    if field.required && !checked {
        return Err(reject(field, "required", "must be checked"));
    }
    Ok(Clean::Bool(checked))
}

/// What browsers and API clients send for a ticked or unticked box.
fn parse_checked(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "on" | "1" | "yes" => Some(true),
        "false" | "off" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// What the public form page shows.
#[derive(Debug, Clone, Copy)]
pub struct FormPage<'a> {
    /// The page's title and heading.
    pub title: &'a str,
    /// The URL the form posts to.
    pub action: &'a str,
    /// A paragraph shown above the submit button, such as how the data will be used.
    pub consent_text: Option<&'a str>,
    /// The form's fields, in order.
    pub fields: &'a [FieldSpec],
    /// The problems of a refused post, listed above the form and under their fields.
    pub errors: &'a [FieldError],
    /// What a refused post carried, put back in the fields so nothing is typed twice.
    pub values: Option<&'a Map<String, Value>>,
}

/// The public form as a complete HTML5 document, every user-provided text escaped.
///
/// Each field carries its rules as attributes (`required`, `minlength`, `maxlength`,
/// `pattern`, `min`, `max`), so that browsers check what [`validate_submission`] checks.
/// Textareas have no `pattern` attribute in HTML: their pattern is checked by the server only.
pub fn render_html(page: &FormPage<'_>) -> String {
    let mut out = String::with_capacity(4096);
    out.push_str(
        "<!doctype html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
    );
    escape_into(&mut out, page.title);
    out.push_str("</title>\n<style>");
    out.push_str(STYLE);
    out.push_str("</style>\n</head>\n<body>\n<main>\n<h1>");
    escape_into(&mut out, page.title);
    out.push_str("</h1>\n<form method=\"post\"");
    push_attr(&mut out, "action", page.action);
    out.push_str(" accept-charset=\"utf-8\">\n");
    if !page.errors.is_empty() {
        out.push_str("<div class=\"errors\" role=\"alert\"><p>Please correct:</p><ul>\n");
        for error in page.errors {
            let label = page
                .fields
                .iter()
                .find(|f| f.name == error.field)
                .map_or(error.field.as_str(), |f| f.label.as_str());
            out.push_str("<li>");
            escape_into(&mut out, label);
            out.push_str(": ");
            escape_into(&mut out, &error.message);
            out.push_str("</li>\n");
        }
        out.push_str("</ul></div>\n");
    }
    for field in page.fields {
        let value = page
            .values
            .and_then(|values| values.get(&field.name))
            .and_then(shown_value);
        let error = page.errors.iter().find(|e| e.field == field.name);
        render_field(&mut out, field, value.as_deref(), error);
    }
    render_honeypot(&mut out);
    if let Some(consent) = page.consent_text {
        out.push_str("<p class=\"consent\">");
        escape_into(&mut out, consent);
        out.push_str("</p>\n");
    }
    out.push_str("<button type=\"submit\">Send</button>\n</form>\n</main>\n</body>\n</html>\n");
    out
}

/// Writes ` name="value"`, the value escaped.
fn push_attr(out: &mut String, name: &str, value: &str) {
    out.push(' ');
    out.push_str(name);
    out.push_str("=\"");
    escape_into(out, value);
    out.push('"');
}

/// A posted value as text to put back in its field (`None` for what cannot be shown).
fn shown_value(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "on" } else { "" }.to_owned()),
        _ => None,
    }
}

/// One field in its `<div>`: the label first, except for checkboxes, whose label follows;
/// then the field's problem, if a refused post had one.
fn render_field(
    out: &mut String,
    field: &FieldSpec,
    value: Option<&str>,
    error: Option<&FieldError>,
) {
    let id = format!("field-{}", field.name);
    if field.kind == FieldType::Checkbox {
        out.push_str("<div class=\"field checkbox\">");
        render_control(out, field, &id, value);
        render_label(out, field, &id);
    } else {
        out.push_str("<div class=\"field\">");
        render_label(out, field, &id);
        render_control(out, field, &id, value);
    }
    if let Some(error) = error {
        out.push_str("<p class=\"error\">");
        escape_into(out, &error.message);
        out.push_str("</p>");
    }
    out.push_str("</div>\n");
}

fn render_label(out: &mut String, field: &FieldSpec, id: &str) {
    out.push_str("<label");
    push_attr(out, "for", id);
    out.push('>');
    escape_into(out, &field.label);
    out.push_str("</label>");
}

fn render_control(out: &mut String, field: &FieldSpec, id: &str, value: Option<&str>) {
    match field.kind {
        FieldType::Textarea => {
            out.push_str("<textarea");
            push_common_attrs(out, field, id);
            push_length_attrs(out, field);
            out.push_str(" rows=\"5\">");
            escape_into(out, value.unwrap_or(""));
            out.push_str("</textarea>");
        }
        FieldType::Select => render_select(out, field, id, value),
        kind => {
            out.push_str("<input");
            push_attr(out, "type", input_type(kind));
            push_common_attrs(out, field, id);
            push_input_attrs(out, field);
            match (kind, value) {
                (FieldType::Checkbox, Some(v)) if parse_checked(v) == Some(true) => {
                    out.push_str(" checked");
                }
                (FieldType::Checkbox, _) | (_, None) => {}
                (_, Some(v)) => push_attr(out, "value", v),
            }
            out.push('>');
        }
    }
}

/// The `type` of the `<input>` of a field that has one.
fn input_type(kind: FieldType) -> &'static str {
    match kind {
        FieldType::Email => "email",
        FieldType::Phone => "tel",
        FieldType::Number => "number",
        FieldType::Date => "date",
        FieldType::Checkbox => "checkbox",
        FieldType::Text | FieldType::Select | FieldType::Textarea => "text",
    }
}

/// `id`, `name`, `required` and, for well-known fields, `autocomplete`.
fn push_common_attrs(out: &mut String, field: &FieldSpec, id: &str) {
    push_attr(out, "id", id);
    push_attr(out, "name", &field.name);
    if field.required {
        out.push_str(" required");
    }
    let autofill = WELL_KNOWN
        .iter()
        .find(|(name, kind, _)| *name == field.name && *kind == field.kind);
    if let Some((_, _, token)) = autofill {
        push_attr(out, "autocomplete", token);
    }
}

/// The rules of an `<input>` that depend on its type.
fn push_input_attrs(out: &mut String, field: &FieldSpec) {
    match field.kind {
        FieldType::Number => {
            out.push_str(" step=\"any\"");
            if let Some(min) = field.min {
                push_attr(out, "min", &min.to_string());
            }
            if let Some(max) = field.max {
                push_attr(out, "max", &max.to_string());
            }
        }
        FieldType::Checkbox => out.push_str(" value=\"on\""),
        _ => {}
    }
    push_length_attrs(out, field);
    // HTML anchors the pattern itself: the attribute carries it unanchored.
    if field.kind == FieldType::Text
        && let Some(pattern) = &field.pattern
    {
        push_attr(out, "pattern", pattern);
    }
}

/// `minlength` and `maxlength` (the type's default when unset), where lengths apply.
fn push_length_attrs(out: &mut String, field: &FieldSpec) {
    if !field.kind.has_length() {
        return;
    }
    if let Some(min) = field.min_length.filter(|min| *min > 0) {
        push_attr(out, "minlength", &min.to_string());
    }
    if let Some(max) = max_length(field) {
        push_attr(out, "maxlength", &max.to_string());
    }
}

/// A `<select>` whose first option is empty: "no answer" for an optional field, and for a
/// required one the placeholder that browsers refuse to submit.
fn render_select(out: &mut String, field: &FieldSpec, id: &str, value: Option<&str>) {
    out.push_str("<select");
    push_common_attrs(out, field, id);
    out.push_str(">\n<option value=\"\">\u{2014}</option>\n");
    for option in field.options.iter().flatten() {
        out.push_str("<option");
        push_attr(out, "value", option);
        if value.is_some_and(|v| v.trim() == option) {
            out.push_str(" selected");
        }
        out.push('>');
        escape_into(out, option);
        out.push_str("</option>\n");
    }
    out.push_str("</select>");
}

/// The spam trap: a text input that people neither see nor reach with the keyboard.
fn render_honeypot(out: &mut String) {
    out.push_str("<div class=\"aux\" aria-hidden=\"true\"><label");
    push_attr(out, "for", HONEYPOT);
    out.push_str(">Website</label><input type=\"text\"");
    push_attr(out, "id", HONEYPOT);
    push_attr(out, "name", HONEYPOT);
    out.push_str(" tabindex=\"-1\" autocomplete=\"off\"></div>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(name: &str, kind: FieldType) -> FieldSpec {
        FieldSpec {
            name: name.to_owned(),
            label: name.replace('_', " "),
            kind,
            required: false,
            min_length: None,
            max_length: None,
            pattern: None,
            min: None,
            max: None,
            options: None,
            default_country: None,
        }
    }

    fn input(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    fn problems(errors: &[FieldError]) -> Vec<(&str, &str)> {
        errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect()
    }

    /// A form of every type, as a lead form would look.
    fn lead_form() -> Vec<FieldSpec> {
        vec![
            FieldSpec {
                required: true,
                ..spec("first_name", FieldType::Text)
            },
            spec("last_name", FieldType::Text),
            FieldSpec {
                required: true,
                ..spec("email", FieldType::Email)
            },
            FieldSpec {
                default_country: Some("FR".into()),
                ..spec("phone", FieldType::Phone)
            },
            FieldSpec {
                pattern: Some("[0-9]{5}".into()),
                ..spec("postcode", FieldType::Text)
            },
            FieldSpec {
                min: Some(1.0),
                max: Some(10_000.0),
                ..spec("employees", FieldType::Number)
            },
            spec("callback_on", FieldType::Date),
            FieldSpec {
                options: Some(vec!["Sales".into(), "Support".into()]),
                ..spec("topic", FieldType::Select)
            },
            FieldSpec {
                required: true,
                ..spec("consent", FieldType::Checkbox)
            },
            spec("newsletter", FieldType::Checkbox),
            spec("message", FieldType::Textarea),
        ]
    }

    #[test]
    fn a_good_definition_passes() {
        assert_eq!(check_fields(&lead_form()), []);
    }

    #[test]
    fn a_definition_reports_every_problem() {
        let fields = vec![
            spec("1st", FieldType::Text),
            FieldSpec {
                label: " ".into(),
                ..spec("email", FieldType::Text)
            },
            spec("website_url", FieldType::Text),
            spec("notes", FieldType::Text),
            spec("notes", FieldType::Textarea),
            FieldSpec {
                pattern: Some("[0-9".into()),
                ..spec("code", FieldType::Text)
            },
            FieldSpec {
                pattern: Some("a)|(b".into()),
                ..spec("code2", FieldType::Text)
            },
            FieldSpec {
                pattern: Some("[0-9]+".into()),
                min_length: Some(3),
                ..spec("age", FieldType::Number)
            },
            FieldSpec {
                min: Some(10.0),
                max: Some(1.0),
                ..spec("size", FieldType::Number)
            },
            spec("topic", FieldType::Select),
            FieldSpec {
                options: Some(vec!["a".into(), "a".into(), " b".into(), "".into()]),
                ..spec("topic2", FieldType::Select)
            },
            FieldSpec {
                default_country: Some("XX".into()),
                ..spec("mobile", FieldType::Phone)
            },
            FieldSpec {
                default_country: Some("FR".into()),
                ..spec("fax", FieldType::Text)
            },
            FieldSpec {
                min_length: Some(300),
                ..spec("work_email", FieldType::Email)
            },
            FieldSpec {
                max_length: Some(0),
                ..spec("city", FieldType::Text)
            },
        ];
        let errors = check_fields(&fields);
        assert_eq!(
            problems(&errors),
            [
                ("fields[0].name", "invalid_name"),
                ("fields[1].type", "wrong_type"),
                ("fields[1].label", "required"),
                ("fields[2].name", "reserved_name"),
                ("fields[4].name", "duplicate_name"),
                ("fields[5].pattern", "invalid_pattern"),
                ("fields[6].pattern", "invalid_pattern"),
                ("fields[7].min_length", "not_allowed_for_type"),
                ("fields[7].pattern", "not_allowed_for_type"),
                ("fields[8].min", "invalid_range"),
                ("fields[9].options", "missing_options"),
                ("fields[10].options[1]", "duplicate_option"),
                ("fields[10].options[2]", "invalid_option"),
                ("fields[10].options[3]", "required"),
                ("fields[11].default_country", "invalid_country"),
                ("fields[12].default_country", "not_allowed_for_type"),
                ("fields[13].min_length", "invalid_range"),
                ("fields[14].max_length", "out_of_range"),
            ]
        );
    }

    #[test]
    fn a_form_needs_a_contact_field_and_at_most_100_fields() {
        let errors = check_fields(&[spec("company", FieldType::Text)]);
        assert_eq!(problems(&errors), [("fields", "contact_field_required")]);

        let errors = check_fields(&[]);
        assert_eq!(problems(&errors), [("fields", "contact_field_required")]);

        let mut fields: Vec<_> = (0..100)
            .map(|i| spec(&format!("f{i}"), FieldType::Text))
            .collect();
        fields.push(spec("phone", FieldType::Phone));
        let errors = check_fields(&fields);
        assert_eq!(problems(&errors), [("fields", "too_many_fields")]);
    }

    #[test]
    fn a_phone_field_named_phone_must_be_a_phone() {
        let errors = check_fields(&[spec("phone", FieldType::Text)]);
        assert_eq!(problems(&errors), [("fields[0].type", "wrong_type")]);
    }

    #[test]
    fn a_field_spec_reads_its_type_and_refuses_unknown_keys() {
        let field: FieldSpec = serde_json::from_value(json!({
            "name": "topic", "label": "Topic", "type": "select", "options": ["a"]
        }))
        .unwrap();
        assert_eq!(field.kind, FieldType::Select);
        assert!(!field.required);

        let unknown = serde_json::from_value::<FieldSpec>(json!({
            "name": "topic", "label": "Topic", "type": "text", "colour": "red"
        }));
        assert!(unknown.is_err());
    }

    #[test]
    fn a_good_submission_is_normalized() {
        let posted = input(json!({
            "first_name": "  Jeanne ",
            "last_name": "",
            "email": "Jeanne.Dupont@Example.COM",
            "phone": "06 12 34 56 78",
            "postcode": "75011",
            "employees": "12.5",
            "callback_on": "2024-02-29",
            "topic": "Support",
            "consent": "on",
            "message": "Call me\nplease",
        }));
        let submission = validate_submission(&lead_form(), &posted).unwrap();
        assert_eq!(submission.first_name.as_deref(), Some("Jeanne"));
        assert_eq!(submission.last_name, None);
        assert_eq!(
            submission.email.as_deref(),
            Some("Jeanne.Dupont@example.com")
        );
        assert_eq!(submission.phone.as_deref(), Some("+33612345678"));
        assert_eq!(submission.region.as_deref(), Some("FR"));
        assert_eq!(submission.company, None);
        assert_eq!(
            Value::Object(submission.values),
            json!({
                "first_name": "Jeanne",
                "email": "Jeanne.Dupont@example.com",
                "phone": "+33612345678",
                "postcode": "75011",
                "employees": 12.5,
                "callback_on": "2024-02-29",
                "topic": "Support",
                "consent": true,
                "newsletter": false,
                "message": "Call me\nplease",
            })
        );
    }

    #[test]
    fn typed_json_values_are_accepted() {
        let posted = input(json!({
            "first_name": "Jeanne",
            "email": "j@example.com",
            "postcode": 75011,
            "employees": 42,
            "consent": true,
            "newsletter": false,
            "phone": null,
        }));
        let submission = validate_submission(&lead_form(), &posted).unwrap();
        assert_eq!(submission.values["postcode"], json!("75011"));
        assert_eq!(submission.values["employees"], json!(42.0));
        assert_eq!(submission.values["consent"], json!(true));
        assert_eq!(submission.values["newsletter"], json!(false));
        assert!(!submission.values.contains_key("phone"));
    }

    #[test]
    fn a_bad_submission_reports_every_failing_field() {
        let posted = input(json!({
            "first_name": "   ",
            "email": "jeanne@",
            "phone": "06 12",
            "postcode": "7501",
            "employees": "20000",
            "callback_on": "2023-02-29",
            "topic": "Billing",
            "newsletter": "maybe",
            "message": ["a", "b"],
        }));
        let errors = validate_submission(&lead_form(), &posted).unwrap_err();
        assert_eq!(
            problems(&errors),
            [
                ("first_name", "required"),
                ("email", "invalid_email"),
                ("phone", "invalid_phone"),
                ("postcode", "pattern_mismatch"),
                ("employees", "too_large"),
                ("callback_on", "invalid_date"),
                ("topic", "not_allowed"),
                ("consent", "required"),
                ("newsletter", "invalid_boolean"),
                ("message", "invalid_type"),
            ]
        );
        let phone = errors.iter().find(|e| e.field == "phone").unwrap();
        assert_eq!(phone.message, "not a valid number for FR");
    }

    #[test]
    fn numbers_dates_and_lengths_have_limits() {
        let fields = vec![
            FieldSpec {
                min: Some(1.0),
                ..spec("employees", FieldType::Number)
            },
            FieldSpec {
                min_length: Some(3),
                max_length: Some(5),
                ..spec("code", FieldType::Text)
            },
            spec("company", FieldType::Text),
            spec("callback_on", FieldType::Date),
            spec("email", FieldType::Email),
        ];
        let check = |posted: Value| {
            let errors = validate_submission(&fields, &input(posted)).unwrap_err();
            problems(&errors)
                .into_iter()
                .map(|(field, code)| (field.to_owned(), code.to_owned()))
                .collect::<Vec<_>>()
        };
        let pairs = |list: &[(&str, &str)]| {
            list.iter()
                .map(|(f, c)| (f.to_string(), c.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            check(json!({"employees": "0", "code": "ab", "callback_on": "2024-2-3"})),
            pairs(&[
                ("employees", "too_small"),
                ("code", "too_short"),
                ("callback_on", "invalid_date"),
            ])
        );
        assert_eq!(
            check(json!({"employees": "NaN", "code": "abcdef", "company": "x".repeat(201)})),
            pairs(&[
                ("employees", "invalid_number"),
                ("code", "too_long"),
                ("company", "too_long"),
            ])
        );
        assert_eq!(
            check(json!({"employees": "inf", "code": "ab\0c", "company": "x".repeat(10_001)})),
            pairs(&[
                ("employees", "invalid_number"),
                ("code", "invalid_characters"),
                ("company", "too_long"),
            ])
        );
        assert_eq!(
            check(json!({"email": format!("{}@example.com", "a".repeat(250))})),
            pairs(&[("email", "too_long")])
        );
    }

    #[test]
    fn a_pattern_matches_the_whole_value() {
        let fields = [FieldSpec {
            pattern: Some("[0-9]{5}".into()),
            ..spec("postcode", FieldType::Text)
        }];
        for bad in ["750110", "x75011", "7501"] {
            let posted = input(json!({ "postcode": bad }));
            assert!(validate_submission(&fields, &posted).is_err(), "{bad}");
        }
        let posted = input(json!({ "postcode": " 75011 " }));
        let submission = validate_submission(&fields, &posted).unwrap();
        assert_eq!(submission.values["postcode"], json!("75011"));
    }

    #[test]
    fn without_a_default_country_numbers_must_be_international() {
        let fields = [spec("phone", FieldType::Phone)];
        let posted = input(json!({ "phone": "06 12 34 56 78" }));
        let errors = validate_submission(&fields, &posted).unwrap_err();
        assert_eq!(problems(&errors), [("phone", "invalid_phone")]);
        assert!(errors[0].message.contains("international"));

        let posted = input(json!({ "phone": "+1 212-555-0100" }));
        let submission = validate_submission(&fields, &posted).unwrap();
        assert_eq!(submission.phone.as_deref(), Some("+12125550100"));
        assert_eq!(submission.region.as_deref(), Some("US"));

        let posted = input(json!({ "phone": "+33 6 12 34 56 78" }));
        let submission = validate_submission(&fields, &posted).unwrap();
        assert_eq!(submission.phone.as_deref(), Some("+33612345678"));
    }

    #[test]
    fn checkboxes_read_what_browsers_and_clients_send() {
        let fields = [spec("newsletter", FieldType::Checkbox)];
        for (sent, checked) in [
            (json!("on"), true),
            (json!("YES"), true),
            (json!("1"), true),
            (json!(1), true),
            (json!(true), true),
            (json!("off"), false),
            (json!("no"), false),
            (json!("0"), false),
            (json!(false), false),
            (json!(""), false),
        ] {
            let posted = input(json!({ "newsletter": sent }));
            let submission = validate_submission(&fields, &posted).unwrap();
            assert_eq!(submission.values["newsletter"], json!(checked), "{sent}");
        }
    }

    #[test]
    fn unknown_keys_are_ignored_and_never_stored() {
        let fields = [spec("email", FieldType::Email)];
        let posted = input(json!({
            "email": "a@example.com",
            "submit": "Send",
            "website_url": "",
            "admin": ["x"],
        }));
        let submission = validate_submission(&fields, &posted).unwrap();
        assert_eq!(
            Value::Object(submission.values),
            json!({"email": "a@example.com"})
        );
    }

    #[test]
    fn a_filled_honeypot_is_spam() {
        assert!(!is_spam(&input(json!({"email": "a@example.com"}))));
        assert!(!is_spam(&input(json!({"website_url": ""}))));
        assert!(!is_spam(&input(json!({"website_url": "  "}))));
        assert!(!is_spam(&input(json!({"website_url": null}))));
        assert!(is_spam(&input(
            json!({"website_url": "http://spam.example"})
        )));
        assert!(is_spam(&input(json!({"website_url": 1}))));
    }

    #[test]
    fn a_refused_post_comes_back_with_its_problems_and_its_values() {
        let fields = lead_form();
        let input = json!({"first_name": "Jo <b>", "email": "nope"});
        let Err(errors) = validate_submission(&fields, input.as_object().unwrap()) else {
            panic!("the post is refused")
        };
        let html = render_html(&FormPage {
            title: "Contact",
            action: "/f/contact",
            consent_text: None,
            fields: &fields,
            errors: &errors,
            values: input.as_object(),
        });
        assert!(html.contains("role=\"alert\""), "{html}");
        assert!(html.contains("value=\"Jo &lt;b&gt;\""), "{html}");
        assert!(html.contains("<p class=\"error\">"), "{html}");
        assert!(html.contains("value=\"nope\""), "{html}");
    }

    #[test]
    fn the_page_states_the_rules_as_attributes() {
        let mut fields = lead_form();
        fields[0].label = "<script>alert(1)</script> name".into();
        fields[4].pattern = Some("[0-9]{5}|\"x\"".into());
        let html = render_html(&FormPage {
            title: "Contact & <us>",
            action: "/public/forms/abc?x=1&y=2",
            consent_text: Some("We'll call you <soon>."),
            fields: &fields,
            errors: &[],
            values: None,
        });
        assert!(html.starts_with("<!doctype html>"));
        assert!(html.contains("<meta charset=\"utf-8\">"));
        assert!(html.contains("<meta name=\"viewport\""));
        assert!(html.contains("<title>Contact &amp; &lt;us&gt;</title>"));
        assert!(html.contains("<form method=\"post\" action=\"/public/forms/abc?x=1&amp;y=2\""));
        assert!(!html.contains("<script>"));
        assert!(html.contains(
            "<label for=\"field-first_name\">&lt;script&gt;alert(1)&lt;/script&gt; name</label>"
        ));
        for control in [
            "<input type=\"text\" id=\"field-first_name\" name=\"first_name\" required \
             autocomplete=\"given-name\" maxlength=\"200\">",
            "<input type=\"email\" id=\"field-email\" name=\"email\" required \
             autocomplete=\"email\" maxlength=\"254\">",
            "<input type=\"tel\" id=\"field-phone\" name=\"phone\" autocomplete=\"tel\" \
             maxlength=\"32\">",
            "<input type=\"text\" id=\"field-postcode\" name=\"postcode\" maxlength=\"200\" \
             pattern=\"[0-9]{5}|&quot;x&quot;\">",
            "<input type=\"number\" id=\"field-employees\" name=\"employees\" step=\"any\" \
             min=\"1\" max=\"10000\">",
            "<input type=\"date\" id=\"field-callback_on\" name=\"callback_on\">",
            "<input type=\"checkbox\" id=\"field-consent\" name=\"consent\" required \
             value=\"on\">",
            "<textarea id=\"field-message\" name=\"message\" maxlength=\"5000\" rows=\"5\">\
             </textarea>",
            "<select id=\"field-topic\" name=\"topic\">\n<option value=\"\">\u{2014}</option>\n\
             <option value=\"Sales\">Sales</option>\n",
            "<p class=\"consent\">We&#39;ll call you &lt;soon&gt;.</p>",
            "<button type=\"submit\">",
        ] {
            assert!(html.contains(control), "missing {control}\nin {html}");
        }
    }

    #[test]
    fn the_page_has_a_hidden_honeypot() {
        let fields = [spec("email", FieldType::Email)];
        let html = render_html(&FormPage {
            title: "Contact",
            action: "/f",
            consent_text: None,
            fields: &fields,
            errors: &[],
            values: None,
        });
        assert!(html.contains(".aux{position:absolute;left:-10000px}"));
        assert!(html.contains(
            "<div class=\"aux\" aria-hidden=\"true\"><label for=\"website_url\">Website</label>\
             <input type=\"text\" id=\"website_url\" name=\"website_url\" tabindex=\"-1\" \
             autocomplete=\"off\"></div>"
        ));
        assert!(!html.contains("class=\"consent\""));
    }

    #[test]
    fn min_length_is_rendered() {
        let fields = [FieldSpec {
            min_length: Some(2),
            max_length: Some(40),
            ..spec("company", FieldType::Text)
        }];
        let html = render_html(&FormPage {
            title: "t",
            action: "/f",
            consent_text: None,
            fields: &fields,
            errors: &[],
            values: None,
        });
        assert!(html.contains(
            "name=\"company\" autocomplete=\"organization\" minlength=\"2\" maxlength=\"40\">"
        ));
    }
}
