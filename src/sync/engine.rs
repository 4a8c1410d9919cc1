//! The engine: the shared state of the sync threads, and the claim that starts each attempt
//! (the attempt itself is in `attempt.rs`, its record stage in `record.rs`).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::Duration;

use super::Signal;
use super::breaker::BreakerRules;
use super::faults::Faults;
use super::lanes::Lanes;
use super::policy::RetrySettings;
use super::tokens::Tokens;
use crate::Result;
use crate::config::SyncArgs;
use crate::crypto::Keyring;
use crate::domain::{Millis, ProviderKind, SyncLogId, now_millis};
use crate::metrics::Metrics;
use crate::notify::NotifySettings;
use crate::notify::channels::Channels;
use crate::notify::delivery::Delivery;
use crate::providers::OAuth;
use crate::providers::catalog::PosCatalog;
use crate::providers::{PosClient, Registry};
use crate::store::Store;
use crate::store::outbox;

/// The engine's settings, from [`SyncArgs`].
#[derive(Debug, Clone)]
pub struct EngineSettings {
    pub retry: RetrySettings,
    pub max_retries: i64,
    /// When a lane's circuit opens, and how often it probes.
    pub breaker: BreakerRules,
    /// How long a held log waits for its POS before it fails (the guide's window:
    /// `max_retries × retry_interval`).
    pub hold_window: Millis,
    /// How long a claim holds a log; longer than any one attempt can take.
    pub lease: Duration,
}

impl EngineSettings {
    /// Settings from the command line.
    pub fn from_args(args: &SyncArgs) -> EngineSettings {
        EngineSettings {
            retry: RetrySettings {
                interval: args.retry_interval,
                rate_limit_backoff: args.rate_limit_backoff,
                max_backoff: args.max_backoff,
            },
            max_retries: i64::from(args.max_retries),
            breaker: BreakerRules {
                after: i64::from(args.breaker_after),
                probe_every: millis(args.retry_interval),
            },
            hold_window: millis(args.retry_interval).saturating_mul(i64::from(args.max_retries)),
            lease: args.provider_timeout.saturating_mul(2) + Duration::from_secs(30),
        }
    }
}

/// Pushes orders. Shared by the worker threads, the scheduler and the API (to wake it).
pub struct Engine {
    pub(super) store: Store,
    pub(super) keyring: Arc<Keyring>,
    pub(super) settings: EngineSettings,
    /// The claim rule: lanes served in turn.
    pub(super) lanes: Arc<Lanes>,
    providers: Arc<Registry>,
    pub(super) tokens: Tokens,
    pub(super) delivery: Arc<Delivery>,
    signal: Arc<Signal>,
    pub(super) metrics: Arc<Metrics>,
    /// Worker and delivery threads running now (for `/readyz`).
    pub(super) threads_alive: AtomicUsize,
    /// When the scheduler last went round its loop (for `/readyz`).
    pub(super) scheduler_beat: AtomicI64,
    /// Failing steps of the sync threads, logged at most once per ten seconds.
    pub(super) faults: Faults,
    /// Pushes the POS answered whose outcome waits in memory for the disk to take it; while
    /// any does, expired leases are not reclaimed (that would send them again).
    pub(super) unrecorded: AtomicUsize,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn millis(d: Duration) -> Millis {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Engine {
    /// An engine over `store` with the given settings.
    pub fn new(store: Store, keyring: Arc<Keyring>, args: &SyncArgs) -> Result<Engine> {
        let metrics = Arc::new(Metrics::default());
        let delivery = Arc::new(Delivery::new(
            store.clone(),
            NotifySettings::from_args(&args.notify),
            Channels::from_args(&args.notify, args.provider_timeout)?,
            metrics.clone(),
        ));
        let providers = Arc::new(Registry::from_args(args));
        let settings = EngineSettings::from_args(args);
        Ok(Engine {
            tokens: Tokens::new(
                store.clone(),
                keyring.clone(),
                providers.clone(),
                delivery.clone(),
            ),
            store,
            keyring,
            lanes: Arc::new(Lanes::new(
                args.lane_concurrency,
                settings.breaker,
                settings.hold_window,
            )),
            settings,
            providers,
            delivery,
            signal: Arc::new(Signal::default()),
            metrics,
            threads_alive: AtomicUsize::new(0),
            scheduler_beat: AtomicI64::new(0),
            faults: Faults::default(),
            unrecorded: AtomicUsize::new(0),
        })
    }

    /// The settings in force.
    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    /// The store the engine works on.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The wake-up signal of the workers.
    pub fn signal(&self) -> &Arc<Signal> {
        &self.signal
    }

    /// Wake the workers (work fell due, or many logs were queued).
    pub fn wake(&self) {
        self.signal.wake();
    }

    /// Wake one idle worker for one new log, rather than every worker racing to claim it.
    pub fn wake_one(&self) {
        self.signal.wake_one();
    }

    /// The client for a provider.
    pub fn client(&self, provider: ProviderKind) -> &dyn PosClient {
        self.providers.client(provider)
    }

    /// The catalog reader of a provider, when that POS has a catalog.
    pub fn catalog(&self, provider: ProviderKind) -> Option<&dyn PosCatalog> {
        self.providers.catalog(provider)
    }

    /// Claim the next due log in turn (see `lanes`) and push it. Returns the log's id, or
    /// `None` when no lane may start one.
    pub fn run_once(&self) -> Result<Option<SyncLogId>> {
        let now = now_millis();
        let lease_until = now.saturating_add(millis(self.settings.lease));
        let lanes = self.lanes.clone();
        let Some(log) = self
            .store
            .write(move |tx| lanes.claim(tx, now, lease_until))?
        else {
            return Ok(None);
        };
        let id = log.id.clone();
        self.attempt(log)?;
        Ok(Some(id))
    }

    /// Push every log that is due now, one after another (`possync retries run`).
    pub fn run_due(&self) -> Result<usize> {
        let mut done = 0;
        while self.run_once()?.is_some() {
            done += 1;
        }
        Ok(done)
    }

    /// Make logs whose lease expired due again; with `all`, every `syncing` log (start-up).
    pub fn reclaim(&self, all: bool) -> Result<usize> {
        // A log whose outcome waits in memory is still this worker's, however old its lease.
        if !all && self.unrecorded.load(Ordering::Relaxed) > 0 {
            return Ok(0);
        }
        let now = now_millis();
        let n = self
            .store
            .write(move |tx| outbox::reclaim_leases(tx, now, all))?;
        if n > 0 {
            tracing::warn!(
                logs = n,
                "reclaimed sync logs whose worker stopped mid-attempt"
            );
            self.wake();
        }
        Ok(n)
    }

    /// The token-refresh job (see [`Tokens::refresh_due`]).
    pub fn refresh_due_tokens(&self) -> Result<String> {
        self.tokens.refresh_due()
    }

    /// The POS token upkeep.
    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    /// The OAuth clients.
    pub fn oauth(&self) -> OAuth<'_> {
        self.providers.oauth()
    }

    /// The notification outbox and its thread's work.
    pub fn delivery(&self) -> &Arc<Delivery> {
        &self.delivery
    }

    /// The metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Whether `expected` sync threads are running and the scheduler went round in the last
    /// few seconds.
    pub fn running(&self, expected: usize) -> bool {
        let beat = self.scheduler_beat.load(Ordering::Relaxed);
        self.threads_alive.load(Ordering::Relaxed) >= expected && now_millis() - beat < 5_000
    }
}
