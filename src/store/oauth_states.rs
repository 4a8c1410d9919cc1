//! OAuth `state` values: random, single use, bound to a seller, business and provider, stored
//! only as a hash, short-lived.

use rusqlite::{OptionalExtension, Transaction, params};

use crate::crypto::TokenHash;
use crate::domain::{BusinessId, Millis, ProviderKind};
use crate::{Error, Result};

/// What a state was issued for.
#[derive(Debug, Clone)]
pub struct OAuthState {
    pub seller_id: String,
    pub business_id: BusinessId,
    pub provider: ProviderKind,
    pub location_id: Option<String>,
    pub expires_at: Millis,
}

/// Remember a new state.
pub fn insert_state(
    tx: &Transaction<'_>,
    hash: &TokenHash,
    state: &OAuthState,
    now: Millis,
) -> Result<()> {
    tx.execute(
        "INSERT INTO oauth_states (state_hash, seller_id, business_id, provider, location_id,
            created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            &hash[..],
            state.seller_id,
            state.business_id,
            state.provider.as_str(),
            state.location_id,
            now,
            state.expires_at
        ],
    )?;
    Ok(())
}

/// Take a state (it can be used once, whatever happens next).
pub fn take_state(tx: &Transaction<'_>, hash: &TokenHash) -> Result<Option<OAuthState>> {
    let row = crate::store::cached_row(
        tx,
        "DELETE FROM oauth_states WHERE state_hash = ?1
             RETURNING seller_id, business_id, provider, location_id, expires_at",
        [&hash[..]],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, BusinessId>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Millis>(4)?,
            ))
        },
    )
    .optional()?;
    row.map(
        |(seller_id, business_id, provider, location_id, expires_at)| {
            Ok(OAuthState {
                seller_id,
                business_id,
                provider: provider.parse().map_err(Error::Internal)?,
                location_id,
                expires_at,
            })
        },
    )
    .transpose()
}

/// Forget states that ran out; returns how many.
pub fn delete_expired(tx: &Transaction<'_>, now: Millis) -> Result<usize> {
    Ok(tx.execute("DELETE FROM oauth_states WHERE expires_at <= ?1", [now])?)
}
