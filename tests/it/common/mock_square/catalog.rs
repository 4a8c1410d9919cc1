//! ListCatalog and SearchCatalogObjects over the catalog the test sets.

use serde_json::{Value, json};

use super::errors::{SqError, error_response};
use super::prose::{dedupe, or_root};
use super::routes::{check_bearer, check_content_type, check_square_version, record};
use super::state::Inner;
use crate::common::mock_http::{Action, Request, Response};

impl Inner {
    pub(super) fn list_catalog(&self, req: &Request) -> Action {
        let mut st = self.lock();
        st.requests.push(record(req));
        let ctx = "GET /v2/catalog/list";
        let auth = check_bearer(&mut st, ctx, req, "ITEMS_READ");
        let version = check_square_version(&mut st, ctx, req);
        if let Err(resp) = auth.map(|_| ()).and(version) {
            return Action::Respond(resp);
        }
        let types: Option<Vec<String>> = req.query("types").map(|t| {
            t.split(',')
                .map(|s| s.trim().to_ascii_uppercase())
                .filter(|s| !s.is_empty())
                .collect()
        });
        let objects: Vec<Value> = st
            .catalog
            .iter()
            .flatten()
            .filter(|o| o["is_deleted"] != json!(true))
            .filter(|o| {
                types
                    .as_ref()
                    .is_none_or(|t| t.iter().any(|t| o["type"] == json!(t)))
            })
            .cloned()
            .collect();
        match page(&objects, req.query("cursor"), 100) {
            Ok(answer) => Action::Respond(Response::json(200, &answer)),
            Err(resp) => Action::Respond(resp),
        }
    }

    pub(super) fn search_catalog(&self, req: &Request) -> Action {
        let mut st = self.lock();
        st.requests.push(record(req));
        let ctx = "POST /v2/catalog/search";
        let auth = check_bearer(&mut st, ctx, req, "ITEMS_READ");
        let version = check_square_version(&mut st, ctx, req);
        let content = check_content_type(&mut st, ctx, req);
        let body = match req.json() {
            Ok(Value::Null) => json!({}),
            Ok(body) => body,
            Err(e) => {
                st.problem(ctx, format!("the body is not JSON: {e}"));
                return Action::Respond(error_response(
                    400,
                    vec![SqError::new("EXPECTED_JSON_BODY", "The body must be JSON.")],
                ));
            }
        };
        let violations = dedupe(self.schema_violations("SearchCatalogObjectsRequest", &body));
        for v in &violations {
            st.problem(
                ctx,
                format!("{}: {}: {}", or_root(&v.field), v.code, v.detail),
            );
        }
        if let Err(resp) = auth.map(|_| ()).and(version).and(content) {
            return Action::Respond(resp);
        }
        if !violations.is_empty() {
            let errors = violations
                .iter()
                .map(|v| SqError::new(v.code, v.detail.clone()).field(v.field.clone()))
                .collect();
            return Action::Respond(error_response(400, errors));
        }
        let types: Option<Vec<&str>> = body["object_types"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect());
        let include_deleted = body["include_deleted_objects"] == json!(true);
        let query = &body["query"];
        let objects: Vec<Value> = st
            .catalog
            .iter()
            .flatten()
            .filter(|o| include_deleted || o["is_deleted"] != json!(true))
            .filter(|o| {
                types
                    .as_ref()
                    .is_none_or(|t| t.iter().any(|t| o["type"] == json!(t)))
            })
            .filter(|o| catalog_matches(o, query))
            .cloned()
            .collect();
        let limit = body["limit"].as_u64().unwrap_or(100).clamp(1, 1000) as usize;
        let cursor = body["cursor"].as_str();
        match page(&objects, cursor, limit) {
            Ok(answer) => Action::Respond(Response::json(200, &answer)),
            Err(resp) => Action::Respond(resp),
        }
    }
}

/// `{objects, cursor?}` from `cursor` (an index); Square answers `{}` when there is nothing.
fn page(objects: &[Value], cursor: Option<&str>, limit: usize) -> Result<Value, Response> {
    let start = match cursor {
        None | Some("") => 0,
        Some(c) => c.parse::<usize>().map_err(|_| {
            error_response(
                400,
                vec![SqError::new("INVALID_CURSOR", "Invalid cursor.").field("cursor")],
            )
        })?,
    };
    let end = (start + limit).min(objects.len());
    let mut answer = json!({});
    if start < end {
        answer["objects"] = json!(objects[start..end]);
    }
    if end < objects.len() {
        answer["cursor"] = json!(end.to_string());
    }
    Ok(answer)
}

/// The `name` attribute of a catalog object (`<type>_data.name`).
fn catalog_name(object: &Value) -> String {
    let kind = object["type"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    object[format!("{kind}_data")]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn catalog_attribute(object: &Value, name: &str) -> Option<String> {
    if name == "name" {
        return Some(catalog_name(object));
    }
    let kind = object["type"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let v = &object[format!("{kind}_data")][name];
    v.as_str()
        .map(str::to_string)
        .or_else(|| (!v.is_null()).then(|| v.to_string()))
}

fn catalog_matches(object: &Value, query: &Value) -> bool {
    if let Some(keywords) = query["text_query"]["keywords"].as_array() {
        let name = catalog_name(object).to_lowercase();
        return keywords
            .iter()
            .filter_map(Value::as_str)
            .all(|k| name.contains(&k.to_lowercase()));
    }
    if query["exact_query"].is_object() {
        let q = &query["exact_query"];
        let attr = q["attribute_name"].as_str().unwrap_or("name");
        return catalog_attribute(object, attr).as_deref() == q["attribute_value"].as_str();
    }
    if query["prefix_query"].is_object() {
        let q = &query["prefix_query"];
        let attr = q["attribute_name"].as_str().unwrap_or("name");
        let prefix = q["attribute_prefix"].as_str().unwrap_or("").to_lowercase();
        return catalog_attribute(object, attr)
            .is_some_and(|v| v.to_lowercase().starts_with(&prefix));
    }
    true
}
