//! The one list of POS systems possync knows. A POS lives in its own folder and is registered
//! here by one line in [`build`]; the engine's client lookup ([`Registry::client`]) and the
//! OAuth dispatch ([`OAuth`], over each provider's [`PosOAuth`] side) both go through it.

use super::catalog::PosCatalog;
use super::oauth::{OAuthError, PlaceNames, PosOAuth, TokenGrant, only_active};
use super::{PosClient, Provider, dine, square, zoho};
use crate::config::SyncArgs;
use crate::crypto::Secret;
use crate::domain::{Millis, ProviderKind};

/// The registration: each POS's folder builds it. The match makes a new [`ProviderKind`]
/// without a line here a compile error.
fn build(kind: ProviderKind, args: &SyncArgs) -> Provider {
    match kind {
        ProviderKind::Square => square::provider(args),
        ProviderKind::Zoho => zoho::provider(args),
        ProviderKind::Dine => dine::provider(args),
    }
}

/// Every provider, built once (each client keeps its own connections).
pub struct Registry {
    /// In [`ProviderKind::ALL`] order, so a kind's position is its index.
    providers: Vec<Provider>,
    /// Where sellers' browsers reach possync (OAuth redirect URIs start with it).
    public_url: String,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.providers.iter().map(|p| p.kind))
            .finish()
    }
}

impl Registry {
    /// Every provider, configured by the settings.
    pub fn from_args(args: &SyncArgs) -> Registry {
        Registry {
            providers: ProviderKind::ALL
                .iter()
                .map(|&kind| build(kind, args))
                .collect(),
            public_url: args.oauth.public_url.trim_end_matches('/').to_string(),
        }
    }

    /// The provider of `kind`.
    pub fn for_kind(&self, kind: ProviderKind) -> &Provider {
        // `ALL` lists the variants in declaration order, and `from_args` built one provider for
        // each of them in that order: the index is always there.
        &self.providers[kind as usize]
    }

    /// The push client of `kind`.
    pub fn client(&self, kind: ProviderKind) -> &dyn PosClient {
        self.for_kind(kind).client.as_ref()
    }

    /// The catalog reader of `kind`, when that POS has a catalog.
    pub fn catalog(&self, kind: ProviderKind) -> Option<&dyn PosCatalog> {
        self.for_kind(kind).catalog.as_deref()
    }

    /// The OAuth side of every provider.
    pub fn oauth(&self) -> OAuth<'_> {
        OAuth::new(self)
    }

    /// possync's public address, without a trailing slash.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }
}

/// The OAuth side of every provider, as the connect flows and the token refresh use it.
#[derive(Clone, Copy)]
pub struct OAuth<'a> {
    registry: &'a Registry,
}

impl std::fmt::Debug for OAuth<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let configured: Vec<ProviderKind> = ProviderKind::ALL
            .iter()
            .copied()
            .filter(|&kind| self.configured(kind))
            .collect();
        f.debug_struct("OAuth")
            .field("configured", &configured)
            .finish()
    }
}

impl<'a> OAuth<'a> {
    /// The OAuth side of the providers in `registry`.
    fn new(registry: &'a Registry) -> OAuth<'a> {
        OAuth { registry }
    }

    fn side(&self, provider: ProviderKind) -> Result<&'a dyn PosOAuth, OAuthError> {
        self.registry
            .for_kind(provider)
            .oauth
            .as_deref()
            .ok_or(OAuthError::NotConfigured(provider))
    }

    /// Whether this provider's OAuth client is configured.
    pub fn configured(&self, provider: ProviderKind) -> bool {
        self.side(provider).is_ok()
    }

    /// Where the provider sends the browser back.
    pub fn redirect_uri(&self, provider: ProviderKind) -> String {
        format!(
            "{}/api/v1/pos/oauth/{}/callback",
            self.registry.public_url(),
            provider.as_str()
        )
    }

    /// The provider's consent page for `state`.
    pub fn authorize_url(&self, provider: ProviderKind, state: &str) -> Result<String, OAuthError> {
        let side = self.side(provider)?;
        Ok(side.authorize_url(&self.redirect_uri(provider), state))
    }

    /// Exchange an authorization code.
    pub fn exchange(&self, provider: ProviderKind, code: &str) -> Result<TokenGrant, OAuthError> {
        let side = self.side(provider)?;
        side.exchange(code, &self.redirect_uri(provider))
    }

    /// New tokens from a refresh token. Square and Zoho both keep the refresh token the same;
    /// the grant then carries the old one.
    pub fn refresh(
        &self,
        provider: ProviderKind,
        refresh_token: &Secret,
    ) -> Result<TokenGrant, OAuthError> {
        let mut grant = self.side(provider)?.refresh(refresh_token)?;
        if grant.refresh_token.is_none() {
            grant.refresh_token = Some(refresh_token.clone());
        }
        Ok(grant)
    }

    /// Revoke a seller's tokens at the provider (best effort: errors are for the log).
    pub fn revoke(
        &self,
        provider: ProviderKind,
        access_token: Option<&Secret>,
        refresh_token: Option<&Secret>,
    ) -> Result<(), String> {
        let side = self.side(provider).map_err(|e| e.to_string())?;
        side.revoke(access_token, refresh_token)
    }

    /// Whether a token should be refreshed now, by its provider's rule; never for a provider
    /// without a configured OAuth client (nothing could refresh it).
    pub fn refresh_due(
        &self,
        provider: ProviderKind,
        expires_at: Option<Millis>,
        refreshed_at: Option<Millis>,
        now: Millis,
    ) -> bool {
        self.side(provider)
            .is_ok_and(|side| side.refresh_due(expires_at, refreshed_at, now))
    }

    /// Square's locations: `(id, active)`.
    pub fn square_locations(&self, access_token: &Secret) -> Result<Vec<(String, bool)>, String> {
        let side = self.side(ProviderKind::Square).map_err(|e| e.to_string())?;
        side.places(access_token, None)
    }

    /// What this provider calls its places, and which setting holds one.
    pub fn place_names(&self, provider: ProviderKind) -> Result<PlaceNames, OAuthError> {
        Ok(self.side(provider)?.place_names())
    }

    /// The one place a new grant can push to (the only active Square location, the only Zoho
    /// organization), else the note telling the seller how to choose one.
    pub fn only_place(&self, provider: ProviderKind, grant: &TokenGrant) -> Result<String, String> {
        let side = self.side(provider).map_err(|e| e.to_string())?;
        let places = side.places(&grant.access_token, grant.api_domain.as_deref());
        only_active(provider, side.place_names(), places)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Args {
        #[command(flatten)]
        sync: SyncArgs,
    }

    #[test]
    fn every_kind_finds_its_own_provider() {
        let registry = Registry::from_args(&Args::parse_from(["possync"]).sync);
        for &kind in ProviderKind::ALL {
            assert_eq!(registry.for_kind(kind).kind, kind);
        }
        assert!(registry.client(ProviderKind::Square).freezes_request());
        assert!(!registry.client(ProviderKind::Zoho).freezes_request());
    }

    #[test]
    fn a_provider_without_an_oauth_client_is_never_due_for_a_refresh() {
        let registry = Registry::from_args(&Args::parse_from(["possync"]).sync);
        let oauth = registry.oauth();
        let day = 24 * 3_600_000;
        for &kind in ProviderKind::ALL {
            assert!(!oauth.configured(kind), "{kind}");
            assert!(
                !oauth.refresh_due(kind, Some(0), Some(0), 100 * day),
                "{kind}"
            );
        }
        assert_eq!(
            oauth.redirect_uri(ProviderKind::Zoho),
            "http://127.0.0.1:8080/api/v1/pos/oauth/zoho/callback"
        );
    }

    #[test]
    fn configured_providers_follow_their_own_refresh_rule() {
        let args = Args::parse_from([
            "possync",
            "--square-client-id",
            "sq0idp-x",
            "--square-client-secret",
            "s",
            "--zoho-client-id",
            "1000.x",
            "--zoho-client-secret",
            "z",
        ])
        .sync;
        let registry = Registry::from_args(&args);
        let oauth = registry.oauth();
        let day = 24 * 3_600_000;
        let now = 100 * day;
        for (kind, expires, refreshed, due) in [
            (
                ProviderKind::Square,
                Some(now + 30 * day),
                Some(now - day),
                false,
            ),
            (
                ProviderKind::Square,
                Some(now + 6 * day),
                Some(now - day),
                true,
            ),
            (
                ProviderKind::Square,
                Some(now + 30 * day),
                Some(now - 8 * day),
                true,
            ),
            (ProviderKind::Zoho, Some(now + 4 * 60_000), None, true),
            (ProviderKind::Zoho, Some(now + 50 * 60_000), None, false),
            (ProviderKind::Dine, Some(now), None, false),
        ] {
            assert_eq!(
                oauth.refresh_due(kind, expires, refreshed, now),
                due,
                "{kind} {expires:?} {refreshed:?}"
            );
        }
        assert!(oauth.configured(ProviderKind::Square) && !oauth.configured(ProviderKind::Dine));
    }
}
