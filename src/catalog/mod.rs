//! The POS catalog on the seller's behalf: read from the POS through the cache in the store
//! (fresh for `--catalog-ttl`, served stale while the POS cannot be read), the mapping view
//! built on it, and the suggestions that match dishes to catalog entries by name.
//! Everything here blocks (store, keyring, provider calls): call it on a blocking thread.

pub mod door;
pub mod mapping;
pub mod matching;

use std::time::Duration;

use crate::app::App;
use crate::crypto::{Keyring, Secret};
use crate::domain::{Currency, Millis, ProviderKind, now_millis};
use crate::providers::catalog::{CatalogError, Location, PosCatalog};
use crate::store::catalog::{self as cache, CachedCatalog};
use crate::store::{Integration, Store, integrations};
use crate::sync::Engine;
use crate::{Error, Result};

/// What Dine answers for every catalog question (providers/README.md §F7).
pub const DINE_HAS_NO_CATALOG: &str =
    "Dine POS offers no catalog: map by name or by its product ids";

/// A catalog as served, and how current it is.
#[derive(Debug, Clone)]
pub struct Served {
    pub catalog: CachedCatalog,
    /// Read from the POS by this call (not from the cache).
    pub read_now: bool,
    /// When the cache was served because the POS could not be read: what the POS answered.
    pub stale_because: Option<String>,
}

/// Reads POS catalogs for the API, through the cache.
pub struct Catalogs<'a> {
    store: &'a Store,
    keyring: &'a Keyring,
    engine: &'a Engine,
    /// `--catalog-ttl`.
    ttl: Duration,
}

impl<'a> Catalogs<'a> {
    /// The catalogs of the running service.
    pub fn of(app: &'a App) -> Catalogs<'a> {
        Catalogs {
            store: &app.store,
            keyring: &app.keyring,
            engine: &app.sync,
            ttl: app.settings.sync.catalog_ttl,
        }
    }

    /// The catalog of an active integration: the cache while younger than the TTL (unless
    /// `refresh`), else read from the POS and cached; the cache again when the POS fails.
    /// `Conflict` for an inactive integration or a POS without a catalog; `Upstream` when the
    /// POS fails and nothing is cached.
    pub fn read(
        &self,
        integration: &Integration,
        currency: Currency,
        refresh: bool,
    ) -> Result<Served> {
        let reader = self.reader(integration)?;
        let cached = self.store.read(|c| cache::cached(c, &integration.id))?;
        let now = now_millis();
        if let Some(catalog) = &cached
            && !refresh
            && now.saturating_sub(catalog.fetched_at) < ttl_millis(self.ttl)
        {
            return Ok(Served {
                catalog: catalog.clone(),
                read_now: false,
                stale_because: None,
            });
        }
        match self.fetch(reader, integration, currency) {
            Ok(items) => {
                let fetched_at = now_millis();
                let (id, cached_items) = (integration.id.clone(), items.clone());
                self.store
                    .write(move |tx| cache::store(tx, &id, &cached_items, fetched_at))?;
                Ok(Served {
                    catalog: CachedCatalog { items, fetched_at },
                    read_now: true,
                    stale_because: None,
                })
            }
            Err(why) => {
                tracing::warn!(integration = %integration.id, provider = %integration.provider, error = %why, "reading the POS catalog failed");
                match cached {
                    Some(catalog) => Ok(Served {
                        catalog,
                        read_now: false,
                        stale_because: Some(why),
                    }),
                    None => Err(Error::Upstream(format!(
                        "the {} catalog could not be read and none is cached: {why}",
                        integration.provider.display_name()
                    ))),
                }
            }
        }
    }

    /// The catalog to check a mapping against, when there is one: `None` for an inactive
    /// integration, a POS without a catalog, or a POS that fails with nothing cached.
    pub fn if_any(&self, integration: &Integration, currency: Currency) -> Result<Option<Served>> {
        match self.read(integration, currency, false) {
            Ok(served) => Ok(Some(served)),
            Err(Error::Conflict(_) | Error::Upstream(_)) => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// The catalog reader of an active integration's POS.
    fn reader(&self, integration: &Integration) -> Result<&dyn PosCatalog> {
        if !integration.is_active {
            return Err(Error::Conflict(
                "the POS integration is not active; connect it with POST /api/v1/pos/connect"
                    .into(),
            ));
        }
        self.engine
            .catalog(integration.provider)
            .ok_or_else(|| Error::Conflict(DINE_HAS_NO_CATALOG.into()))
    }

    /// Every entry from the POS. A refused token that can be refreshed is refreshed and the
    /// read tried once more, as a push would.
    fn fetch(
        &self,
        reader: &dyn PosCatalog,
        integration: &Integration,
        currency: Currency,
    ) -> Result<Vec<crate::store::catalog::CatalogItem>, String> {
        let (token, refreshable) = self.token(integration).map_err(|e| e.to_string())?;
        match reader.items(integration, &token, currency) {
            Err(CatalogError::Unauthorized(why)) if refreshable => {
                let token = self
                    .engine
                    .tokens()
                    .refresh(integration)
                    .map_err(|e| format!("{why}; the token refresh failed: {e}"))?;
                reader
                    .items(integration, &token, currency)
                    .map_err(|e| e.message().to_string())
            }
            other => other.map_err(|e| e.message().to_string()),
        }
    }

    /// The access token to read with (a Zoho token close to expiry refreshed first), and
    /// whether a refused one can be refreshed.
    fn token(&self, integration: &Integration) -> Result<(Secret, bool)> {
        let tokens = self
            .store
            .read(|c| integrations::integration_tokens(c, self.keyring, &integration.id))?;
        let access = tokens.access_token.ok_or_else(|| {
            Error::Conflict("the POS integration has no token; connect it again".into())
        })?;
        let tokens_api = self.engine.tokens();
        let refreshable =
            tokens_api.refreshable(integration.provider, tokens.refresh_token.is_some());
        let access = tokens_api.fresh_for_push(integration, access, refreshable);
        Ok((access, refreshable))
    }

    /// The POS's locations read with `access_token`, when the POS has such a list (Square);
    /// `None` otherwise. An `Err` says why they could not be read.
    pub fn locations(
        &self,
        provider: ProviderKind,
        access_token: &Secret,
    ) -> Option<Result<Vec<Location>, String>> {
        self.engine.catalog(provider)?.locations(access_token)
    }

    /// The locations of a stored integration, read with its own token.
    pub fn locations_of(&self, integration: &Integration) -> Option<Result<Vec<Location>, String>> {
        self.engine.catalog(integration.provider)?;
        match self.token(integration) {
            Ok((token, _)) => self.locations(integration.provider, &token),
            Err(e) => Some(Err(e.to_string())),
        }
    }
}

fn ttl_millis(ttl: Duration) -> Millis {
    Millis::try_from(ttl.as_millis()).unwrap_or(Millis::MAX)
}
