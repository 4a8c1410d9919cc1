//! Sellers and their bearer tokens.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::is_unique_violation;
use crate::crypto::TokenHash;
use crate::domain::{Email, Millis, new_id};
use crate::{Error, Result};

/// A seller account (no password hash).
#[derive(Debug, Clone)]
pub struct Seller {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub created_at: Millis,
}

/// The seller behind a presented token, and which token it was.
#[derive(Debug, Clone)]
pub struct AuthedSeller {
    pub seller: Seller,
    pub token_id: String,
}

pub use crate::domain::TokenKind;

const SELLER_COLUMNS: &str = "id, email, name, created_at";

fn seller_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Seller> {
    Ok(Seller {
        id: row.get(0)?,
        email: row.get(1)?,
        name: row.get(2)?,
        created_at: row.get(3)?,
    })
}

/// Insert a seller; an email already taken is a conflict.
pub fn insert_seller(
    tx: &Transaction<'_>,
    email: &Email,
    name: Option<&str>,
    password_hash: &str,
    now: Millis,
) -> Result<Seller> {
    let seller = Seller {
        id: new_id(),
        email: email.as_str().to_string(),
        name: name.map(str::to_string),
        created_at: now,
    };
    tx.execute(
        "INSERT INTO sellers (id, email, name, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![seller.id, seller.email, seller.name, password_hash, now],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            Error::Conflict("an account with this email already exists".into())
        } else {
            e.into()
        }
    })?;
    Ok(seller)
}

/// The seller with this email and their password hash.
pub fn seller_with_password(conn: &Connection, email: &Email) -> Result<Option<(Seller, String)>> {
    Ok(crate::store::cached_row(
        conn,
        &format!("SELECT {SELLER_COLUMNS}, password_hash FROM sellers WHERE email = ?1"),
        [email.as_str()],
        |row| Ok((seller_from_row(row)?, row.get::<_, String>(4)?)),
    )
    .optional()?)
}

/// The seller with this email.
pub fn seller_by_email(conn: &Connection, email: &Email) -> Result<Option<Seller>> {
    Ok(seller_with_password(conn, email)?.map(|(seller, _)| seller))
}

/// Store a new token's hash.
pub fn insert_token(
    tx: &Transaction<'_>,
    seller_id: &str,
    hash: &TokenHash,
    kind: TokenKind,
    name: Option<&str>,
    now: Millis,
    expires_at: Option<Millis>,
) -> Result<String> {
    let id = new_id();
    tx.execute(
        "INSERT INTO api_tokens (id, seller_id, token_hash, kind, name, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            id,
            seller_id,
            &hash[..],
            kind.as_str(),
            name,
            now,
            expires_at
        ],
    )?;
    Ok(id)
}

/// The seller whose live (unrevoked, unexpired) token has this hash.
pub fn authenticate(
    conn: &Connection,
    hash: &TokenHash,
    now: Millis,
) -> Result<Option<AuthedSeller>> {
    Ok(conn
        .prepare_cached(
            "SELECT s.id, s.email, s.name, s.created_at, t.id
             FROM api_tokens t JOIN sellers s ON s.id = t.seller_id
             WHERE t.token_hash = ?1 AND t.revoked_at IS NULL
               AND (t.expires_at IS NULL OR t.expires_at > ?2)",
        )?
        .query_row(params![&hash[..], now], |row| {
            Ok(AuthedSeller {
                seller: seller_from_row(row)?,
                token_id: row.get(4)?,
            })
        })
        .optional()?)
}

/// Revoke one token (logout).
pub fn revoke_token(tx: &Transaction<'_>, token_id: &str, now: Millis) -> Result<()> {
    tx.execute(
        "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        params![token_id, now],
    )?;
    delete_dead_sessions(tx, now)?;
    Ok(())
}

/// Delete expired and revoked login tokens (of no further use); returns how many.
pub fn delete_dead_sessions(tx: &Transaction<'_>, now: Millis) -> Result<usize> {
    Ok(tx.execute(
        "DELETE FROM api_tokens WHERE kind = 'session' AND (revoked_at IS NOT NULL OR expires_at <= ?1)",
        [now],
    )?)
}

/// Every seller, oldest first (CLI `seller list`).
pub fn all_sellers(conn: &Connection) -> Result<Vec<Seller>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {SELLER_COLUMNS} FROM sellers ORDER BY created_at, id"
    ))?;
    let sellers = stmt
        .query_map([], seller_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(sellers)
}

/// A bearer token as the operator sees it: never its value (only its hash is stored).
#[derive(Debug, Clone)]
pub struct TokenInfo {
    pub id: String,
    /// `session` (a login) or `api` (made by `possync token create`).
    pub kind: TokenKind,
    pub name: Option<String>,
    pub created_at: Millis,
    pub expires_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
}

/// A seller's tokens, oldest first (CLI `token list`).
pub fn tokens_of_seller(conn: &Connection, seller_id: &str) -> Result<Vec<TokenInfo>> {
    let mut stmt = conn.prepare(
        "SELECT id, kind, name, created_at, expires_at, revoked_at FROM api_tokens
         WHERE seller_id = ?1 ORDER BY created_at, id",
    )?;
    let tokens = stmt
        .query_map([seller_id], |row| {
            Ok(TokenInfo {
                id: row.get(0)?,
                kind: row.get(1)?,
                name: row.get(2)?,
                created_at: row.get(3)?,
                expires_at: row.get(4)?,
                revoked_at: row.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(tokens)
}

/// When the token with this id was revoked: `None` when there is no such token,
/// `Some(None)` when it is not revoked.
pub fn token_revoked_at(conn: &Connection, token_id: &str) -> Result<Option<Option<Millis>>> {
    Ok(crate::store::cached_row(
        conn,
        "SELECT revoked_at FROM api_tokens WHERE id = ?1",
        [token_id],
        |r| r.get(0),
    )
    .optional()?)
}
