//! Schema errors as Square reports them (field, code, detail), and the read-only fields.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::prose::Violation;
use super::schemas::Schemas;

pub(super) fn violation_of(e: &jsonschema::ValidationError<'_>) -> Violation {
    use jsonschema::JsonType;
    use jsonschema::error::{TypeKind, ValidationErrorKind as K};
    let field = location_field(e.instance_path());
    let detail = format!("{e}");
    let code = match e.kind() {
        K::AnyOf { context } => {
            // Square's nullable fields are `anyOf: [{$ref}, {"type": "null"}]`: report the
            // non-null branch.
            for branch in context {
                let null_only = branch.len() == 1
                    && matches!(
                        branch[0].kind(),
                        K::Type {
                            kind: TypeKind::Single(JsonType::Null)
                        }
                    );
                if let (false, Some(first)) = (null_only, branch.first()) {
                    return violation_of(first);
                }
            }
            "INVALID_VALUE"
        }
        K::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            let field = if field.is_empty() {
                name.to_string()
            } else {
                format!("{field}.{name}")
            };
            return Violation::reject(&field, "MISSING_REQUIRED_PARAMETER", detail);
        }
        K::MaxLength { .. } => "VALUE_TOO_LONG",
        K::MinLength { .. } => "VALUE_TOO_SHORT",
        K::Enum { .. } => "INVALID_ENUM_VALUE",
        K::Minimum { .. } | K::ExclusiveMinimum { .. } => "VALUE_TOO_LOW",
        K::Maximum { .. } | K::ExclusiveMaximum { .. } => "VALUE_TOO_HIGH",
        K::MaxItems { .. } => "ARRAY_LENGTH_TOO_LONG",
        K::MinItems { .. } => "ARRAY_LENGTH_TOO_SHORT",
        K::Type { kind } => {
            let wanted: Vec<JsonType> = match kind {
                TypeKind::Single(t) => vec![*t],
                TypeKind::Multiple(set) => set.iter().collect(),
            };
            match wanted.into_iter().find(|t| *t != JsonType::Null) {
                Some(JsonType::String) => "EXPECTED_STRING",
                Some(JsonType::Integer) => "EXPECTED_INTEGER",
                Some(JsonType::Number) => "EXPECTED_FLOAT",
                Some(JsonType::Boolean) => "EXPECTED_BOOLEAN",
                Some(JsonType::Array) => "EXPECTED_ARRAY",
                Some(JsonType::Object) => "EXPECTED_OBJECT",
                _ => "INVALID_VALUE",
            }
        }
        _ => "INVALID_VALUE",
    };
    Violation::reject(&field, code, detail)
}

/// A JSON pointer as Square names fields: `order.line_items[0].quantity`.
fn location_field(location: &jsonschema::paths::Location) -> String {
    use jsonschema::paths::LocationSegment;
    let mut field = String::new();
    for segment in location.segments() {
        match segment {
            LocationSegment::Property(p) => {
                if !field.is_empty() {
                    field.push('.');
                }
                field.push_str(&p);
            }
            LocationSegment::Index(i) => field.push_str(&format!("[{i}]")),
        }
    }
    field
}

/// A path inside a JSON value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Seg {
    Key(String),
    Index(usize),
}

pub(super) fn field_name(path: &[Seg]) -> String {
    let mut field = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !field.is_empty() {
                    field.push('.');
                }
                field.push_str(k);
            }
            Seg::Index(i) => field.push_str(&format!("[{i}]")),
        }
    }
    field
}

pub(super) fn remove_path(value: &mut Value, path: &[Seg]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = value;
    for seg in parents {
        let next = match (seg, cur) {
            (Seg::Key(k), Value::Object(m)) => m.get_mut(k),
            (Seg::Index(i), Value::Array(a)) => a.get_mut(*i),
            _ => None,
        };
        match next {
            Some(v) => cur = v,
            None => return,
        }
    }
    if let (Seg::Key(k), Value::Object(m)) = (last, cur) {
        m.remove(k);
    }
}

/// Paths of read-only fields (per the schema's `readOnly`) present in a CreateOrder body.
pub(super) fn read_only_paths(schemas: &Schemas, body: &Value) -> Vec<Vec<Seg>> {
    let mut out = Vec::new();
    match &schemas.create_order {
        Some(schema) => {
            let defs = &schema["definitions"];
            walk_read_only(defs, schema, body, &mut Vec::new(), &mut out, 0);
        }
        None => {
            // Without the schema: the Order and line-item read-only fields of this snapshot.
            const ORDER: &[&str] = &[
                "id",
                "returns",
                "return_amounts",
                "net_amounts",
                "rounding_adjustment",
                "tenders",
                "refunds",
                "created_at",
                "updated_at",
                "closed_at",
                "total_money",
                "total_tax_money",
                "total_discount_money",
                "total_tip_money",
                "total_service_charge_money",
                "rewards",
                "net_amount_due_money",
            ];
            const LINE: &[&str] = &[
                "variation_total_price_money",
                "gross_sales_money",
                "total_tax_money",
                "total_discount_money",
                "total_money",
                "total_service_charge_money",
            ];
            let order = &body["order"];
            for key in ORDER {
                if order.get(*key).is_some() {
                    out.push(vec![Seg::Key("order".into()), Seg::Key(key.to_string())]);
                }
            }
            if let Some(lines) = order["line_items"].as_array() {
                for (i, line) in lines.iter().enumerate() {
                    for key in LINE {
                        if line.get(*key).is_some() {
                            out.push(vec![
                                Seg::Key("order".into()),
                                Seg::Key("line_items".into()),
                                Seg::Index(i),
                                Seg::Key(key.to_string()),
                            ]);
                        }
                    }
                }
            }
        }
    }
    let mut seen = HashSet::new();
    out.retain(|p| seen.insert(p.clone()));
    out
}

fn walk_read_only(
    defs: &Value,
    schema: &Value,
    instance: &Value,
    path: &mut Vec<Seg>,
    out: &mut Vec<Vec<Seg>>,
    depth: usize,
) {
    if depth > 64 || instance.is_null() {
        return;
    }
    if schema["readOnly"] == json!(true) {
        out.push(path.clone());
        return;
    }
    if let Some(target) = schema["$ref"].as_str() {
        if let Some(name) = target.strip_prefix("#/definitions/") {
            walk_read_only(defs, &defs[name], instance, path, out, depth + 1);
        }
        return;
    }
    for combinator in ["allOf", "anyOf", "oneOf"] {
        if let Some(subs) = schema[combinator].as_array() {
            for sub in subs {
                walk_read_only(defs, sub, instance, path, out, depth + 1);
            }
        }
    }
    match instance {
        Value::Object(map) => {
            if let Some(props) = schema["properties"].as_object() {
                for (key, child) in map {
                    if let Some(sub) = props.get(key) {
                        path.push(Seg::Key(key.clone()));
                        walk_read_only(defs, sub, child, path, out, depth + 1);
                        path.pop();
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(sub) = schema.get("items").filter(|s| s.is_object()) {
                for (i, child) in items.iter().enumerate() {
                    path.push(Seg::Index(i));
                    walk_read_only(defs, sub, child, path, out, depth + 1);
                    path.pop();
                }
            }
        }
        _ => {}
    }
}
