//! Field-naming messages for request bodies that poem-openapi refused.
//!
//! poem-openapi reports a bad body as `Expected input type "string", found 5 (occurred while
//! parsing "RegisterRequest")`, which does not say which field. API.md promises that a 400 names
//! the field, so when parsing fails we validate the body against the operation's schema in our
//! own spec (with the `jsonschema` crate) and report the first field that breaks it.

use std::collections::HashMap;
use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind as Kind};
use jsonschema::paths::LocationSegment;
use jsonschema::{Draft, JsonType, ValidationError, Validator};
use serde_json::{Map, Value};

use super::routes;

/// A message naming what is wrong with `body` for `method path`, when one can be found.
pub fn explain(method: &str, path: &str, body: &[u8]) -> Option<String> {
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) if body.iter().all(u8::is_ascii_whitespace) => {
            return Some("body: a JSON body is required".into());
        }
        Err(e) => return Some(format!("body: not valid JSON ({e})")),
    };
    let operation_id = routes::operation(method, path)?
        .get("operationId")?
        .as_str()?;
    let validator = validators().get(operation_id)?;
    let value = as_poem_reads(value);
    validator
        .iter_errors(&value)
        .filter_map(|e| Violation::of(&e, &value))
        .min_by(|a, b| a.order.cmp(&b.order))
        .map(|v| v.message)
}

/// One validator per operation with a JSON body, built from the spec on first use.
fn validators() -> &'static HashMap<String, Validator> {
    static VALIDATORS: OnceLock<HashMap<String, Validator>> = OnceLock::new();
    VALIDATORS.get_or_init(|| {
        let spec = routes::spec();
        let operations = spec
            .get("paths")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|paths| paths.values())
            .filter_map(Value::as_object)
            .flat_map(|item| item.values());
        operations
            .filter_map(|op| {
                let id = op.get("operationId")?.as_str()?;
                let content = op.pointer("/requestBody/content")?.as_object()?;
                let schema = content.values().next()?.get("schema")?;
                Some((id.to_string(), validator(spec, schema)?))
            })
            .collect()
    })
}

/// A validator for `schema`, with the spec's components beside it so its `$ref`s resolve.
/// OpenAPI 3.0 schemas are draft 4 ones (draft 4 also reads `1.0` as no integer, as poem does).
fn validator(spec: &Value, schema: &Value) -> Option<Validator> {
    let mut rooted = schema.as_object()?.clone();
    rooted.insert("components".into(), spec.get("components")?.clone());
    jsonschema::options()
        .with_draft(Draft::Draft4)
        .should_validate_formats(true)
        // poem reads a UUID with `Uuid::parse_str`, which also takes the simple and URN forms.
        .with_format("uuid", |s| uuid::Uuid::parse_str(s).is_ok())
        .build(&Value::Object(rooted))
        .map_err(|e| tracing::error!(error = %e, "a request schema of the spec does not compile"))
        .ok()
}

/// The body as poem-openapi reads it, so the schema judges what poem judged: an absent and a
/// `null` member are the same (a required one is missing, an optional one is fine), and an
/// integer is an `i64` (any other number is made a fraction, which `type: integer` refuses).
fn as_poem_reads(value: Value) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object
                .into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, as_poem_reads(v)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(as_poem_reads).collect()),
        Value::Number(n) if !n.is_i64() => Value::from(0.5),
        other => other,
    }
}

/// One broken rule, in words, and where it comes in the order the problems are reported.
struct Violation {
    /// Depth first through the body: at each value, its own problems (ranked by [`rank`]) before
    /// those of its members, members in the body's order; the smallest is reported.
    order: Vec<(u8, usize)>,
    message: String,
}

impl Violation {
    /// The violation `e` in words; `None` for rules the messages do not cover (formats other
    /// than `uuid`, plain numbers), whose refusal keeps poem's own message.
    fn of(e: &ValidationError<'_>, body: &Value) -> Option<Violation> {
        let segments: Vec<LocationSegment<'_>> = e.instance_path().segments().collect();
        let field = field_name(&segments);
        let at = name(&field);
        let (rank, message) = match e.kind() {
            Kind::Enum { options } => {
                let names: Vec<&str> = options
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                (0, format!("{at}: must be one of {}", names.join(", ")))
            }
            Kind::Type {
                kind: TypeKind::Single(wanted),
            } => (1, format!("{at}: {}", type_problem(*wanted)?)),
            Kind::Format { format } if format == "uuid" => (2, format!("{at}: must be a UUID")),
            Kind::MinLength { limit } => (3, format!("{at}: must be at least {limit} characters")),
            Kind::MaxLength { limit } => {
                let chars = e.instance().as_str().map_or(0, |s| s.chars().count());
                (
                    4,
                    format!("{at}: must be at most {limit} characters (got {chars})"),
                )
            }
            Kind::MinItems { limit } => (3, format!("{at}: must have at least {limit} entries")),
            Kind::MaxItems { limit } => (4, format!("{at}: must have at most {limit} entries")),
            Kind::Minimum { limit } => (3, format!("{at}: must be at least {}", limit.as_f64()?)),
            Kind::Maximum { limit } => (4, format!("{at}: must be at most {}", limit.as_f64()?)),
            Kind::Pattern { .. } => (5, format!("{at}: {}", pattern_problem(e.instance()))),
            Kind::Required { property } => {
                let property = property.as_str()?;
                let field = if field.is_empty() {
                    property.to_string()
                } else {
                    format!("{field}.{property}")
                };
                (10, format!("{field}: is required"))
            }
            _ => return None,
        };
        let mut order = members_order(body, &segments);
        order.push((0, rank));
        Some(Violation { order, message })
    }
}

/// Where the value at `segments` comes in a depth-first walk of `body`: one `(1, position)` per
/// step, the position being the member's place in its object or array.
fn members_order(body: &Value, segments: &[LocationSegment<'_>]) -> Vec<(u8, usize)> {
    let mut at = body;
    let mut order = Vec::with_capacity(segments.len() + 1);
    for segment in segments {
        let (position, next) = match (segment, at) {
            (LocationSegment::Property(key), Value::Object(object)) => (
                object.keys().position(|k| k == key).unwrap_or(usize::MAX),
                object.get(key.as_ref()),
            ),
            (LocationSegment::Index(i), Value::Array(items)) => (*i, items.get(*i)),
            _ => (usize::MAX, None),
        };
        order.push((1, position));
        at = next.unwrap_or(&Value::Null);
    }
    order
}

/// What is wrong with a text that broke its pattern: a NUL is refused in every text (the other
/// patterns are checked by the operations, which word them).
fn pattern_problem(text: &Value) -> &'static str {
    match text.as_str() {
        Some(t) if t.contains('\0') => "a NUL character is not allowed",
        _ => "does not have the form the spec gives",
    }
}

/// What a value of the wrong type should have been, as the messages put it.
fn type_problem(wanted: JsonType) -> Option<&'static str> {
    Some(match wanted {
        JsonType::Object => "must be an object",
        JsonType::Array => "must be an array",
        JsonType::String => "must be a string",
        JsonType::Boolean => "must be true or false",
        JsonType::Integer => "must be an integer",
        JsonType::Number | JsonType::Null => return None,
    })
}

/// A location as the messages name fields: `items[0].quantity`, `item_mapping.<dish>`.
fn field_name(segments: &[LocationSegment<'_>]) -> String {
    let mut field = String::new();
    for segment in segments {
        match segment {
            LocationSegment::Property(key) => {
                if !field.is_empty() {
                    field.push('.');
                }
                field.push_str(key);
            }
            LocationSegment::Index(i) => field = format!("{}[{i}]", name(&field)),
        }
    }
    field
}

/// The body itself is `body`.
fn name(field: &str) -> &str {
    if field.is_empty() { "body" } else { field }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_field_that_breaks_the_schema() {
        let cases: &[(&str, &str, &str, &str)] = &[
            (
                "POST",
                "/api/v1/auth/register",
                r#"{"email": 5, "password": "x"}"#,
                "email: must be a string",
            ),
            (
                "POST",
                "/api/v1/auth/register",
                r#"{"password": "12345678"}"#,
                "email: is required",
            ),
            (
                "POST",
                "/api/v1/auth/register",
                r#"{"email": "#,
                "body: not valid JSON",
            ),
            (
                "POST",
                "/api/v1/auth/register",
                "",
                "body: a JSON body is required",
            ),
            (
                "POST",
                "/api/v1/auth/register",
                "[]",
                "body: must be an object",
            ),
            (
                "POST",
                "/api/v1/businesses/0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b/dishes",
                r#"{"name": "Dosa", "price": -1}"#,
                "price: must be at least 0",
            ),
            (
                "POST",
                "/api/v1/orders",
                r#"{"business_id": "0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b", "customer_name": "c", "items": [{"dish_id": "0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b", "quantity": 1000}]}"#,
                "items[0].quantity: must be at most 999",
            ),
            (
                "POST",
                "/api/v1/orders",
                r#"{"business_id": "not-a-uuid", "customer_name": "c", "items": []}"#,
                "business_id: must be a UUID",
            ),
            (
                "POST",
                "/api/v1/orders",
                r#"{"business_id": "0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b", "customer_name": "c", "items": []}"#,
                "items: must have at least 1 entries",
            ),
            (
                "POST",
                "/api/v1/pos/connect",
                r#"{"business_id": "0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b", "provider": "clover", "access_token": "t"}"#,
                "provider: must be one of square, zoho, dine",
            ),
            (
                "POST",
                "/api/v1/pos/connect",
                r#"{"business_id": "0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b", "provider": "square", "access_token": "t", "item_mapping": {"d": 7}}"#,
                "item_mapping.d: must be a string",
            ),
            (
                "POST",
                "/api/v1/businesses",
                r#"{"name": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#,
                "name: must be at most 200 characters",
            ),
            // The rules the messages follow where the schema alone would differ from poem.
            (
                "POST",
                "/api/v1/pos/connect",
                "{}",
                "business_id: is required",
            ),
            (
                "POST",
                "/api/v1/auth/register",
                r#"{"email": null, "password": "12345678"}"#,
                "email: is required",
            ),
            (
                "POST",
                "/api/v1/businesses/0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b/dishes",
                r#"{"name": "Dosa", "price": 1.0}"#,
                "price: must be an integer",
            ),
            (
                "POST",
                "/api/v1/businesses/0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b/dishes",
                r#"{"name": "Dosa", "price": 9223372036854775808}"#,
                "price: must be an integer",
            ),
            (
                "POST",
                "/api/v1/orders",
                r#"{"business_id": "0193a1b27c3d7e4f8a9b0c1d2e3f4a5b", "customer_name": "c", "items": [{"dish_id": "0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b", "quantity": 0}]}"#,
                "items[0].quantity: must be at least 1",
            ),
        ];
        for (method, path, body, expected) in cases {
            let got = explain(method, path, body.as_bytes()).unwrap_or_default();
            assert!(
                got.starts_with(expected),
                "{body}: got {got:?}, wanted {expected:?}"
            );
        }
    }

    #[test]
    fn every_request_body_schema_compiles() {
        let mut ids: Vec<&str> = validators().keys().map(String::as_str).collect();
        ids.sort();
        assert_eq!(
            ids,
            [
                "applyMappingSuggestions",
                "cancelOrder",
                "connectPos",
                "createBusiness",
                "createDish",
                "createOrder",
                "disconnectPos",
                "login",
                "register",
                "replayFailedOrders",
                "updateBusiness",
                "updateIntegration"
            ]
        );
    }

    #[test]
    fn words_a_nul_and_leaves_rules_it_does_not_word_to_poem() {
        assert_eq!(
            explain("POST", "/api/v1/businesses", br#"{"name": "Spice\u0000"}"#).as_deref(),
            Some("name: a NUL character is not allowed")
        );
        assert_eq!(
            explain(
                "POST",
                "/api/v1/businesses",
                br#"{"name": "Spice", "currency": null}"#
            ),
            None
        );
    }
}
