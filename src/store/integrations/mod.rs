//! POS integrations: one per business. This file reads them and changes their settings
//! (connect, update, disconnect); [`secrets`] seals and opens their tokens, which never leave it
//! in plaintext except through [`integration_tokens`].

mod secrets;

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::businesses::{dish_of_business, owned_business};
use crate::crypto::{Keyring, Secret};
pub use crate::domain::Integration;
use crate::domain::{BusinessId, IntegrationId, LaneHealth, Millis, ProviderKind, new_id};
use crate::{Error, Result};
pub use secrets::{
    SealedTokens, integration_tokens, reseal_all, store_refreshed_tokens, verify_all_secrets,
};

/// A validated connect request (the provider-specific rules are already checked).
#[derive(Debug)]
pub struct NewIntegration {
    pub business_id: BusinessId,
    pub provider: ProviderKind,
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    pub token_expires_at: Option<Millis>,
    pub location_id: Option<String>,
    pub merchant_id: Option<String>,
    pub default_customer_id: Option<String>,
    pub auto_sync_orders: bool,
    pub sync_customer_info: bool,
    pub record_payment: bool,
    pub item_mapping: BTreeMap<String, String>,
    /// Zoho's API host from an OAuth exchange.
    pub api_domain: Option<String>,
    /// False leaves it inactive (OAuth without a location yet).
    pub activate: bool,
}

/// Validated settings changes.
#[derive(Debug, Default)]
pub struct IntegrationPatch {
    pub auto_sync_orders: Option<bool>,
    pub sync_customer_info: Option<bool>,
    pub record_payment: Option<bool>,
    pub item_mapping: Option<BTreeMap<String, String>>,
    pub location_id: Option<String>,
    pub merchant_id: Option<String>,
}

const COLUMNS: &str = "id, business_id, provider, is_active, location_id, merchant_id, \
    default_customer_id, auto_sync_orders, sync_customer_info, item_mapping, token_expires_at, \
    token_refreshed_at, last_sync_at, error_count, last_error, paused_until, created_at, updated_at, \
    api_domain, circuit_open_since, lane_failures, record_payment, \
    (SELECT coalesce(sum(n), 0) FROM sync_log_counts c \
     WHERE c.business_id = pos_integrations.business_id AND c.status = 'pending'), \
    (SELECT coalesce(sum(n), 0) FROM sync_log_counts c \
     WHERE c.business_id = pos_integrations.business_id AND c.status = 'retry'), \
    (SELECT coalesce(sum(n), 0) FROM sync_log_counts c \
     WHERE c.business_id = pos_integrations.business_id AND c.status = 'syncing')";

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Integration> {
    let provider: String = row.get(2)?;
    let mapping: String = row.get(9)?;
    let bad = |i: usize, e: Box<dyn std::error::Error + Send + Sync>| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e)
    };
    Ok(Integration {
        id: row.get(0)?,
        business_id: row.get(1)?,
        provider: provider.parse().map_err(|e: String| bad(2, e.into()))?,
        is_active: row.get(3)?,
        location_id: row.get(4)?,
        merchant_id: row.get(5)?,
        default_customer_id: row.get(6)?,
        auto_sync_orders: row.get(7)?,
        sync_customer_info: row.get(8)?,
        item_mapping: serde_json::from_str(&mapping).map_err(|e| bad(9, e.into()))?,
        token_expires_at: row.get(10)?,
        token_refreshed_at: row.get(11)?,
        last_sync_at: row.get(12)?,
        error_count: row.get(13)?,
        last_error: row.get(14)?,
        paused_until: row.get(15)?,
        created_at: row.get(16)?,
        updated_at: row.get(17)?,
        api_domain: row.get(18)?,
        lane: LaneHealth {
            circuit_open_since: row.get(19)?,
            failures: row.get(20)?,
            pending: row.get(22)?,
            retry: row.get(23)?,
            syncing: row.get(24)?,
        },
        record_payment: row.get(21)?,
    })
}

/// The integration of a business, whoever owns it (for workers).
pub fn integration_of_business(
    conn: &Connection,
    business_id: &BusinessId,
) -> Result<Option<Integration>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM pos_integrations WHERE business_id = ?1"
        ))?
        .query_row([business_id], from_row)
        .optional()?)
}

/// The active integration of a business, or `Conflict` saying to connect one (what every push
/// the seller asks for needs).
pub fn active_integration_of_business(
    conn: &Connection,
    business_id: &BusinessId,
) -> Result<Integration> {
    integration_of_business(conn, business_id)?
        .filter(|i| i.is_active)
        .ok_or_else(|| {
            Error::Conflict(
                "the business has no active POS integration; connect one with POST /api/v1/pos/connect"
                    .into(),
            )
        })
}

/// The integration with this id (for workers).
pub fn integration_by_id(conn: &Connection, id: &IntegrationId) -> Result<Option<Integration>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM pos_integrations WHERE id = ?1"
        ))?
        .query_row([id], from_row)
        .optional()?)
}

/// The integration of the seller's business; `NotFound` for a foreign business or none yet.
pub fn owned_integration(
    conn: &Connection,
    seller_id: &str,
    business_id: &BusinessId,
) -> Result<Integration> {
    owned_business(conn, seller_id, business_id)?;
    integration_of_business(conn, business_id)?.ok_or(Error::NotFound("POS integration"))
}

/// Every dish of `mapping` is a dish of the business, or a validation error naming
/// `item_mapping.<dish_id>`.
pub fn check_mapping(
    conn: &Connection,
    business_id: &BusinessId,
    mapping: &BTreeMap<String, String>,
) -> Result<()> {
    for dish_id in mapping.keys() {
        if dish_of_business(conn, business_id, dish_id)?.is_none() {
            return Err(Error::invalid(
                &format!("item_mapping.{dish_id}"),
                "no such dish in this business",
            ));
        }
    }
    Ok(())
}

fn mapping_json(mapping: &BTreeMap<String, String>) -> Result<String> {
    serde_json::to_string(mapping).map_err(|e| Error::Internal(format!("item mapping: {e}")))
}

/// Connect (or reconnect, keeping the id and history) the seller's business to a POS.
pub fn connect(
    tx: &Transaction<'_>,
    keyring: &Keyring,
    seller_id: &str,
    new: &NewIntegration,
    now: Millis,
) -> Result<Integration> {
    owned_business(tx, seller_id, &new.business_id)?;
    check_mapping(tx, &new.business_id, &new.item_mapping)?;
    let existing = integration_of_business(tx, &new.business_id)?;
    let id = existing
        .as_ref()
        .map_or_else(|| IntegrationId::from(new_id()), |i| i.id.clone());
    let (access, refresh) =
        secrets::seal_pair(keyring, &id, &new.access_token, new.refresh_token.as_ref())?;
    tx.prepare_cached(
        "INSERT INTO pos_integrations (id, business_id, provider, is_active, access_token,
            refresh_token, token_expires_at, token_refreshed_at, location_id, merchant_id,
            default_customer_id, auto_sync_orders, sync_customer_info, item_mapping,
            error_count, created_at, updated_at, api_domain, record_payment)
         VALUES (?1, ?2, ?3, ?15, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 0, ?7, ?7, ?14, ?16)
         ON CONFLICT (business_id) DO UPDATE SET
            provider = excluded.provider, is_active = excluded.is_active,
            access_token = excluded.access_token, api_domain = excluded.api_domain,
            refresh_token = excluded.refresh_token, token_expires_at = excluded.token_expires_at,
            token_refreshed_at = excluded.token_refreshed_at, location_id = excluded.location_id,
            merchant_id = excluded.merchant_id, default_customer_id = excluded.default_customer_id,
            auto_sync_orders = excluded.auto_sync_orders,
            sync_customer_info = excluded.sync_customer_info,
            record_payment = excluded.record_payment,
            item_mapping = excluded.item_mapping, error_count = 0, last_error = NULL,
            paused_until = NULL, updated_at = excluded.updated_at",
    )?
    .execute(params![
        id,
        new.business_id,
        new.provider.as_str(),
        access,
        refresh,
        new.token_expires_at,
        now,
        new.location_id,
        new.merchant_id,
        new.default_customer_id,
        new.auto_sync_orders,
        new.sync_customer_info,
        mapping_json(&new.item_mapping)?,
        new.api_domain,
        new.activate,
        new.record_payment,
    ])?;
    if existing
        .as_ref()
        .is_some_and(|e| e.provider != new.provider)
    {
        // Contacts remembered for another POS mean nothing to this one.
        tx.prepare_cached("DELETE FROM zoho_contacts WHERE integration_id = ?1")?
            .execute([&id])?;
    }
    if existing.is_some() {
        // Connected again, perhaps to another account or POS: its catalog must be read anew.
        super::catalog::forget(tx, &id)?;
    }
    integration_by_id(tx, &id)?.ok_or_else(|| Error::Internal("integration vanished".into()))
}

/// Integrations holding a refresh token (for the refresh job).
pub fn refreshable(conn: &Connection) -> Result<Vec<Integration>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM pos_integrations WHERE refresh_token IS NOT NULL AND access_token IS NOT NULL"
    ))?;
    let rows = stmt
        .query_map([], from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Active integrations whose token has an expiry.
pub fn active_with_expiry(conn: &Connection) -> Result<Vec<Integration>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM pos_integrations
         WHERE is_active = 1 AND access_token IS NOT NULL AND token_expires_at IS NOT NULL"
    ))?;
    let rows = stmt
        .query_map([], from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Record a problem with an integration's credentials (e.g. a refresh that failed).
pub fn set_last_error(tx: &Transaction<'_>, id: &IntegrationId, error: &str) -> Result<()> {
    tx.prepare_cached("UPDATE pos_integrations SET last_error = ?2 WHERE id = ?1")?
        .execute(params![id, error])?;
    Ok(())
}

/// Change the settings of the seller's integration.
pub fn update(
    tx: &Transaction<'_>,
    seller_id: &str,
    business_id: &BusinessId,
    patch: &IntegrationPatch,
    now: Millis,
) -> Result<Integration> {
    let mut current = owned_integration(tx, seller_id, business_id)?;
    if let Some(mapping) = &patch.item_mapping {
        check_mapping(tx, business_id, mapping)?;
        current.item_mapping = mapping.clone();
    }
    if let Some(v) = patch.auto_sync_orders {
        current.auto_sync_orders = v;
    }
    if let Some(v) = patch.sync_customer_info {
        current.sync_customer_info = v;
    }
    if let Some(v) = patch.record_payment {
        current.record_payment = v;
    }
    // An integration left inactive for want of a location (OAuth with several locations)
    // becomes active once the seller picks one; a disconnected one (no token) stays off.
    let mut activate = false;
    if let Some(v) = &patch.location_id {
        activate = current.location_id.is_none() && current.provider != ProviderKind::Zoho;
        current.location_id = Some(v.clone());
    }
    if let Some(v) = &patch.merchant_id {
        activate |= current.merchant_id.is_none() && current.provider == ProviderKind::Zoho;
        current.merchant_id = Some(v.clone());
    }
    tx.prepare_cached(
        "UPDATE pos_integrations SET auto_sync_orders = ?2, sync_customer_info = ?3,
            item_mapping = ?4, location_id = ?5, merchant_id = ?6, updated_at = ?7,
            is_active = CASE WHEN ?8 AND access_token IS NOT NULL THEN 1 ELSE is_active END,
            record_payment = ?9
         WHERE id = ?1",
    )?
    .execute(params![
        current.id,
        current.auto_sync_orders,
        current.sync_customer_info,
        mapping_json(&current.item_mapping)?,
        current.location_id,
        current.merchant_id,
        now,
        activate,
        current.record_payment,
    ])?;
    integration_by_id(tx, &current.id)?
        .ok_or_else(|| Error::Internal("integration vanished".into()))
}

/// Disconnect: inactive, tokens erased, queued pushes failed. Returns the integration as it was
/// before (so the caller can revoke its tokens at the provider) and the tokens that were erased.
pub fn disconnect(
    tx: &Transaction<'_>,
    keyring: &Keyring,
    seller_id: &str,
    business_id: &BusinessId,
    now: Millis,
) -> Result<(Integration, SealedTokens)> {
    let integration = owned_integration(tx, seller_id, business_id)?;
    let tokens = integration_tokens(tx, keyring, &integration.id)?;
    tx.prepare_cached(
        "UPDATE pos_integrations SET is_active = 0, access_token = NULL, refresh_token = NULL,
            token_expires_at = NULL, paused_until = NULL, updated_at = ?2 WHERE id = ?1",
    )?
    .execute(params![integration.id, now])?;
    tx.prepare_cached(
        "UPDATE sync_logs SET status = 'failed', error_message = 'integration disconnected',
            next_retry_at = NULL, completed_at = ?2
         WHERE integration_id = ?1 AND status IN ('pending', 'retry')",
    )?
    .execute(params![integration.id, now])?;
    Ok((integration, tokens))
}
