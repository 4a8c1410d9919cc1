//! Text that has been checked: lengths in Unicode characters, trimmed emails, password bounds.

use super::limits;
use crate::{Error, Result};

/// Trim `raw` and require 1..=`max` characters.
pub fn bounded(field: &str, raw: &str, max: usize) -> Result<String> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    let len = text.chars().count();
    if len > max {
        return Err(Error::invalid(
            field,
            format!("must be at most {max} characters (got {len})"),
        ));
    }
    Ok(text.to_string())
}

/// Like [`bounded`], but absent or blank text is `None`.
pub fn optional_bounded(field: &str, raw: Option<&str>, max: usize) -> Result<Option<String>> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => bounded(field, text, max).map(Some),
    }
}

/// An email address: trimmed, lower-cased, plausibly shaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Parse the email given for `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Email> {
        let text = bounded(field, raw, limits::EMAIL)?.to_lowercase();
        let well_formed = match text.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !text.chars().any(char::is_whitespace)
            }
            None => false,
        };
        if !well_formed {
            return Err(Error::invalid(
                field,
                "must be an email address like name@example.com",
            ));
        }
        Ok(Email(text))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password within the length rules (not trimmed: spaces are part of it).
pub struct Password(String);

impl Password {
    /// Check a new password's length.
    pub fn parse(raw: &str) -> Result<Password> {
        let len = raw.chars().count();
        if !(limits::PASSWORD_MIN..=limits::PASSWORD_MAX).contains(&len) {
            return Err(Error::invalid(
                "password",
                format!(
                    "must be {} to {} characters",
                    limits::PASSWORD_MIN,
                    limits::PASSWORD_MAX
                ),
            ));
        }
        Ok(Password(raw.to_string()))
    }

    /// The password itself, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_counts_characters_not_bytes() {
        let two_hundred_rupees = "₹".repeat(200);
        assert!(bounded("name", &two_hundred_rupees, 200).is_ok());
        assert!(bounded("name", &"₹".repeat(201), 200).is_err());
        assert_eq!(bounded("name", "  Dosa  ", 200).unwrap(), "Dosa");
        let err = bounded("name", "   ", 200).unwrap_err().to_string();
        assert_eq!(err, "name: must not be empty");
    }

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        for (raw, ok) in [
            (" Asha@Example.COM ", Some("asha@example.com")),
            ("a@b", Some("a@b")),
            ("no-at-sign", None),
            ("@example.com", None),
            ("a@", None),
            ("a@@b.com", None),
            ("a b@c.com", None),
            ("a@.com", None),
        ] {
            assert_eq!(
                Email::parse("email", raw).ok().as_ref().map(Email::as_str),
                ok,
                "{raw}"
            );
        }
    }

    #[test]
    fn passwords_are_8_to_128_characters() {
        assert!(Password::parse("1234567").is_err());
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse(&"x".repeat(128)).is_ok());
        assert!(Password::parse(&"x".repeat(129)).is_err());
        assert_eq!(
            format!("{:?}", Password::parse("secret-pass").unwrap()),
            "[redacted]"
        );
    }
}
