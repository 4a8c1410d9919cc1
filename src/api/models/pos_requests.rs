//! What a client sends to connect, disconnect and change a POS integration.

use std::collections::BTreeMap;

use poem_openapi::Object;
use poem_openapi::types::Example;
use uuid::Uuid;

use super::integrations::Provider;
use crate::api::text::{DateTimeText, NonBlank, Text};

/// Connect a business to its POS. Connecting again updates the integration in place (same id,
/// history kept) and makes it active.
#[derive(Debug, Object)]
#[oai(example)]
pub struct ConnectRequest {
    pub business_id: Uuid,
    pub provider: Provider,
    /// Square access token, Zoho access token, or the Dine POS webhook secret. Write-only.
    #[oai(write_only)]
    #[oai(validator(min_length = 1, max_length = 4096))]
    pub access_token: NonBlank,
    /// Required for Zoho (its access tokens live one hour). Write-only.
    #[oai(write_only)]
    #[oai(nullable, validator(min_length = 1, max_length = 4096))]
    pub refresh_token: Option<NonBlank>,
    /// When the access token expires (RFC 3339, from 2000-01-01 to 2100-01-01).
    #[oai(nullable)]
    pub token_expires_at: Option<DateTimeText>,
    /// Square location (required), Zoho warehouse (optional), Dine `hotelId` (required).
    #[oai(nullable, validator(max_length = 192))]
    pub location_id: Option<Text>,
    /// Square merchant id, or the Zoho `organization_id` (required for Zoho).
    #[oai(nullable, validator(max_length = 192))]
    pub merchant_id: Option<Text>,
    /// Zoho only: the contact every sales order is made for.
    #[oai(nullable, validator(max_length = 192))]
    pub default_customer_id: Option<Text>,
    /// Push new orders automatically (default true).
    #[oai(nullable)]
    pub auto_sync_orders: Option<bool>,
    /// Send the customer's name and phone (default true).
    #[oai(nullable)]
    pub sync_customer_info: Option<bool>,
    /// Square: record each order's payment so the POS shows it (default true).
    #[oai(nullable)]
    pub record_payment: Option<bool>,
    /// Dish id → POS item id (Square: an ITEM_VARIATION id).
    #[oai(nullable)]
    pub item_mapping: Option<BTreeMap<String, NonBlank>>,
}

impl Example for ConnectRequest {
    fn example() -> Self {
        ConnectRequest {
            business_id: Uuid::from_u128(0x0193a1b2_7c3d_7e4f_8a9b_0c1d2e3f4a5b),
            provider: Provider::Square,
            access_token: NonBlank("EAAAl...your-square-access-token".into()),
            refresh_token: None,
            token_expires_at: None,
            location_id: Some(Text("L8AHQ2RX0BX1K".into())),
            merchant_id: None,
            default_customer_id: None,
            auto_sync_orders: Some(true),
            sync_customer_info: Some(true),
            record_payment: Some(true),
            item_mapping: None,
        }
    }
}

/// Which business to disconnect.
#[derive(Debug, Object)]
pub struct DisconnectRequest {
    pub business_id: Uuid,
}

/// Changes to an integration's settings; absent fields stay.
#[derive(Debug, Object)]
#[oai(example)]
pub struct UpdateIntegrationRequest {
    #[oai(nullable)]
    pub auto_sync_orders: Option<bool>,
    #[oai(nullable)]
    pub sync_customer_info: Option<bool>,
    /// Square: record each order's payment so the POS shows it.
    #[oai(nullable)]
    pub record_payment: Option<bool>,
    /// Replaces the whole mapping: dish id → POS item id.
    #[oai(nullable)]
    pub item_mapping: Option<BTreeMap<String, NonBlank>>,
    /// Setting it activates an integration that OAuth left inactive for want of one.
    #[oai(nullable, validator(max_length = 192))]
    pub location_id: Option<Text>,
    #[oai(nullable, validator(max_length = 192))]
    pub merchant_id: Option<Text>,
}

impl Example for UpdateIntegrationRequest {
    fn example() -> Self {
        UpdateIntegrationRequest {
            auto_sync_orders: Some(true),
            sync_customer_info: Some(false),
            record_payment: None,
            item_mapping: Some(BTreeMap::from([(
                "0193a1b2-8d4e-7f50-9b0c-1d2e3f4a5b6c".to_string(),
                NonBlank("GBRGFPFVEJ2OLT3XWQ3WZ7OL".into()),
            )])),
            location_id: None,
            merchant_id: None,
        }
    }
}
