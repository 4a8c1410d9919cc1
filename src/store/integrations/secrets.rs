//! Sealing and opening an integration's tokens. Each is sealed (AES-256-GCM) before it is
//! written, with the integration id and field name as associated data, so a sealed value copied
//! to another row or field does not open.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::crypto::{Keyring, Secret};
use crate::domain::{IntegrationId, Millis};
use crate::{Error, Result};

/// The plaintext tokens of an integration, for a provider client.
#[derive(Debug, Clone)]
pub struct SealedTokens {
    pub access_token: Option<Secret>,
    pub refresh_token: Option<Secret>,
}

/// The associated data that binds a sealed token to its integration and field.
fn aad(integration_id: &IntegrationId, field: &str) -> String {
    format!("pos_integrations/{integration_id}/{field}")
}

/// Seal an access token and, when there is one, a refresh token of integration `id`.
pub(super) fn seal_pair(
    keyring: &Keyring,
    id: &IntegrationId,
    access: &Secret,
    refresh: Option<&Secret>,
) -> Result<(String, Option<String>)> {
    let access = keyring.seal(access, &aad(id, "access_token"))?;
    let refresh = refresh
        .map(|t| keyring.seal(t, &aad(id, "refresh_token")))
        .transpose()?;
    Ok((access, refresh))
}

/// Store tokens from a refresh (the refresh token too, when the grant carries one).
pub fn store_refreshed_tokens(
    tx: &Transaction<'_>,
    keyring: &Keyring,
    id: &IntegrationId,
    grant: &crate::providers::oauth::TokenGrant,
    now: Millis,
) -> Result<()> {
    let (expires_at, api_domain) = (grant.expires_at, grant.api_domain.as_deref());
    let (access, refresh) = seal_pair(
        keyring,
        id,
        &grant.access_token,
        grant.refresh_token.as_ref(),
    )?;
    tx.execute(
        "UPDATE pos_integrations SET access_token = ?2, refresh_token = coalesce(?3, refresh_token),
            token_expires_at = ?4, token_refreshed_at = ?5,
            api_domain = coalesce(?6, api_domain), updated_at = ?5
         WHERE id = ?1 AND access_token IS NOT NULL",
        params![id, access, refresh, expires_at, now, api_domain],
    )?;
    Ok(())
}

/// Re-seal every stored secret under the keyring's current key (`possync keys rotate`).
/// Returns how many values were re-sealed.
pub fn reseal_all(tx: &Transaction<'_>, keyring: &Keyring) -> Result<usize> {
    let mut stmt = tx.prepare("SELECT id, access_token, refresh_token FROM pos_integrations")?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, IntegrationId>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut count = 0;
    for (id, access, refresh) in rows {
        let reseal = |sealed: Option<String>, field: &str| -> Result<Option<String>> {
            sealed
                .map(|s| {
                    let plain = keyring.open(&s, &aad(&id, field))?;
                    keyring.seal(&plain, &aad(&id, field))
                })
                .transpose()
        };
        let access = reseal(access, "access_token")?;
        let refresh = reseal(refresh, "refresh_token")?;
        count += usize::from(access.is_some()) + usize::from(refresh.is_some());
        tx.execute(
            "UPDATE pos_integrations SET access_token = ?2, refresh_token = ?3 WHERE id = ?1",
            params![id, access, refresh],
        )?;
    }
    Ok(count)
}

/// Open the sealed tokens of an integration.
pub fn integration_tokens(
    conn: &Connection,
    keyring: &Keyring,
    id: &IntegrationId,
) -> Result<SealedTokens> {
    let (access, refresh): (Option<String>, Option<String>) = crate::store::cached_row(
        conn,
        "SELECT access_token, refresh_token FROM pos_integrations WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?
    .ok_or(Error::NotFound("POS integration"))?;
    Ok(SealedTokens {
        access_token: access
            .map(|s| keyring.open(&s, &aad(id, "access_token")))
            .transpose()?,
        refresh_token: refresh
            .map(|s| keyring.open(&s, &aad(id, "refresh_token")))
            .transpose()?,
    })
}

/// Check that the keyring opens every stored secret (start-up refuses a wrong key).
/// Returns how many secrets were checked.
pub fn verify_all_secrets(conn: &Connection, keyring: &Keyring) -> Result<usize> {
    let mut stmt =
        conn.prepare("SELECT id FROM pos_integrations WHERE access_token IS NOT NULL")?;
    let ids = stmt
        .query_map([], |r| r.get::<_, IntegrationId>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut checked = 0;
    for id in ids {
        let tokens = integration_tokens(conn, keyring, &id)?;
        checked += usize::from(tokens.access_token.is_some())
            + usize::from(tokens.refresh_token.is_some());
    }
    Ok(checked)
}
