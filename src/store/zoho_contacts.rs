//! The Zoho contact cache: which Zoho contact a customer of an integration became, so later
//! orders bill the same contact instead of searching (or creating) again.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::Store;
use crate::Result;
use crate::domain::{IntegrationId, Millis, now_millis};
use crate::providers::ContactCache;

/// The contact remembered for `key` of an integration.
pub fn contact_id(
    c: &Connection,
    integration_id: &IntegrationId,
    key: &str,
) -> Result<Option<String>> {
    Ok(crate::store::cached_row(
        c,
        "SELECT contact_id FROM zoho_contacts WHERE integration_id = ?1 AND customer_key = ?2",
        params![integration_id, key],
        |r| r.get::<_, String>(0),
    )
    .optional()?)
}

/// Remember `contact_id` for `key` unless one is remembered already; the one remembered now.
pub fn remember(
    tx: &Transaction<'_>,
    integration_id: &IntegrationId,
    key: &str,
    contact_id: &str,
    now: Millis,
) -> Result<String> {
    tx.execute(
        "INSERT INTO zoho_contacts (integration_id, customer_key, contact_id, created_at)
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
        params![integration_id, key, contact_id, now],
    )?;
    Ok(crate::store::cached_row(
        tx,
        "SELECT contact_id FROM zoho_contacts WHERE integration_id = ?1 AND customer_key = ?2",
        params![integration_id, key],
        |r| r.get::<_, String>(0),
    )?)
}

/// The store is the providers' contact cache: one read, or one short write transaction.
impl ContactCache for Store {
    fn contact(&self, integration_id: &IntegrationId, key: &str) -> Result<Option<String>> {
        self.read(|c| contact_id(c, integration_id, key))
    }

    fn remember(
        &self,
        integration_id: &IntegrationId,
        key: &str,
        contact_id: &str,
    ) -> Result<String> {
        let (integration_id, key, contact_id) = (
            integration_id.clone(),
            key.to_string(),
            contact_id.to_string(),
        );
        self.write(move |tx| remember(tx, &integration_id, &key, &contact_id, now_millis()))
    }
}
