//! The running service's shared state.

use std::sync::Arc;

use crate::config::{ServeArgs, StoreArgs};
use crate::crypto::Keyring;
use crate::store::{Store, integrations};
use crate::sync::Engine;
use crate::{Error, Result};

/// What every handler and worker needs. Cheap to clone.
#[derive(Clone, Debug)]
pub struct App {
    pub store: Store,
    pub keyring: Arc<Keyring>,
    pub settings: Arc<ServeArgs>,
    /// The sync engine (workers are started by the server).
    pub sync: Arc<Engine>,
}

impl App {
    /// Open the store and the keyring, and check that the key opens every stored secret.
    /// Blocking: call from a blocking thread or before the runtime starts.
    pub fn open(settings: ServeArgs) -> Result<App> {
        let (store, keyring) = open_store(&settings.store, settings.db_connections)?;
        let keyring = Arc::new(keyring);
        let sync = Arc::new(Engine::new(store.clone(), keyring.clone(), &settings.sync)?);
        Ok(App {
            store,
            keyring,
            settings: Arc::new(settings),
            sync,
        })
    }
}

/// The master keys: `POSSYNC_MASTER_KEY` when given, else the key file (made on first use).
pub fn open_keyring(args: &StoreArgs) -> Result<Keyring> {
    match &args.master_key {
        Some(key) => Keyring::from_base64(key),
        None => Keyring::load_or_create(&args.master_key_path()),
    }
}

/// Open and migrate the database, load the keys, and refuse to go on when the keys cannot open
/// the secrets already stored (a wrong key file must never silently lose tokens).
pub fn open_store(args: &StoreArgs, connections: u32) -> Result<(Store, Keyring)> {
    let store = Store::open(&args.database_path(), args.durability, connections)?;
    let keyring = open_keyring(args)?;
    store
        .read(|c| integrations::verify_all_secrets(c, &keyring))
        .map_err(|e| match e {
            Error::Crypto(why) => Error::Config(format!(
                "the master key does not open the POS tokens stored in {} ({why}); start with the \
                 key file or POSSYNC_MASTER_KEY that sealed them",
                args.database_path().display()
            )),
            other => other,
        })?;
    Ok((store, keyring))
}
