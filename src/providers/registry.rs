//! The one list of POS systems possync knows. A POS lives in its own folder and is registered
//! here by one line in [`build`]; the engine's client lookup goes through [`Registry`].

use super::{PosClient, dine, square, zoho};
use crate::config::SyncArgs;
use crate::domain::ProviderKind;

/// One POS, built from the settings by its folder.
pub struct Provider {
    /// Which POS this is.
    pub kind: ProviderKind,
    /// Pushes orders.
    pub client: Box<dyn PosClient>,
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
}
