//! possync: an on-premise service that pushes MenuMaker orders into a restaurant's POS
//! (Square, Zoho Inventory, Dine POS), retries through outages, and records every attempt.
//!
//! Start reading at [`start`]: it wires the whole service in the order data flows.

/// Account actions shared by the HTTP API and the CLI: register, log in, make API tokens.
pub mod accounts;
/// The HTTP API: one poem-openapi Api per tag, the envelope, error mapping, the security scheme.
pub mod api;
/// The running service's shared state (store, keyring, settings, engine).
pub mod app;
/// The POS catalog on the seller's behalf: the cache, the mapping view, name suggestions.
pub mod catalog;
/// The command line: `serve`, `migrate`, `openapi`, `seller`, `token`, `retries`, `backup`, `keys`.
pub mod cli;
/// Settings: every flag, its `POSSYNC_*` variable, and their parsing (cron strings included).
pub mod config;
/// Passwords (argon2id), sealed secrets (AES-256-GCM) and API tokens.
pub mod crypto;
/// The data directory on disk: private modes, looked-for databases, the one-`serve` lock.
pub mod datadir;
/// Plain types parsed at the edge: money, currencies, ids, closed sets of values.
pub mod domain;
/// The domain error type (no HTTP in it).
pub mod error;
/// Log set-up: the `--log` filter, the line format, the targets no filter may open.
pub mod logging;
/// Prometheus metrics served at `/metrics`.
pub mod metrics;
/// Seller notifications: what they say, the channels, and the delivery thread.
pub mod notify;
/// The POS systems, one folder each: payload builder, client, OAuth, answer classification.
pub mod providers;
/// The HTTP listener and the handle that stops a running service.
pub mod server;
/// The database: the pool, migrations, and one module per table family.
pub mod store;
/// The sync engine: the attempt in stages, the retry policy, tokens, workers, scheduler, jobs.
pub mod sync;

pub use error::{Error, Result};

use crate::app::App;
use crate::config::ServeArgs;
use crate::datadir::DataDirLock;
use crate::server::Server;
use crate::store::blocking;
use crate::sync::Running;

/// Run `possync serve` until SIGINT or SIGTERM, then shut down in order.
pub fn run(settings: ServeArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let server = start(settings).await?;
        let stopped = server::shutdown_signal();
        let addr = server.addr();
        // On stderr with the logs, in their format: stdout stays clean for a pipeline.
        tracing::info!(
            target: logging::BANNER,
            "possync {} listening on http://{addr}",
            env!("CARGO_PKG_VERSION")
        );
        tracing::info!(target: logging::BANNER, "Swagger UI: http://{addr}/docs");
        tracing::info!(target: logging::BANNER, "Status page: http://{addr}/");
        stopped.await;
        tracing::info!("shutting down");
        server.stop().await
    })
}

/// Start the service: store → engine → workers and scheduler → HTTP. Returns once the socket
/// is bound and every thread runs; [`Server::stop`] undoes it in reverse.
pub async fn start(settings: ServeArgs) -> Result<Server> {
    // The data directory, made private and locked (one `serve` per database); the store in it
    // (migrated, its secrets opened by the key) and the engine over the store.
    let (app, lock) = blocking(move || {
        if let Some(dir) = settings.store.database_path().parent() {
            datadir::create_private_dir(dir)?;
        }
        let mut lock = DataDirLock::acquire(&settings.store)?;
        let app = App::open(settings)?;
        lock.record_owner()?;
        Ok((app, lock))
    })
    .await?;
    let bound = server::bind(&app.settings).await?;
    // Workers push due logs, the delivery thread sends notifications, the scheduler wakes them
    // and runs the cron jobs.
    let workers = {
        let engine = app.sync.clone();
        let (count, jobs) = (
            app.settings.sync.sync_workers,
            sync::jobs::jobs(&engine, &app.settings.sync),
        );
        blocking(move || Running::start(engine, count, jobs)).await?
    };
    let http = bound.serve(api::endpoint(app.clone()));
    Ok(Server::new(app, http, workers, lock))
}
