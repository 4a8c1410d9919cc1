//! POS integrations: connect, disconnect, read and change settings.

use std::collections::BTreeMap;

use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use uuid::Uuid;

use super::ApiTags;
use super::auth::BearerAuth;
use super::envelope::{ApiResult, Envelope, ok, ok_with};
use super::models::{
    ConnectRequest, DisconnectRequest, Empty, IntegrationData, UpdateIntegrationRequest,
};
use super::params;
use super::text::{NonBlank, Text};
use crate::app::App;
use crate::catalog::Catalogs;
use crate::catalog::door::{self, Checked};
use crate::crypto::Secret;
use crate::domain::{
    BusinessId, ProviderKind, bounded, limits, now_millis, optional_bounded, parse_rfc3339,
};
use crate::store::{IntegrationPatch, NewIntegration, businesses, integrations};
use crate::{Error, Result};

fn pos_id(field: &str, raw: Option<&Text>) -> Result<Option<String>> {
    optional_bounded(field, raw.map(Text::as_str), limits::POS_ID)
}

fn item_mapping(
    raw: Option<&BTreeMap<String, NonBlank>>,
) -> Result<Option<BTreeMap<String, String>>> {
    raw.map(|map| {
        map.iter()
            .map(|(dish, item)| {
                let field = format!("item_mapping.{dish}");
                let dish = params::id(&field, dish)
                    .map_err(|_| Error::invalid(&field, "keys must be dish ids (UUIDs)"))?;
                Ok((dish, bounded(&field, item.as_str(), limits::POS_ID)?))
            })
            .collect()
    })
    .transpose()
}

/// The earliest and latest `token_expires_at` taken (2000-01-01 and 2100-01-01, UTC): anything
/// outside is a typo, and an extreme one would overflow the arithmetic on it.
const EXPIRY_RANGE: std::ops::RangeInclusive<i64> = 946_684_800_000..=4_102_444_800_000;

/// `token_expires_at`: RFC 3339, within [`EXPIRY_RANGE`].
fn token_expiry(raw: &str) -> Result<i64> {
    let at = parse_rfc3339("token_expires_at", raw)?;
    if !EXPIRY_RANGE.contains(&at) {
        return Err(Error::invalid(
            "token_expires_at",
            "must lie between 2000-01-01T00:00:00Z and 2100-01-01T00:00:00Z",
        ));
    }
    Ok(at)
}

fn token(field: &str, raw: &NonBlank) -> Result<Secret> {
    let text = raw.as_str().trim();
    if text.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if text.chars().count() > limits::TOKEN {
        return Err(Error::invalid(
            field,
            format!("must be at most {} characters", limits::TOKEN),
        ));
    }
    Ok(Secret::new(text))
}

fn required(provider: ProviderKind, field: &str, value: &Option<impl Sized>) -> Result<()> {
    match value {
        Some(_) => Ok(()),
        None => Err(Error::invalid(
            field,
            format!("is required for {}", provider.display_name()),
        )),
    }
}

/// Check a connect request against the per-provider rules (providers/README.md §F2).
fn new_integration(body: &ConnectRequest) -> Result<NewIntegration> {
    let provider = ProviderKind::from(body.provider);
    let new = NewIntegration {
        business_id: BusinessId::from(body.business_id),
        provider,
        access_token: token("access_token", &body.access_token)?,
        refresh_token: body
            .refresh_token
            .as_ref()
            .map(|t| token("refresh_token", t))
            .transpose()?,
        token_expires_at: body
            .token_expires_at
            .as_ref()
            .map(|t| token_expiry(t.as_str()))
            .transpose()?,
        location_id: pos_id("location_id", body.location_id.as_ref())?,
        merchant_id: pos_id("merchant_id", body.merchant_id.as_ref())?,
        default_customer_id: pos_id("default_customer_id", body.default_customer_id.as_ref())?,
        auto_sync_orders: body.auto_sync_orders.unwrap_or(true),
        sync_customer_info: body.sync_customer_info.unwrap_or(true),
        record_payment: body.record_payment.unwrap_or(true),
        item_mapping: item_mapping(body.item_mapping.as_ref())?.unwrap_or_default(),
        api_domain: None,
        activate: true,
    };
    match provider {
        ProviderKind::Square => required(provider, "location_id", &new.location_id)?,
        ProviderKind::Zoho => {
            required(provider, "refresh_token", &new.refresh_token)?;
            required(provider, "merchant_id", &new.merchant_id)?;
        }
        ProviderKind::Dine => required(provider, "location_id", &new.location_id)?,
    }
    if provider != ProviderKind::Zoho && new.default_customer_id.is_some() {
        return Err(Error::invalid(
            "default_customer_id",
            "applies to Zoho only",
        ));
    }
    Ok(new)
}

fn integration_patch(body: &UpdateIntegrationRequest) -> Result<IntegrationPatch> {
    Ok(IntegrationPatch {
        auto_sync_orders: body.auto_sync_orders,
        sync_customer_info: body.sync_customer_info,
        record_payment: body.record_payment,
        item_mapping: item_mapping(body.item_mapping.as_ref())?,
        location_id: pos_id("location_id", body.location_id.as_ref())?,
        merchant_id: pos_id("merchant_id", body.merchant_id.as_ref())?,
    })
}

/// POS integrations: connect, disconnect, settings. The app comes to each operation as request data.
#[derive(Default)]
pub struct PosApi;

#[OpenApi(prefix_path = "/api/v1/pos", tag = "ApiTags::Pos")]
impl PosApi {
    /// Connect a business to its POS
    ///
    /// Required fields per provider: Square `location_id`; Zoho `refresh_token` and
    /// `merchant_id` (the organization_id); Dine `location_id` (the hotelId). Tokens are sealed
    /// with AES-256-GCM before they are stored and never appear in a response. A Square
    /// `location_id` must be an active location of the account (else 400 naming `location_id`,
    /// listing the active ones); when Square's locations cannot be read it is saved as given.
    /// Connecting again forgets the cached catalog.
    #[oai(path = "/connect", method = "post", operation_id = "connectPos")]
    async fn connect(
        &self,
        app: Data<&App>,
        auth: BearerAuth,
        body: Json<ConnectRequest>,
    ) -> ApiResult<Json<Envelope<IntegrationData>>> {
        let new = new_integration(&body)?;
        let provider = new.provider;
        let app_ = app.clone();
        let integration = app
            .as_seller(&auth)
            .run(move |store, seller| {
                // Square's locations are read before anything is written (no transaction is
                // held across the call); the connect message stays the guide's, so an unchecked
                // location is only logged.
                if let Checked::Not(why) = door::check_connect(&Catalogs::of(&app_), &new)? {
                    tracing::warn!(business = %new.business_id, %why, "location_id saved unchecked");
                }
                let (keyring, seller) = (app_.keyring.clone(), seller.to_string());
                store.write(move |tx| {
                    integrations::connect(tx, &keyring, &seller, &new, now_millis())
                })
            })
            .await?;
        Ok(ok_with(
            IntegrationData {
                integration: integration.into(),
            },
            // The provider's wire value, as the integration guide shows: "square POS …".
            format!("{provider} POS integration connected successfully"),
        ))
    }

    /// Disconnect a business from its POS
    ///
    /// The integration turns inactive, its tokens are erased, and pushes still waiting fail
    /// with `integration disconnected` (enter those orders by hand). History stays.
    #[oai(path = "/disconnect", method = "post", operation_id = "disconnectPos")]
    async fn disconnect(
        &self,
        app: Data<&App>,
        auth: BearerAuth,
        body: Json<DisconnectRequest>,
    ) -> ApiResult<Json<Envelope<Empty>>> {
        let business_id = BusinessId::from(body.business_id);
        let keyring = app.keyring.clone();
        let engine = app.sync.clone();
        app.as_seller(&auth).run(move |store, seller| {
            let seller = seller.to_string();
            let (integration, tokens) = store.write(move |tx| {
                integrations::disconnect(tx, &keyring, &seller, &business_id, now_millis())
            })?;
            // The tokens are erased; now revoke them at the provider, best effort.
            let oauth = engine.oauth();
            if oauth.configured(integration.provider) && tokens.access_token.is_some() {
                match oauth.revoke(
                    integration.provider,
                    tokens.access_token.as_ref(),
                    tokens.refresh_token.as_ref(),
                ) {
                    Ok(()) => tracing::info!(integration = %integration.id, "revoked the POS tokens"),
                    Err(e) => tracing::warn!(integration = %integration.id, error = %e, "revoking the POS tokens failed"),
                }
            }
            Ok(())
        })
        .await?;
        Ok(ok_with(
            Empty {},
            "POS integration disconnected successfully",
        ))
    }

    /// Get a business's POS integration
    #[oai(
        path = "/integration/:businessId",
        method = "get",
        operation_id = "getIntegration"
    )]
    async fn get(
        &self,
        app: Data<&App>,
        auth: BearerAuth,
        #[oai(name = "businessId")] business_id: Path<Uuid>,
    ) -> ApiResult<Json<Envelope<IntegrationData>>> {
        let id = BusinessId::from(business_id.0);
        let integration = app
            .as_seller(&auth)
            .read(move |c, seller| integrations::owned_integration(c, seller, &id))
            .await?;
        Ok(ok(IntegrationData {
            integration: integration.into(),
        }))
    }

    /// Change a POS integration's settings
    ///
    /// Checked at the door: a POS id that `item_mapping` adds or changes must be in the POS
    /// catalog (else 400 naming `item_mapping.<dish_id>`), and a Square `location_id` must be an
    /// active location of the account (else 400 naming `location_id`, listing the active ones).
    /// When the POS cannot be asked (Dine, the POS down), the value is saved as given and the
    /// message says what was not checked and why.
    #[oai(
        path = "/integration/:businessId",
        method = "patch",
        operation_id = "updateIntegration"
    )]
    async fn update(
        &self,
        app: Data<&App>,
        auth: BearerAuth,
        #[oai(name = "businessId")] business_id: Path<Uuid>,
        body: Json<UpdateIntegrationRequest>,
    ) -> ApiResult<Json<Envelope<IntegrationData>>> {
        let id = BusinessId::from(business_id.0);
        let patch = integration_patch(&body)?;
        let app_ = app.clone();
        let (integration, unchecked) = app
            .as_seller(&auth)
            .run(move |store, seller| {
                let (business, current) = store.read(|c| {
                    let business = businesses::owned_business(c, seller, &id)?;
                    let current = integrations::owned_integration(c, seller, &id)?;
                    if let Some(mapping) = &patch.item_mapping {
                        integrations::check_mapping(c, &id, mapping)?;
                    }
                    Ok((business, current))
                })?;
                // The POS is asked before the write, never inside a transaction.
                let unchecked =
                    door::check_patch(&Catalogs::of(&app_), &current, business.currency, &patch)?;
                let seller = seller.to_string();
                let integration = store.write(move |tx| {
                    integrations::update(tx, &seller, &id, &patch, now_millis())
                })?;
                Ok((integration, unchecked))
            })
            .await?;
        let data = IntegrationData {
            integration: integration.into(),
        };
        Ok(if unchecked.is_empty() {
            ok(data)
        } else {
            ok_with(
                data,
                format!("Integration updated; {}", unchecked.join("; ")),
            )
        })
    }
}
