//! Field validation that collects every problem before answering 422.

use crate::error::{ApiError, FieldError};

/// Collects field errors; [`Validator::finish`] turns them into one 422.
#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    /// An empty validator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an error.
    pub fn add(&mut self, field: &str, code: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, code, message));
    }

    /// Trimmed length between `min` and `max` characters.
    pub fn length(&mut self, field: &str, value: &str, min: usize, max: usize) {
        let len = value.trim().chars().count();
        if len < min {
            if min == 1 {
                self.add(field, "required", "must not be empty");
            } else {
                self.add(
                    field,
                    "too_short",
                    format!("must be at least {min} characters"),
                );
            }
        } else if len > max {
            self.add(
                field,
                "too_long",
                format!("must be at most {max} characters"),
            );
        }
    }

    /// A syntactically valid email address.
    pub fn email(&mut self, field: &str, value: &str) {
        if value.len() > 254 || !email_address::EmailAddress::is_valid(value) {
            self.add(field, "invalid_email", "must be a valid email address");
        }
    }

    /// An IANA time zone name such as `Europe/Paris`.
    pub fn time_zone(&mut self, field: &str, value: &str) {
        if value.parse::<chrono_tz::Tz>().is_err() {
            self.add(
                field,
                "invalid_time_zone",
                "must be an IANA time zone such as Europe/Paris",
            );
        }
    }

    /// A SIP extension: 2 to 20 digits.
    pub fn extension(&mut self, field: &str, value: &str) {
        let ok = (2..=20).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit());
        if !ok {
            self.add(field, "invalid_extension", "must be 2 to 20 digits");
        }
    }

    /// Optional free text of at most `max` characters, without NUL (PostgreSQL refuses it).
    pub fn free_text(&mut self, field: &str, value: &str, max: usize) {
        if value.chars().count() > max {
            self.add(
                field,
                "too_long",
                format!("must be at most {max} characters"),
            );
        } else if value.contains('\0') {
            self.add(
                field,
                "invalid_characters",
                "must not contain NUL characters",
            );
        }
    }

    /// `Ok` when nothing was recorded, else a 422 listing every problem.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }
}

/// Deserializes a field that may be absent (`None`), `null` (`Some(None)`) or a value, for PATCH.
pub fn double_option<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    serde::Deserialize::deserialize(de).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_all_errors() {
        let mut v = Validator::new();
        v.length("name", "  ", 1, 10);
        v.email("email", "nope");
        v.time_zone("time_zone", "Mars/Base");
        v.extension("sip_extension", "12a");
        let ApiError::Validation(errors) = v.finish().unwrap_err() else {
            panic!("expected 422")
        };
        let codes: Vec<_> = errors.iter().map(|e| e.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "required",
                "invalid_email",
                "invalid_time_zone",
                "invalid_extension"
            ]
        );
    }

    #[test]
    fn accepts_good_values() {
        let mut v = Validator::new();
        v.length("name", "Paris", 1, 10);
        v.email("email", "a.b@example.com");
        v.time_zone("time_zone", "Europe/Paris");
        v.extension("sip_extension", "1001");
        assert!(v.finish().is_ok());
    }
}
