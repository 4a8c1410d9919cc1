//! What every phase shares: the run's settings, the mock POS, the data directories, starting
//! the release binary, the load driver, percentiles and the report; and the instances one
//! phase leaves for another ([`Shared`]).

pub mod api;
pub mod clock;
pub mod config;
pub mod db;
pub mod dist;
pub mod driver;
pub mod procfs;
pub mod report;
pub mod service;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use self::api::Shop;
use self::config::Config;
use self::driver::{Driven, Plan, drive};
use self::service::{Service, free_port};
use crate::mock_pos::MockPos;

/// The run: its settings, the mock POS every instance pushes to, and where data goes.
pub struct Bench {
    /// Counts and rates.
    pub cfg: Config,
    /// The mock Square every instance the harness starts pushes to.
    pub mock: Arc<MockPos>,
    /// The runtime the mock runs on (a phase may start more mocks on it: `MockPos::start`).
    pub runtime: tokio::runtime::Runtime,
    root: tempfile::TempDir,
    /// Data directories handed out (each instance gets one of its own).
    taken: Mutex<HashSet<PathBuf>>,
}

impl Bench {
    /// Start the mock POS and make the temporary root for the data directories.
    pub fn new(cfg: Config) -> Bench {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("mock runtime");
        let mock = MockPos::start(runtime.handle());
        let root = tempfile::Builder::new()
            .prefix("possync-bench-")
            .tempdir()
            .expect("tempdir");
        Bench {
            cfg,
            mock,
            runtime,
            root,
            taken: Mutex::new(HashSet::new()),
        }
    }

    /// Where the data directories are.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// A data directory of its own under the root, named `name` (or `name-2`, … when taken).
    pub fn data_dir(&self, name: &str) -> PathBuf {
        let mut taken = self.taken.lock().unwrap_or_else(PoisonError::into_inner);
        let mut dir = self.root().join(name);
        let mut n = 1;
        while taken.contains(&dir) {
            n += 1;
            dir = self.root().join(format!("{name}-{n}"));
        }
        taken.insert(dir.clone());
        dir
    }

    /// `serve` flags: the mock POS as Square, then `extra`.
    pub fn flags(&self, extra: &[&str]) -> Vec<String> {
        ["--square-base-url", self.mock.url.as_str()]
            .iter()
            .chain(extra)
            .map(|s| s.to_string())
            .collect()
    }

    /// Spawn an instance on a new data directory (`name`) and a free port, with [`Bench::flags`].
    pub fn start(&self, name: &str, extra: &[&str]) -> Service {
        Service::start(&self.data_dir(name), free_port(), &self.flags(extra))
    }

    /// [`Bench::start`], and wait until it is ready.
    pub fn serve(&self, name: &str, extra: &[&str]) -> Service {
        let mut svc = self.start(name, extra);
        svc.wait_ready();
        svc
    }

    /// `secs` of orders to `shop` at the settings' rate from the settings' clients, then up to
    /// 2 min for the mock to answer each: what was sent, and how long after the last answer
    /// to the clients the POS had them all (`None`: not within the 2 min).
    pub fn at_rate(&self, shop: &Shop, secs: f64) -> (Driven, Option<Duration>) {
        let plan = Plan::Rate {
            rate: self.cfg.rate,
            count: (self.cfg.rate * secs) as usize,
        };
        let driven = drive(shop, plan, self.cfg.clients);
        let drained = self
            .mock
            .wait_answered(&driven.acked_ids(), Duration::from_secs(120));
        (driven, drained)
    }

    /// Stop the mock without waiting for the requests it holds (the backlog phase holds one).
    pub fn finish(self) {
        self.runtime.shutdown_background();
    }
}

/// What one phase leaves for a later one, so a full run measures as one run did before the
/// phases were split, and a phase run alone makes its own.
#[derive(Default)]
pub struct Shared {
    main: Option<MainInstance>,
    /// A stopped instance's data directory whose seller has delivered orders (the throughput
    /// phase leaves its `full` one; history inserts a million logs there).
    pub stocked: Option<Stocked>,
}

impl Shared {
    /// The instance latency, retries and recovery share (started on first use).
    pub fn main(&mut self, bench: &Bench) -> &mut MainInstance {
        let main = match self.main.take() {
            Some(main) => main,
            None => MainInstance::start(bench),
        };
        self.main.insert(main)
    }

    /// The shared instance, to end its life (recovery kills it).
    pub fn take_main(&mut self, bench: &Bench) -> MainInstance {
        self.main
            .take()
            .unwrap_or_else(|| MainInstance::start(bench))
    }
}

/// The instance latency, retries and recovery share: `--sync-workers` from the settings (16),
/// as many in its one lane, `--retry-interval 1s`, durability `full`, no breaker. Recovery counts every order it holds.
pub struct MainInstance {
    /// The running possync.
    pub svc: Service,
    /// Its seller.
    pub shop: Shop,
    /// Its `serve` flags (for a restart).
    pub flags: Vec<String>,
    /// (VmRSS, VmHWM) in KiB, 1 s after set-up, before any load.
    pub idle: (u64, u64),
}

impl MainInstance {
    fn start(bench: &Bench) -> MainInstance {
        let workers = bench.cfg.latency_workers.to_string();
        // One business: its lane would allow one push in flight (25 a second at 2 × 20 ms);
        // these phases measure the engine, so the lane gets every worker.
        let flags = bench.flags(&[
            "--sync-workers",
            &workers,
            "--lane-concurrency",
            &workers,
            "--retry-interval",
            "1s",
            "--durability",
            "full",
            // `retries` answers every first push 503: with the breaker on, the lane opens
            // after 5 of them, holds the rest until the guide's window fails them, and the
            // phase times the breaker (which has a phase of its own), not the retry.
            "--breaker-after",
            "0",
        ]);
        let mut svc = Service::start(&bench.data_dir("main"), free_port(), &flags);
        svc.wait_ready();
        let shop = Shop::set_up(&svc.api());
        std::thread::sleep(Duration::from_secs(1));
        let idle = svc.rss_kb();
        MainInstance {
            svc,
            shop,
            flags,
            idle,
        }
    }
}

/// A stopped instance's data directory and its seller.
pub struct Stocked {
    /// The data directory.
    pub dir: PathBuf,
    /// The seller (its `api` points at the stopped instance).
    pub shop: Shop,
}

impl Stocked {
    /// Stop `svc` (gracefully) and keep its data directory and seller.
    pub fn stop(mut svc: Service, shop: Shop) -> Stocked {
        svc.stop();
        Stocked {
            dir: svc.data_dir().to_path_buf(),
            shop,
        }
    }
}
