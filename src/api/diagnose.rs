//! Field-naming messages for request bodies that poem-openapi refused.
//!
//! poem-openapi reports a bad body as `Expected input type "string", found 5 (occurred while
//! parsing "RegisterRequest")`, which does not say which field. API.md promises that a 400 names
//! the field, so when parsing fails we walk the body against the operation's schema in our own
//! spec and report the first field that breaks it.

use std::sync::OnceLock;

use serde_json::{Map, Value};

/// The spec, parsed once.
fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| serde_json::from_str(&super::spec_json()).unwrap_or(Value::Null))
}

/// A message naming what is wrong with `body` for `method path`, when one can be found.
pub fn explain(method: &str, path: &str, body: &[u8]) -> Option<String> {
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) if body.iter().all(u8::is_ascii_whitespace) => {
            let _ = e;
            return Some("body: a JSON body is required".into());
        }
        Err(e) => return Some(format!("body: not valid JSON ({e})")),
    };
    let spec = spec();
    let operation = find_operation(spec, method, path)?;
    let content = operation.pointer("/requestBody/content")?.as_object()?;
    let schema = content.values().next()?.get("schema")?;
    check(spec, schema, &value, "")
}

/// The methods `path` answers to, for an `Allow` header.
pub fn allowed_methods(path: &str) -> Vec<String> {
    let wanted: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let Some(paths) = spec().get("paths").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut methods: Vec<String> = paths
        .iter()
        .filter(|(template, _)| {
            let parts: Vec<&str> = template.trim_end_matches('/').split('/').collect();
            parts.len() == wanted.len()
                && parts
                    .iter()
                    .zip(&wanted)
                    .all(|(t, w)| t.starts_with('{') || t == w)
        })
        .flat_map(|(_, item)| {
            item.as_object()
                .into_iter()
                .flat_map(|o| o.keys().map(|m| m.to_ascii_uppercase()))
        })
        .collect();
    methods.sort();
    methods.dedup();
    methods
}

/// The names of the path parameters of the operation that serves `path` (poem reports a path
/// value that failed to parse as `param0`, `param1`, ...).
pub fn path_param_names(method: &str, path: &str) -> Vec<String> {
    let wanted: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let Some(paths) = spec().get("paths").and_then(Value::as_object) else {
        return Vec::new();
    };
    paths
        .iter()
        .find(|(template, item)| {
            let parts: Vec<&str> = template.trim_end_matches('/').split('/').collect();
            item.get(method.to_ascii_lowercase()).is_some()
                && parts.len() == wanted.len()
                && parts
                    .iter()
                    .zip(&wanted)
                    .all(|(t, w)| t.starts_with('{') || t == w)
        })
        .map(|(template, _)| {
            template
                .split('/')
                .filter_map(|p| p.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

fn find_operation<'a>(spec: &'a Value, method: &str, path: &str) -> Option<&'a Value> {
    let wanted: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    spec.get("paths")?
        .as_object()?
        .iter()
        .find_map(|(template, item)| {
            let parts: Vec<&str> = template.trim_end_matches('/').split('/').collect();
            let matches = parts.len() == wanted.len()
                && parts
                    .iter()
                    .zip(&wanted)
                    .all(|(t, w)| t.starts_with('{') || t == w);
            if matches {
                item.get(method.to_ascii_lowercase())
            } else {
                None
            }
        })
}

fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference
            .strip_prefix('#')
            .and_then(|pointer| spec.pointer(pointer))
            .unwrap_or(schema),
        None => schema,
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn name(path: &str) -> &str {
    if path.is_empty() { "body" } else { path }
}

/// The first problem with `value` against `schema`, as `field: why`.
fn check(spec: &Value, schema: &Value, value: &Value, path: &str) -> Option<String> {
    let schema = resolve(spec, schema);
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        return all.iter().find_map(|s| check(spec, s, value, path));
    }
    if let Some(choices) = schema.get("enum").and_then(Value::as_array) {
        if !choices.contains(value) {
            let names: Vec<String> = choices
                .iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect();
            return Some(format!(
                "{}: must be one of {}",
                name(path),
                names.join(", ")
            ));
        }
        return None;
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => {
            let Value::Object(object) = value else {
                return Some(format!("{}: must be an object", name(path)));
            };
            check_object(spec, schema, object, path)
        }
        Some("array") => {
            let Value::Array(items) = value else {
                return Some(format!("{}: must be an array", name(path)));
            };
            let len = items.len() as u64;
            if let Some(min) = schema
                .get("minItems")
                .and_then(Value::as_u64)
                .filter(|m| len < *m)
            {
                return Some(format!("{}: must have at least {min} entries", name(path)));
            }
            if let Some(max) = schema
                .get("maxItems")
                .and_then(Value::as_u64)
                .filter(|m| len > *m)
            {
                return Some(format!("{}: must have at most {max} entries", name(path)));
            }
            let item_schema = schema.get("items")?;
            items.iter().enumerate().find_map(|(i, item)| {
                check(spec, item_schema, item, &format!("{}[{i}]", name(path)))
            })
        }
        Some("string") => {
            let Some(text) = value.as_str() else {
                return Some(format!("{}: must be a string", name(path)));
            };
            let chars = text.chars().count() as u64;
            if schema.get("format").and_then(Value::as_str) == Some("uuid")
                && uuid::Uuid::parse_str(text).is_err()
            {
                return Some(format!("{}: must be a UUID", name(path)));
            }
            if let Some(min) = schema
                .get("minLength")
                .and_then(Value::as_u64)
                .filter(|m| chars < *m)
            {
                return Some(format!("{}: must be at least {min} characters", name(path)));
            }
            if let Some(max) = schema
                .get("maxLength")
                .and_then(Value::as_u64)
                .filter(|m| chars > *m)
            {
                return Some(format!(
                    "{}: must be at most {max} characters (got {chars})",
                    name(path)
                ));
            }
            None
        }
        Some("boolean") => {
            (!value.is_boolean()).then(|| format!("{}: must be true or false", name(path)))
        }
        Some("integer") => {
            let Some(n) = value.as_i64() else {
                return Some(format!("{}: must be an integer", name(path)));
            };
            if let Some(min) = schema
                .get("minimum")
                .and_then(Value::as_f64)
                .filter(|m| (n as f64) < *m)
            {
                return Some(format!("{}: must be at least {min}", name(path)));
            }
            if let Some(max) = schema
                .get("maximum")
                .and_then(Value::as_f64)
                .filter(|m| (n as f64) > *m)
            {
                return Some(format!("{}: must be at most {max}", name(path)));
            }
            None
        }
        _ => None,
    }
}

fn check_object(
    spec: &Value,
    schema: &Value,
    object: &Map<String, Value>,
    path: &str,
) -> Option<String> {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for field in &required {
        if object.get(*field).is_none_or(Value::is_null) {
            return Some(format!("{}: is required", join(path, field)));
        }
    }
    let properties = schema.get("properties").and_then(Value::as_object);
    let additional = schema.get("additionalProperties").filter(|a| a.is_object());
    for (key, value) in object {
        let field_schema = properties.and_then(|p| p.get(key)).or(additional);
        let Some(field_schema) = field_schema else {
            continue;
        };
        // An optional field may be null (absent or cleared).
        if value.is_null() && !required.contains(&key.as_str()) {
            continue;
        }
        if let Some(problem) = check(spec, field_schema, value, &join(path, key)) {
            return Some(problem);
        }
    }
    None
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
        ];
        for (method, path, body, expected) in cases {
            let got = explain(method, path, body.as_bytes()).unwrap_or_default();
            assert!(
                got.starts_with(expected),
                "{body}: got {got:?}, wanted {expected:?}"
            );
        }
    }
}

#[cfg(test)]
mod allow_tests {
    #[test]
    fn lists_the_methods_of_a_path() {
        assert_eq!(
            super::allowed_methods("/api/v1/businesses/0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b"),
            ["GET", "PATCH"]
        );
        assert_eq!(super::allowed_methods("/healthz"), ["GET"]);
        assert_eq!(
            super::path_param_names("GET", "/api/v1/orders/x"),
            ["orderId"]
        );
    }
}
