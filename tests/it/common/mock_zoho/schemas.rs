//! The Zoho schemas: read once per folder, and loudly skipped when they are absent.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use crate::common::mock_schemas::{SchemaFiles, cached, compile, rooted};

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

/// Compiled once per directory and process.
pub(super) fn schemas_for(dir: &Path) -> Arc<Schemas> {
    cached(dir, load_schemas)
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
            "adjustment_description",
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
    let mut files = SchemaFiles::new(dir, "zoho");
    let compile_root = |name: &str, definitions: &Value| compile(name, &rooted(definitions, name));
    if let Some(file) = files.read("salesorders.schema.json") {
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
            .insert(SO_REQUEST, compile_root(SO_REQUEST, &definitions));
        for root in ["sales_order-response", "retrieve-a-sales-order-response"] {
            schemas
                .validators
                .insert(root, compile_root(root, &definitions));
        }
    }
    if let Some(file) = files.read("contacts.schema.json") {
        let definitions = &file["definitions"];
        schemas.contact_fields = property_names(&definitions[CONTACT_REQUEST]);
        schemas.person_fields = property_names(&definitions["contact_persons"]["items"]);
        for root in [
            CONTACT_REQUEST,
            "contact-response",
            "create-a-contact-response",
            "list-contacts-response",
        ] {
            schemas
                .validators
                .insert(root, compile_root(root, definitions));
        }
    }
    files.warn_if_missing("Zoho", "Every other rule still applies");
    schemas
}
