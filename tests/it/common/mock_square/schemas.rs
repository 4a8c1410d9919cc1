//! The provider schemas: read once per folder, and loudly skipped when they are absent.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use crate::common::mock_schemas::{SchemaFiles, cached, compile, rooted};

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

/// Compiled once per directory and process.
pub(super) fn schemas_for(dir: &Path) -> Arc<Schemas> {
    cached(dir, load_schemas)
}

fn load_schemas(dir: &Path) -> Schemas {
    let mut schemas = Schemas {
        validators: HashMap::new(),
        create_order: None,
        error_categories: HashMap::new(),
    };
    let mut files = SchemaFiles::new(dir, "square");
    if let Some(file) = files.read("create-order.schema.json") {
        schemas
            .validators
            .insert("CreateOrderRequest", compile("CreateOrderRequest", &file));
        schemas.create_order = Some(file);
    }
    if let Some(file) = files.read("create-order-response.schema.json") {
        schemas
            .validators
            .insert("CreateOrderResponse", compile("CreateOrderResponse", &file));
    }
    if let Some(file) = files.read("oauth.schema.json") {
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
                .insert(def, compile(def, &rooted(&file["definitions"], def)));
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
    if let Some(file) = files.read("payments.schema.json") {
        for def in [
            "CreatePaymentRequest",
            "CreatePaymentResponse",
            "RefundPaymentRequest",
            "PayOrderRequest",
            "PayOrderResponse",
        ] {
            schemas
                .validators
                .insert(def, compile(def, &rooted(&file["definitions"], def)));
        }
    }
    if let Some(file) = files.read("catalog-locations.schema.json") {
        for def in [
            "ListLocationsResponse",
            "ListCatalogResponse",
            "SearchCatalogObjectsRequest",
            "SearchCatalogObjectsResponse",
            "RetrieveOrderResponse",
        ] {
            schemas
                .validators
                .insert(def, compile(def, &rooted(&file["definitions"], def)));
        }
    }
    if let Some(file) = files.read("update-order.schema.json") {
        for def in [
            "UpdateOrderRequest",
            "UpdateOrderResponse",
            "BatchRetrieveOrdersRequest",
            "BatchRetrieveOrdersResponse",
        ] {
            schemas
                .validators
                .insert(def, compile(def, &rooted(&file["definitions"], def)));
        }
    }
    files.warn_if_missing("Square", "The prose and header rules still apply");
    schemas
}
