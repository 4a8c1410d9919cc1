//! The spec as served and printed: poem-openapi's, with what its schema model cannot say added.
//!
//! poem-openapi 5 has no `propertyNames`, so the keys of `item_mapping` (dish ids) would be
//! any text to a client or a fuzzer. The amendments are made on the generated JSON, once.

use serde_json::{Value, json};

/// Schemas whose `item_mapping` member is keyed by dish ids.
const DISH_KEYED: &[&str] = &["ConnectRequest", "UpdateIntegrationRequest", "Integration"];

/// `generated` (poem-openapi's spec) with the amendments, as pretty JSON.
pub fn amended(generated: &str) -> String {
    let Ok(mut spec) = serde_json::from_str::<Value>(generated) else {
        return generated.to_string();
    };
    for name in DISH_KEYED {
        let pointer = format!("/components/schemas/{name}/properties/item_mapping");
        if let Some(Value::Object(mapping)) = spec.pointer_mut(&pointer) {
            mapping.insert(
                "propertyNames".into(),
                json!({"type": "string", "format": "uuid"}),
            );
        }
    }
    serde_json::to_string_pretty(&spec).unwrap_or_else(|_| generated.to_string())
}

/// Swagger UI's page for `spec` (poem-openapi's page embeds the spec it generated).
pub fn swagger_page(generated_page: &str, generated: &str, spec: &str) -> String {
    generated_page.replacen(generated, spec, 1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn item_mapping_keys_are_declared_dish_ids() {
        let spec: serde_json::Value = serde_json::from_str(&super::super::spec_json()).unwrap();
        for name in super::DISH_KEYED {
            let pointer =
                format!("/components/schemas/{name}/properties/item_mapping/propertyNames/format");
            assert_eq!(
                spec.pointer(&pointer).and_then(|v| v.as_str()),
                Some("uuid")
            );
        }
    }
}
