//! The Zoho schemas: read once per folder, and loudly skipped when they are absent.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Value, json};

pub(super) const SO_REQUEST: &str = "create-a-sales-order-request";
pub(super) const CONTACT_REQUEST: &str = "create-a-contact-request";

pub(super) struct Schemas {
    pub(super) validators: HashMap<&'static str, jsonschema::Validator>,
    /// The properties the request schemas know (for the unknown-field rule).
    pub(super) so_fields: Vec<String>,
    pub(super) line_fields: Vec<String>,
    pub(super) contact_fields: Vec<String>,
    pub(super) person_fields: Vec<String>,
}

impl Schemas {
    pub(super) fn loaded(&self) -> bool {
        self.validators.contains_key(SO_REQUEST) && self.validators.contains_key(CONTACT_REQUEST)
    }
}

/// `$POSSYNC_PROVIDERS_DIR`, else `<CARGO_MANIFEST_DIR>/../shared/providers`.
pub fn providers_dir() -> PathBuf {
    match std::env::var_os("POSSYNC_PROVIDERS_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/providers"),
    }
}

pub(super) fn schemas_for(dir: &Path) -> Arc<Schemas> {
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, Arc<Schemas>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .entry(dir.to_path_buf())
        .or_insert_with(|| Arc::new(load_schemas(dir)))
        .clone()
}

fn property_names(schema: &Value) -> Vec<String> {
    schema["properties"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn load_schemas(dir: &Path) -> Schemas {
    // Without the schema files, the unknown-field rule falls back to the fields possync uses.
    let mut schemas = Schemas {
        validators: HashMap::new(),
        so_fields: strings(&[
            "customer_id",
            "salesorder_number",
            "date",
            "shipment_date",
            "reference_number",
            "location_id",
            "line_items",
            "notes",
            "terms",
            "discount",
            "is_discount_before_tax",
            "discount_type",
            "shipping_charge",
            "delivery_method",
            "adjustment",
            "salesperson_id",
            "is_inclusive_tax",
            "exchange_rate",
            "gst_treatment",
            "gst_no",
            "place_of_supply",
        ]),
        line_fields: strings(&[
            "item_id",
            "name",
            "description",
            "rate",
            "quantity",
            "unit",
            "tax_id",
            "location_id",
            "item_total",
        ]),
        contact_fields: strings(&[
            "contact_name",
            "company_name",
            "contact_type",
            "contact_persons",
            "billing_address",
            "shipping_address",
            "notes",
        ]),
        person_fields: strings(&[
            "salutation",
            "first_name",
            "last_name",
            "email",
            "phone",
            "mobile",
            "is_primary_contact",
        ]),
    };
    let mut missing = Vec::new();
    let mut read = |file: &str| -> Option<Value> {
        let path = dir.join("zoho").join(file);
        match std::fs::read_to_string(&path) {
            Ok(text) => Some(
                serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display())),
            ),
            Err(e) => {
                missing.push(format!("{} ({e})", path.display()));
                None
            }
        }
    };
    let compile = |name: &str, definitions: &Value| -> jsonschema::Validator {
        let rooted = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "$ref": format!("#/definitions/{name}"),
            "definitions": definitions,
        });
        jsonschema::draft7::new(&rooted)
            .unwrap_or_else(|e| panic!("the Zoho schema {name} does not compile: {e}"))
    };
    if let Some(file) = read("salesorders.schema.json") {
        let mut definitions = file["definitions"].clone();
        // §B2: `salesorder_number` is only needed with ignore_auto_number_generation=true.
        if let Some(required) = definitions[SO_REQUEST]["required"].as_array_mut() {
            required.retain(|r| r != "salesorder_number");
        }
        let request = &definitions[SO_REQUEST];
        schemas.so_fields = property_names(request);
        schemas.line_fields = property_names(&request["properties"]["line_items"]["items"]);
        schemas
            .validators
            .insert(SO_REQUEST, compile(SO_REQUEST, &definitions));
        for root in ["sales_order-response", "retrieve-a-sales-order-response"] {
            schemas.validators.insert(root, compile(root, &definitions));
        }
    }
    if let Some(file) = read("contacts.schema.json") {
        let definitions = &file["definitions"];
        schemas.contact_fields = property_names(&definitions[CONTACT_REQUEST]);
        schemas.person_fields = property_names(&definitions["contact_persons"]["items"]);
        for root in [
            CONTACT_REQUEST,
            "contact-response",
            "create-a-contact-response",
            "list-contacts-response",
        ] {
            schemas.validators.insert(root, compile(root, definitions));
        }
    }
    if !missing.is_empty() {
        eprintln!(
            "\n!!!!!!!! SCHEMA CHECK SKIPPED for the mock Zoho: {}. Every other rule still \
             applies, but no body is checked against the missing schemas. Set \
             POSSYNC_PROVIDERS_DIR to the folder holding zoho/. !!!!!!!!\n",
            missing.join("; ")
        );
    }
    schemas
}
