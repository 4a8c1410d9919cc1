//! The POS catalog cache: the entries possync last read from an integration's POS and when.
//! Reads of the POS on the seller's behalf go through it (DESIGN.md Part two), so the mapping
//! tools keep working while the POS is down.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use crate::domain::{IntegrationId, Millis};
use crate::{Error, Result};

/// One sellable entry of a POS catalog (providers/README.md §F7). Square lists one per
/// ITEM_VARIATION, Zoho one per active item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogItem {
    /// What `item_mapping` points at: a Square variation id, a Zoho `item_id`.
    pub pos_item_id: String,
    /// The item's name.
    pub name: String,
    /// The variation's name (Square), if any.
    pub variation_name: Option<String>,
    /// In minor units; `None` when the POS prices it at sale time (Square VARIABLE_PRICING).
    pub price: Option<i64>,
    /// ISO 4217 code of `price`.
    pub currency: Option<String>,
    pub sku: Option<String>,
}

/// A catalog as cached.
#[derive(Debug, Clone)]
pub struct CachedCatalog {
    pub items: Vec<CatalogItem>,
    pub fetched_at: Millis,
}

/// The catalog cached for an integration, if any.
pub fn cached(conn: &Connection, integration_id: &IntegrationId) -> Result<Option<CachedCatalog>> {
    let row: Option<(String, Millis)> = crate::store::cached_row(
        conn,
        "SELECT items, fetched_at FROM pos_catalogs WHERE integration_id = ?1",
        [integration_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?;
    row.map(|(items, fetched_at)| {
        let items = serde_json::from_str(&items)
            .map_err(|e| Error::Internal(format!("cached catalog: {e}")))?;
        Ok(CachedCatalog { items, fetched_at })
    })
    .transpose()
}

/// Replace the cached catalog of an integration.
pub fn store(
    tx: &Transaction<'_>,
    integration_id: &IntegrationId,
    items: &[CatalogItem],
    fetched_at: Millis,
) -> Result<()> {
    let json =
        serde_json::to_string(items).map_err(|e| Error::Internal(format!("catalog: {e}")))?;
    tx.execute(
        "INSERT INTO pos_catalogs (integration_id, items, fetched_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (integration_id) DO UPDATE SET items = excluded.items,
            fetched_at = excluded.fetched_at",
        params![integration_id, json, fetched_at],
    )?;
    Ok(())
}

/// Forget an integration's catalog (it was connected again, perhaps to another account).
pub fn forget(tx: &Transaction<'_>, integration_id: &IntegrationId) -> Result<()> {
    tx.execute(
        "DELETE FROM pos_catalogs WHERE integration_id = ?1",
        [integration_id],
    )?;
    Ok(())
}
