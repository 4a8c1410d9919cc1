//! JSON strings that are only strings, and say in the spec what text they take.
//!
//! poem-openapi's `String` also takes numbers and booleans (`"name": 5` would become `"5"`);
//! API.md wants a wrong type to be a 400. Each type declares a pattern in the spec that Rust's
//! and Python's regex dialects read alike (so a fuzzer's valid text is valid here), and the
//! operations check the same rule in code, naming the field: poem-openapi's own `pattern`
//! validator would compile its regex on every request and word the refusal without the field.

use std::borrow::Cow;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use serde_json::Value;

/// The characters `str::trim` and `char::is_whitespace` take for blanks (Unicode White_Space),
/// spelled out: `\s` means a different set in Python's `re` (which adds `\x1c`-`\x1f`), and a
/// fuzzer or client reads these patterns with its own dialect.
macro_rules! blanks {
    () => {
        r"\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    };
}

/// Any text without a NUL.
const NO_NUL: &str = r"^[^\x00]*$";
/// Text with something besides blanks, and no NUL.
const NON_BLANK: &str = concat!(r"^[^\x00]*[^\x00", blanks!(), r"][^\x00]*$");
/// What `Email::parse` takes: one `@`, no blanks inside, a domain that neither starts nor ends
/// with a dot; blanks around are trimmed.
const EMAIL: &str = concat!(
    "^[",
    blanks!(),
    "]*",
    r"[^@\x00",
    blanks!(),
    "]+@",
    r"[^@.\x00",
    blanks!(),
    "]",
    r"([^@\x00",
    blanks!(),
    r"]*[^@.\x00",
    blanks!(),
    "])?",
    "[",
    blanks!(),
    "]*$"
);
/// Three letters, blanks around trimmed.
const CURRENCY: &str = concat!("^[", blanks!(), "]*[A-Za-z]{3}[", blanks!(), "]*$");
/// E.164: `+` and 8 to 15 digits, blanks around trimmed.
const E164: &str = concat!("^[", blanks!(), r"]*\+[0-9]{8,15}[", blanks!(), "]*$");

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $pattern:expr, $format:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(pub String);

        impl $name {
            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Type for $name {
            const IS_REQUIRED: bool = true;
            type RawValueType = String;
            type RawElementValueType = String;

            fn name() -> Cow<'static, str> {
                "string".into()
            }

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Inline(Box::new(MetaSchema {
                    pattern: Some($pattern.to_string()),
                    format: $format,
                    ..MetaSchema::new("string")
                }))
            }

            fn as_raw_value(&self) -> Option<&String> {
                Some(&self.0)
            }

            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a String> + 'a> {
                Box::new(std::iter::once(&self.0))
            }
        }

        impl ParseFromJSON for $name {
            fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
                parse_text(value).map($name).map_err(ParseError::propagate)
            }
        }

        impl ToJSON for $name {
            fn to_json(&self) -> Option<Value> {
                Some(Value::String(self.0.clone()))
            }
        }
    };
}

/// A JSON string without NUL (the refusal is worded from the spec's pattern, naming the field).
fn parse_text(value: Option<Value>) -> ParseResult<String> {
    match value {
        Some(Value::String(s)) if s.contains('\0') => {
            Err(ParseError::custom("a NUL character is not allowed"))
        }
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(ParseError::expected_type(other)),
        None => Err(ParseError::expected_input()),
    }
}

text_type!(
    /// A string field of a request body: any text but NUL.
    Text,
    NO_NUL,
    None
);

text_type!(
    /// A string field that must not be blank (checked by the operation, which names the field).
    NonBlank,
    NON_BLANK,
    None
);

text_type!(
    /// An email address (checked by `Email::parse`, which names the field).
    EmailText,
    EMAIL,
    None
);

text_type!(
    /// An ISO 4217 code (checked by `Currency::parse`, which names the field).
    CurrencyText,
    CURRENCY,
    None
);

text_type!(
    /// A phone number in E.164 form (checked by the operation, which names the field).
    PhoneText,
    E164,
    None
);

text_type!(
    /// An RFC 3339 time (checked by the operation, which names the field).
    DateTimeText,
    NO_NUL,
    Some("date-time")
);

/// `raw` as E.164 (`+` and 8 to 15 digits), blanks around trimmed, as [`PhoneText`] declares.
pub fn e164(raw: &str) -> Option<&str> {
    let number = raw.trim();
    let digits = number.strip_prefix('+')?;
    ((8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()))
        .then_some(number)
}

/// The patterns the spec declares, for the tests that hold the checks to them.
#[cfg(test)]
pub(super) const PATTERNS: [(&str, &str); 5] = [
    ("no_nul", NO_NUL),
    ("non_blank", NON_BLANK),
    ("email", EMAIL),
    ("currency", CURRENCY),
    ("e164", E164),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Currency, Email, bounded};

    /// Whether `text` matches `pattern` as a JSON Schema validator reads it.
    fn matches(pattern: &str, text: &str) -> bool {
        jsonschema::validator_for(&serde_json::json!({"type": "string", "pattern": pattern}))
            .unwrap()
            .is_valid(&Value::from(text))
    }

    #[test]
    fn the_declared_patterns_say_what_the_checks_take() {
        let samples = [
            "",
            " ",
            "\u{3000}",
            "\t\n",
            "\u{1c}",
            "Dosa",
            " Dosa ",
            "a\0b",
            "\0",
            "a@b",
            " Asha@Example.COM\n",
            "a@.b",
            "a@b.",
            "a@@b",
            "a b@c",
            "@b",
            "a@",
            "a\u{a0}@b",
            "a\u{1c}@b",
            "inr",
            " INR ",
            "XYZ",
            "IN",
            "INRR",
            "+919876543210",
            " +919876543210\n",
            "+91 9876543210",
            "+1234567",
            "+1234567890123456",
            "9876543210",
        ];
        for text in samples {
            let no_nul = !text.contains('\0');
            let checks: [(&str, bool); 5] = [
                ("no_nul", no_nul),
                (
                    "non_blank",
                    no_nul && bounded("f", text, usize::MAX).is_ok(),
                ),
                ("email", no_nul && Email::parse("f", text).is_ok()),
                (
                    "currency",
                    text.trim().len() == 3 && text.trim().bytes().all(|b| b.is_ascii_alphabetic()),
                ),
                ("e164", e164(text).is_some()),
            ];
            for ((name, pattern), (check, takes)) in PATTERNS.iter().zip(checks) {
                assert_eq!(*name, check);
                assert_eq!(matches(pattern, text), takes, "{name} on {text:?}");
            }
            // Every code Currency::parse knows has the declared form.
            if Currency::parse(text).is_some() {
                assert!(matches(CURRENCY, text), "{text:?}");
            }
        }
    }

    #[test]
    fn only_strings_parse() {
        assert_eq!(
            Text::parse_from_json(Some(Value::from("Dosa"))).unwrap(),
            Text("Dosa".into())
        );
        assert!(Text::parse_from_json(Some(Value::from("Do\0sa"))).is_err());
        for wrong in [
            Value::from(5),
            Value::from(true),
            Value::Null,
            serde_json::json!([]),
            serde_json::json!({}),
        ] {
            assert!(
                Text::parse_from_json(Some(wrong.clone())).is_err(),
                "{wrong}"
            );
        }
        assert!(Text::parse_from_json(None).is_err());
    }
}
