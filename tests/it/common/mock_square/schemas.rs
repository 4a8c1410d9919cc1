//! The provider schemas: read once per folder, and loudly skipped when they are absent.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Value, json};

/// The compiled provider schemas (whatever of them was found).
pub(super) struct Schemas {
    pub(super) validators: HashMap<&'static str, jsonschema::Validator>,
    /// `create-order.schema.json` itself, for its `readOnly` annotations.
    pub(super) create_order: Option<Value>,
    /// `ErrorCode.x-error-category`.
    pub(super) error_categories: HashMap<String, String>,
}

impl Schemas {
    pub(super) fn loaded(&self) -> bool {
        self.validators.contains_key("CreateOrderRequest")
    }
}

/// `$POSSYNC_PROVIDERS_DIR`, else `<CARGO_MANIFEST_DIR>/../shared/providers`.
pub(super) fn providers_dir() -> PathBuf {
    match std::env::var_os("POSSYNC_PROVIDERS_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/providers"),
    }
}

/// Compiled once per directory and process.
pub(super) fn schemas_for(dir: &Path) -> Arc<Schemas> {
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, Arc<Schemas>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .entry(dir.to_path_buf())
        .or_insert_with(|| Arc::new(load_schemas(dir)))
        .clone()
}

fn load_schemas(dir: &Path) -> Schemas {
    let mut schemas = Schemas {
        validators: HashMap::new(),
        create_order: None,
        error_categories: HashMap::new(),
    };
    let missing = std::cell::RefCell::new(Vec::new());
    let read = |file: &str| -> Option<Value> {
        let path = dir.join("square").join(file);
        match std::fs::read_to_string(&path) {
            Ok(text) => Some(
                serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display())),
            ),
            Err(e) => {
                missing
                    .borrow_mut()
                    .push(format!("{} ({e})", path.display()));
                None
            }
        }
    };
    let compile = |name: &str, schema: &Value| -> jsonschema::Validator {
        jsonschema::draft7::new(schema)
            .unwrap_or_else(|e| panic!("the schema {name} does not compile: {e}"))
    };
    let rooted = |file: &Value, def: &str| {
        json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "$ref": format!("#/definitions/{def}"),
            "definitions": file["definitions"],
        })
    };
    if let Some(file) = read("create-order.schema.json") {
        schemas
            .validators
            .insert("CreateOrderRequest", compile("CreateOrderRequest", &file));
        schemas.create_order = Some(file);
    }
    if let Some(file) = read("create-order-response.schema.json") {
        schemas
            .validators
            .insert("CreateOrderResponse", compile("CreateOrderResponse", &file));
    }
    if let Some(file) = read("oauth.schema.json") {
        for def in [
            "ObtainTokenRequest",
            "ObtainTokenResponse",
            "RevokeTokenRequest",
            "RevokeTokenResponse",
            "RetrieveTokenStatusResponse",
            "ErrorsEnvelope",
            "Error",
        ] {
            schemas
                .validators
                .insert(def, compile(def, &rooted(&file, def)));
        }
        if let Some(table) = file["definitions"]["ErrorCode"]["x-error-category"].as_object() {
            for (code, category) in table {
                if let Some(category) = category.as_str() {
                    schemas
                        .error_categories
                        .insert(code.clone(), category.to_string());
                }
            }
        }
    }
    if let Some(file) = read("catalog-locations.schema.json") {
        for def in [
            "ListLocationsResponse",
            "ListCatalogResponse",
            "SearchCatalogObjectsRequest",
            "SearchCatalogObjectsResponse",
            "RetrieveOrderResponse",
        ] {
            schemas
                .validators
                .insert(def, compile(def, &rooted(&file, def)));
        }
    }
    let missing = missing.into_inner();
    if !missing.is_empty() {
        eprintln!(
            "\n!!!!!!!! SCHEMA CHECK SKIPPED for the mock Square: {}. The prose and header rules \
             still apply, but nothing is checked against the missing schemas. Set \
             POSSYNC_PROVIDERS_DIR to the folder holding square/. !!!!!!!!\n",
            missing.join("; ")
        );
    }
    schemas
}
