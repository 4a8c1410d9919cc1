//! The store as one seller sees it: the preamble every seller-scoped operation shares.

use rusqlite::{Connection, Transaction};

use super::auth::BearerAuth;
use crate::Result;
use crate::app::App;
use crate::store::{Store, blocking};

/// The store and the authenticated seller's id, handed together to store functions that check
/// ownership (every `owned_*` lookup and seller-scoped write takes the seller first).
pub struct AsSeller {
    store: Store,
    seller: String,
}

impl App {
    /// Read or write as the seller `auth` authenticated.
    pub(super) fn as_seller(&self, auth: &BearerAuth) -> AsSeller {
        AsSeller {
            store: self.store.clone(),
            seller: auth.0.seller.id.clone(),
        }
    }
}

impl AsSeller {
    /// Run `f` with a pooled connection and the seller's id, on a blocking thread. The reads of
    /// `f` share one snapshot (a deferred transaction), so a page's `total` always counts the
    /// same rows its items come from, even while a worker is writing attempts.
    pub async fn read<T, F>(self, f: F) -> Result<T>
    where
        F: FnOnce(&Connection, &str) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        blocking(move || {
            self.store.read(|c| {
                let snapshot = c.unchecked_transaction()?;
                let value = f(&snapshot, &self.seller)?;
                snapshot.commit()?;
                Ok(value)
            })
        })
        .await
    }

    /// Run `f` in one write transaction with the seller's id, on a blocking thread.
    pub async fn write<T, F>(self, f: F) -> Result<T>
    where
        F: FnOnce(&Transaction<'_>, &str) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let AsSeller { store, seller } = self;
        store.write_async(move |tx| f(tx, &seller)).await
    }

    /// Run `f` with the store and the seller's id on a blocking thread, for work that mixes
    /// store calls with other blocking calls (a provider, the keyring) and so is not one read or
    /// one write.
    pub async fn run<T, F>(self, f: F) -> Result<T>
    where
        F: FnOnce(&Store, &str) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        blocking(move || f(&self.store, &self.seller)).await
    }
}
