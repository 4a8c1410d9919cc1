//! The one list of POS systems possync knows. A POS lives in its own folder and is registered
//! here by one line in [`build`]; the engine's client lookup and the OAuth dispatch both go
//! through [`Registry`].

use super::oauth::{OAuth, PosOAuth};
use super::{PosClient, dine, square, zoho};
use crate::config::SyncArgs;
use crate::domain::ProviderKind;

/// One POS, built from the settings by its folder.
pub struct Provider {
    /// Which POS this is.
    pub kind: ProviderKind,
    /// Pushes orders.
    pub client: Box<dyn PosClient>,
    /// Connects and refreshes with OAuth; `None` for a POS without OAuth (Dine) or whose client
    /// id and secret are not configured.
    pub oauth: Option<Box<dyn PosOAuth>>,
}

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

    /// The OAuth side of every provider.
    pub fn oauth(&self) -> OAuth<'_> {
        OAuth::new(self)
    }

    /// possync's public address, without a trailing slash.
    pub fn public_url(&self) -> &str {
        &self.public_url
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
