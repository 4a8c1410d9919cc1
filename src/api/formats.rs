//! Strings of the answers whose form the spec declares, so that a generated client types them:
//! ids are `format: uuid`, timestamps `format: date-time`. On the wire they stay plain strings.

use std::borrow::Cow;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{
    ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type,
};
use serde_json::Value;

use crate::domain::{Millis, format_millis};

/// A string schema with `format`.
fn string_schema(format: &'static str) -> MetaSchemaRef {
    MetaSchemaRef::Inline(Box::new(MetaSchema {
        format: Some(format),
        ..MetaSchema::new("string")
    }))
}

macro_rules! formatted_string {
    ($(#[$doc:meta])* $name:ident, $format:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(pub String);

        impl Type for $name {
            const IS_REQUIRED: bool = true;
            type RawValueType = String;
            type RawElementValueType = String;

            fn name() -> Cow<'static, str> {
                concat!("string_", $format).into()
            }

            fn schema_ref() -> MetaSchemaRef {
                string_schema($format)
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
                match value {
                    Some(Value::String(s)) => Ok($name(s)),
                    Some(other) => Err(ParseError::expected_type(other)),
                    None => Err(ParseError::expected_input()),
                }
            }
        }

        impl ToJSON for $name {
            fn to_json(&self) -> Option<Value> {
                Some(Value::String(self.0.clone()))
            }
        }
    };
}

formatted_string!(
    /// An id in an answer: a UUID in its hyphenated lower-case form.
    Id,
    "uuid"
);

formatted_string!(
    /// A time in an answer: RFC 3339 in UTC with milliseconds and a `Z`.
    Timestamp,
    "date-time"
);

impl Id {
    /// The id `raw` as the wire shows it.
    pub fn of(raw: impl std::fmt::Display) -> Id {
        Id(raw.to_string())
    }
}

/// A time in a query (`?since=`): taken as text and parsed by the operation, which names the
/// parameter in its 400.
impl ParseFromParameter for Timestamp {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(Timestamp(value.to_string()))
    }
}

impl From<Millis> for Timestamp {
    fn from(ms: Millis) -> Timestamp {
        Timestamp(format_millis(ms))
    }
}

/// `success` of an envelope: always `V`, and the spec's example says so (Swagger UI would
/// otherwise show `true` on every error answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Always<const V: bool>;

impl<const V: bool> Type for Always<V> {
    const IS_REQUIRED: bool = true;
    type RawValueType = bool;
    type RawElementValueType = bool;

    fn name() -> Cow<'static, str> {
        if V { "boolean_true" } else { "boolean_false" }.into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            description: Some(if V {
                "Always `true`."
            } else {
                "Always `false`."
            }),
            example: Some(Value::Bool(V)),
            ..MetaSchema::new("boolean")
        }))
    }

    fn as_raw_value(&self) -> Option<&bool> {
        Some(if V { &true } else { &false })
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a bool> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl<const V: bool> ParseFromJSON for Always<V> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            Some(Value::Bool(b)) if b == V => Ok(Always),
            Some(other) => Err(ParseError::expected_type(other)),
            None => Err(ParseError::expected_input()),
        }
    }
}

impl<const V: bool> ToJSON for Always<V> {
    fn to_json(&self) -> Option<Value> {
        Some(Value::Bool(V))
    }
}

/// An object that may be `null`, declared as `{"nullable": true, "anyOf": [{"$ref": ...}]}`.
/// poem-openapi declares a nullable object as an `allOf` of its schema and `{nullable: true}`,
/// which generators read as a new model: a sync log in an order would get a type of its own.
#[derive(Debug, Clone, PartialEq)]
pub struct Nullable<T>(pub Option<T>);

impl<T: Type> Type for Nullable<T> {
    const IS_REQUIRED: bool = true;
    type RawValueType = T::RawValueType;
    type RawElementValueType = T::RawElementValueType;

    fn name() -> Cow<'static, str> {
        format!("nullable_{}", T::name()).into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            nullable: true,
            any_of: vec![T::schema_ref()],
            ..MetaSchema::ANY
        }))
    }

    fn register(registry: &mut poem_openapi::registry::Registry) {
        T::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        self.0.as_ref().and_then(T::as_raw_value)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        match &self.0 {
            Some(value) => value.raw_element_iter(),
            None => Box::new(std::iter::empty()),
        }
    }
}

impl<T: ParseFromJSON> ParseFromJSON for Nullable<T> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            None | Some(Value::Null) => Ok(Nullable(None)),
            some => T::parse_from_json(some)
                .map(|v| Nullable(Some(v)))
                .map_err(ParseError::propagate),
        }
    }
}

impl<T: ToJSON> ToJSON for Nullable<T> {
    fn to_json(&self) -> Option<Value> {
        Some(self.0.as_ref().and_then(T::to_json).unwrap_or(Value::Null))
    }
}
