//! The spec is one a generated client can type: `possync openapi` declares every id of an answer
//! `format: uuid` and every time `format: date-time`, one `SyncLog` schema, a 405 on every
//! operation, `success: false` in the examples of error answers, and enough of each request's
//! rules (enums, key formats, patterns) that a fuzzer's schema-valid request is a valid one.

use crate::common;

use common::run_possync;
use serde_json::Value;

fn spec() -> Value {
    let run = run_possync(&["openapi"], None);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    serde_json::from_str(&run.stdout).expect("the spec is JSON")
}

/// The schemas of the answers: every component that is not a request body.
fn answer_schemas(spec: &Value) -> Vec<(&String, &Value)> {
    spec["components"]["schemas"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(name, _)| !name.ends_with("Request"))
        .collect()
}

#[test]
fn every_id_and_time_of_an_answer_declares_its_format() {
    let spec = spec();
    let mut problems = Vec::new();
    for (name, schema) in answer_schemas(&spec) {
        let Some(properties) = schema["properties"].as_object() else {
            continue;
        };
        for (field, property) in properties {
            let is_id = field == "id"
                || field.ends_with("_id")
                    && !["pos_order_id", "pos_payment_id"].contains(&field.as_str());
            let pos_side = [
                "location_id",
                "merchant_id",
                "default_customer_id",
                "pos_item_id",
            ];
            let wanted = if is_id && !pos_side.contains(&field.as_str()) {
                "uuid"
            } else if field.ends_with("_at") {
                "date-time"
            } else {
                continue;
            };
            if property["format"] != wanted {
                problems.push(format!("{name}.{field}: {property} (wanted {wanted})"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_sync_log_is_one_schema_wherever_it_appears() {
    let spec = spec();
    let schemas = &spec["components"]["schemas"];
    let order_log = &schemas["OrderData"]["properties"]["sync_log"];
    assert_eq!(order_log["nullable"], true, "{order_log}");
    assert_eq!(
        order_log["anyOf"][0]["$ref"], "#/components/schemas/SyncLog",
        "{order_log}"
    );
    assert!(order_log.get("allOf").is_none(), "{order_log}");
    assert_eq!(
        schemas["SyncLogData"]["properties"]["syncLog"]["$ref"],
        "#/components/schemas/SyncLog"
    );
    assert_eq!(
        schemas["HistoryData"]["properties"]["logs"]["items"]["$ref"],
        "#/components/schemas/SyncLog"
    );
    let text = spec.to_string();
    assert_eq!(
        text.matches("\"title\":\"SyncLog\"").count(),
        1,
        "one SyncLog schema"
    );
}

#[test]
fn every_api_operation_documents_405_and_error_examples_say_success_false() {
    let spec = spec();
    let schemas = &spec["components"]["schemas"];
    let success = &schemas["ErrorEnvelope"]["properties"]["success"];
    assert_eq!(success["example"], false, "{success}");
    assert_eq!(success["type"], "boolean");
    for (path, item) in spec["paths"].as_object().unwrap() {
        if !path.starts_with("/api/v1/") || path.ends_with("/callback") {
            continue;
        }
        for (method, operation) in item.as_object().unwrap() {
            let answer = &operation["responses"]["405"];
            assert_eq!(
                answer["content"]["application/json; charset=utf-8"]["schema"]["$ref"],
                "#/components/schemas/ErrorEnvelope",
                "{method} {path}: {answer}"
            );
        }
    }
}

#[test]
fn request_rules_a_schema_can_say_are_in_the_spec() {
    let spec = spec();
    let schemas = &spec["components"]["schemas"];
    assert_eq!(
        schemas["OAuthProvider"]["enum"],
        serde_json::json!(["square", "zoho"])
    );
    for op in ["authorize", "callback"] {
        let provider =
            &spec["paths"][format!("/api/v1/pos/oauth/{{provider}}/{op}")]["get"]["parameters"][0];
        assert_eq!(provider["name"], "provider");
        assert_eq!(
            provider["schema"]["$ref"], "#/components/schemas/OAuthProvider",
            "{op}"
        );
    }
    for name in ["ConnectRequest", "UpdateIntegrationRequest", "Integration"] {
        let mapping = &schemas[name]["properties"]["item_mapping"];
        assert_eq!(mapping["propertyNames"]["format"], "uuid", "{name}");
    }
    let expires = &schemas["ConnectRequest"]["properties"]["token_expires_at"];
    assert_eq!(expires["format"], "date-time", "{expires}");
    // Every text a request carries says it takes no NUL (or a pattern stricter than that).
    let mut problems = Vec::new();
    for (name, schema) in schemas.as_object().unwrap() {
        if !name.ends_with("Request") {
            continue;
        }
        for (field, property) in schema["properties"].as_object().unwrap() {
            let text = property["type"] == "string" && property.get("format").is_none();
            if text && property.get("pattern").is_none() {
                problems.push(format!("{name}.{field} has no pattern: {property}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
