//! Account actions shared by the HTTP API and the CLI: register, log in, make, list and revoke
//! API tokens.

use std::time::Duration;

use crate::crypto::verify_password_of_unknown_account;
use crate::crypto::{Secret, hash_password, hash_token, new_token, verify_password};
use crate::domain::{Email, Millis, Password, now_millis};
use crate::store::accounts::{self, AuthedSeller, Seller, TokenInfo, TokenKind};
use crate::store::{Store, blocking};
use crate::{Error, Result};

/// The one answer for an unknown email and a wrong password.
pub const BAD_CREDENTIALS: &str = "email or password is incorrect";

/// Create a seller account (argon2id runs on a blocking thread).
pub async fn register(
    store: &Store,
    email: Email,
    password: Password,
    name: Option<String>,
) -> Result<Seller> {
    let store = store.clone();
    blocking(move || {
        let hash = hash_password(password.expose())?;
        store.write(move |tx| {
            accounts::insert_seller(tx, &email, name.as_deref(), &hash, now_millis())
        })
    })
    .await
}

/// A new login token, its expiry and the seller.
#[derive(Debug)]
pub struct Login {
    pub token: Secret,
    pub expires_at: Millis,
    pub seller: Seller,
}

/// Check a password and issue a session token. An unknown email costs one argon2 verification,
/// like a wrong password, and gets the same error.
pub async fn login(store: &Store, email: Email, password: String, ttl: Duration) -> Result<Login> {
    let store = store.clone();
    blocking(move || {
        let found = store.read(|c| accounts::seller_with_password(c, &email))?;
        let seller = match found {
            Some((seller, hash)) if verify_password(&password, &hash) => seller,
            Some(_) => return Err(Error::Unauthorized(BAD_CREDENTIALS.into())),
            None => {
                verify_password_of_unknown_account(&password);
                return Err(Error::Unauthorized(BAD_CREDENTIALS.into()));
            }
        };
        let (token, hash) = new_token()?;
        let now = now_millis();
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let expires_at = now.saturating_add(ttl_ms);
        let seller_id = seller.id.clone();
        store.write(move |tx| {
            accounts::insert_token(
                tx,
                &seller_id,
                &hash,
                TokenKind::Session,
                None,
                now,
                Some(expires_at),
            )
        })?;
        Ok(Login {
            token,
            expires_at,
            seller,
        })
    })
    .await
}

/// The seller behind a bearer token, if it is live.
pub async fn authenticate(store: &Store, token: String) -> Result<Option<AuthedSeller>> {
    let store = store.clone();
    blocking(move || {
        let hash = hash_token(&token);
        store.read(|c| accounts::authenticate(c, &hash, now_millis()))
    })
    .await
}

/// Revoke the presented token.
pub async fn logout(store: &Store, token_id: String) -> Result<()> {
    let store = store.clone();
    blocking(move || store.write(move |tx| accounts::revoke_token(tx, &token_id, now_millis())))
        .await
}

/// Make a long-lived API token for the seller with this email (CLI `token create`).
pub fn create_api_token(store: &Store, email: &Email, name: &str) -> Result<Secret> {
    let seller = store
        .read(|c| accounts::seller_by_email(c, email))?
        .ok_or(Error::NotFound("seller"))?;
    let (token, hash) = new_token()?;
    let name = name.to_string();
    store.write(move |tx| {
        accounts::insert_token(
            tx,
            &seller.id,
            &hash,
            TokenKind::Api,
            Some(&name),
            now_millis(),
            None,
        )
    })?;
    Ok(token)
}

/// A seller and their tokens, by the seller's email (CLI `token list`).
pub fn tokens_of(store: &Store, email: &Email) -> Result<(Seller, Vec<TokenInfo>)> {
    store.read(|c| {
        let seller = accounts::seller_by_email(c, email)?.ok_or(Error::NotFound("seller"))?;
        let tokens = accounts::tokens_of_seller(c, &seller.id)?;
        Ok((seller, tokens))
    })
}

/// What revoking a token did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    /// Revoked now: the next request with it is a 401.
    Now,
    /// It was revoked already, at this time.
    Already(Millis),
}

/// Revoke a token by its id (CLI `token revoke`); an unknown id is not found.
pub fn revoke_token_by_id(store: &Store, token_id: &str) -> Result<Revoked> {
    let token_id = token_id.to_string();
    store.write(move |tx| match accounts::token_revoked_at(tx, &token_id)? {
        None => Err(Error::NotFound("token")),
        Some(Some(at)) => Ok(Revoked::Already(at)),
        Some(None) => {
            accounts::revoke_token(tx, &token_id, now_millis())?;
            Ok(Revoked::Now)
        }
    })
}
