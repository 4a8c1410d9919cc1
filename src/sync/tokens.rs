//! The POS token lifecycle: refresh before a push (Zoho tokens close to expiry), after a 401,
//! and on the refresh job's schedule; a refresh the provider refuses asks the seller to
//! reconnect, and a token possync cannot refresh is announced before it expires.

use std::sync::Arc;

use crate::crypto::{Keyring, Secret};
use crate::domain::{Millis, ProviderKind, format_millis, now_millis};
use crate::notify::delivery::Delivery;
use crate::notify::{Kind, messages};
use crate::providers::OAuth;
use crate::providers::Registry;
use crate::providers::oauth::OAuthError;
use crate::store::{Integration, Store, integrations, notifications};
use crate::{Error, Result};

const DAY: Millis = 24 * 3_600_000;

/// Why a token refresh did not work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshError {
    /// The provider refused (revoked, no refresh token, no client): the seller must reconnect.
    Refused(String),
    /// The provider or the database could not be reached: try again later.
    Unavailable(String),
}

impl std::fmt::Display for RefreshError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RefreshError::Refused(why) => write!(f, "refused: {why}"),
            RefreshError::Unavailable(why) => write!(f, "unavailable: {why}"),
        }
    }
}

/// Refreshes and watches the sealed POS tokens.
pub struct Tokens {
    store: Store,
    keyring: Arc<Keyring>,
    providers: Arc<Registry>,
    delivery: Arc<Delivery>,
}

impl Tokens {
    /// Token upkeep over `store` with the OAuth sides of `providers`; notices go to
    /// `delivery`.
    pub fn new(
        store: Store,
        keyring: Arc<Keyring>,
        providers: Arc<Registry>,
        delivery: Arc<Delivery>,
    ) -> Tokens {
        Tokens {
            store,
            keyring,
            providers,
            delivery,
        }
    }

    fn oauth(&self) -> OAuth<'_> {
        self.providers.oauth()
    }

    /// Whether a token of `provider` can be refreshed: it has a refresh token and possync has
    /// the provider's OAuth client.
    pub fn refreshable(&self, provider: ProviderKind, has_refresh_token: bool) -> bool {
        has_refresh_token && self.oauth().configured(provider)
    }

    /// The token to push with: a Zoho access token lives an hour, so a `refreshable` one with
    /// under 5 minutes left is refreshed first. A failed refresh is logged and the old token
    /// tried.
    pub fn fresh_for_push(
        &self,
        integration: &Integration,
        token: Secret,
        refreshable: bool,
    ) -> Secret {
        let due = refreshable
            && integration.provider == ProviderKind::Zoho
            && self.oauth().refresh_due(
                integration.provider,
                integration.token_expires_at,
                None,
                now_millis(),
            );
        if !due {
            return token;
        }
        match self.refresh(integration) {
            Ok(fresh) => fresh,
            Err(e) => {
                tracing::warn!(integration = %integration.id, error = %e, "token refresh before a push failed");
                token
            }
        }
    }

    /// Refresh an integration's tokens at its provider and store them; the new access token.
    pub fn refresh(&self, integration: &Integration) -> Result<Secret, RefreshError> {
        let unavailable = |e: Error| RefreshError::Unavailable(e.to_string());
        let tokens = self
            .store
            .read(|c| integrations::integration_tokens(c, &self.keyring, &integration.id))
            .map_err(unavailable)?;
        let refresh = tokens
            .refresh_token
            .ok_or_else(|| RefreshError::Refused("the integration has no refresh token".into()))?;
        let grant = self
            .oauth()
            .refresh(integration.provider, &refresh)
            .map_err(|e| match e {
                OAuthError::Unreachable(why) => RefreshError::Unavailable(why),
                other => RefreshError::Refused(other.to_string()),
            })?;
        let now = now_millis();
        let (keyring, id, stored) = (self.keyring.clone(), integration.id.clone(), grant.clone());
        self.store
            .write(move |tx| integrations::store_refreshed_tokens(tx, &keyring, &id, &stored, now))
            .map_err(unavailable)?;
        tracing::info!(integration = %integration.id, provider = %integration.provider, "refreshed POS tokens");
        Ok(grant.access_token)
    }

    /// The refresh job: refresh every token that is due (Square: older than 7 days or expiring
    /// within 7; Zoho: under 5 minutes left). A refused refresh marks the integration for a
    /// reconnect.
    pub fn refresh_due(&self) -> Result<String> {
        let now = now_millis();
        let due: Vec<Integration> = self
            .store
            .read(integrations::refreshable)?
            .into_iter()
            .filter(|i| self.oauth().configured(i.provider))
            .filter(|i| {
                self.oauth().refresh_due(
                    i.provider,
                    i.token_expires_at,
                    i.token_refreshed_at.or(Some(i.created_at)),
                    now,
                )
            })
            .collect();
        let (mut refreshed, mut failed) = (0, 0);
        for integration in &due {
            match self.refresh(integration) {
                Ok(_) => refreshed += 1,
                Err(RefreshError::Refused(why)) => {
                    failed += 1;
                    self.refresh_failed(integration, &why)?;
                }
                Err(RefreshError::Unavailable(why)) => {
                    failed += 1;
                    tracing::warn!(integration = %integration.id, error = %why, "token refresh failed; retried at the next run");
                }
            }
        }
        let warned = self.warn_expiring(now)?;
        Ok(format!(
            "refreshed {refreshed} POS tokens, {failed} failed, {warned} expiry warnings"
        ))
    }

    /// A refresh the provider refused: the integration needs a reconnect; tell the seller.
    fn refresh_failed(&self, integration: &Integration, why: &str) -> Result<()> {
        let message = format!(
            "the {} token could not be refreshed ({why}); reconnect the POS",
            integration.provider.display_name()
        );
        let notice =
            messages::reconnect_required(&integration.business_id, integration.provider, why, None);
        let (id, settings) = (integration.id.clone(), self.delivery.shared_settings());
        let raised = self.store.write(move |tx| {
            integrations::set_last_error(tx, &id, &message)?;
            notifications::raise(tx, &notice, &settings, now_millis())
        })?;
        if raised.is_some() {
            self.delivery.wake();
        }
        Ok(())
    }

    /// Warn (once a day per business) about tokens that expire within 3 days and that possync
    /// cannot refresh (no refresh token, or no OAuth client configured). Returns how many.
    fn warn_expiring(&self, now: Millis) -> Result<usize> {
        let expiring: Vec<Integration> = self.store.read(|c| {
            Ok(integrations::active_with_expiry(c)?
                .into_iter()
                .filter(|i| i.token_expires_at.is_some_and(|e| e - now < 3 * DAY))
                .collect())
        })?;
        let mut warned = 0;
        for integration in expiring {
            let refreshable = self.oauth().configured(integration.provider)
                && self
                    .store
                    .read(|c| integrations::integration_tokens(c, &self.keyring, &integration.id))?
                    .refresh_token
                    .is_some();
            if refreshable {
                continue;
            }
            let expires = format_millis(integration.token_expires_at.unwrap_or(now));
            let notice =
                messages::token_expiring(&integration.business_id, integration.provider, &expires);
            let (business_id, settings) = (
                integration.business_id.clone(),
                self.delivery.shared_settings(),
            );
            let raised = self.store.write(move |tx| {
                if notifications::raised_since(tx, &business_id, Kind::TokenExpiring, now - DAY)? {
                    return Ok(None);
                }
                notifications::raise(tx, &notice, &settings, now)
            })?;
            if raised.is_some() {
                warned += 1;
                self.delivery.wake();
            }
        }
        Ok(warned)
    }
}
