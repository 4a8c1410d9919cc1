//! The mock POS: Square's `POST /v2/orders` and `POST /v2/payments` in process (poem on the
//! benchmark's tokio runtime), with a latency, planned failures, Square's idempotency and its
//! order total, recording every arrival so a phase can tell when each order reached the POS,
//! when Square showed it (its payment answered) and whether it was made exactly once. A
//! location can be made to hang or to be down (a POS that one restaurant's lane meets alone).
//! Start as many as a phase needs (one per POS under test); each has its own port and state.

mod orders;
mod payments;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use poem::Route;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{EndpointExt, post};

use crate::harness::clock::wait_until;

/// One request the mock received.
#[derive(Debug, Clone, Copy)]
pub struct Arrival {
    /// Bench clock (ms).
    pub at_ms: f64,
    /// Unix ms.
    pub wall_ms: f64,
    /// Answered 503 (a planned failure).
    pub failed: bool,
}

/// What a location's requests meet instead of the normal answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// Held this long, then 503 (possync's timeout has long run out).
    Hang(Duration),
    /// 503 at once: the POS is down.
    Down,
}

/// Requests to one location (CreateOrder and CreatePayment alike).
#[derive(Debug, Clone, Default)]
pub struct LocationLoad {
    /// Bench ms of every arrival.
    pub arrivals_ms: Vec<f64>,
    /// Requests being answered now.
    pub in_flight: u64,
    /// The most ever in flight at once.
    pub max_in_flight: u64,
}

/// What the mock has seen.
#[derive(Default)]
pub struct MockState {
    /// Idempotency key → Square order id.
    pub keys: HashMap<String, String>,
    /// reference_id (possync's order id) → Square orders created for it.
    pub created: HashMap<String, u32>,
    /// reference_id → every CreateOrder request, in order of arrival.
    pub arrivals: HashMap<String, Vec<Arrival>>,
    /// reference_id → when CreateOrder's first 2xx answer went out (bench ms).
    pub ordered: HashMap<String, f64>,
    /// reference_id → when CreatePayment's first 2xx answer went out (bench ms): the order is
    /// on the POS from then on (Square shows an API order once it is paid).
    pub answered: HashMap<String, f64>,
    /// Payment idempotency key → payment id.
    pub payment_keys: HashMap<String, String>,
    /// reference_id → payments made for it.
    pub paid: HashMap<String, u32>,
    /// location_id → its requests.
    pub locations: HashMap<String, LocationLoad>,
    /// Distinct client sockets (= TCP connections possync opened) since the last reset.
    pub remotes: HashSet<SocketAddr>,
    /// Requests received.
    pub requests: u64,
    /// Requests whose idempotency key was not `menumaker-<order id>` (`mmpay-` for payments).
    pub key_mismatches: u64,
}

/// A mock Square; its behaviour can be changed while it runs.
pub struct MockPos {
    /// Its base URL (possync's `--square-base-url`).
    pub url: String,
    latency_ms: AtomicU64,
    /// Failure probability in parts per million.
    failure_ppm: AtomicU64,
    /// Answer 503 to the first request of every reference_id.
    fail_first: AtomicBool,
    seq: AtomicU64,
    faults: Mutex<HashMap<String, Fault>>,
    state: Mutex<MockState>,
}

impl MockPos {
    /// Start a mock on 127.0.0.1 (a free port) on `runtime`, answering after 20 ms.
    pub fn start(runtime: &tokio::runtime::Handle) -> Arc<MockPos> {
        let acceptor = runtime.block_on(async {
            TcpListener::bind("127.0.0.1:0")
                .into_acceptor()
                .await
                .expect("mock square: bind")
        });
        let addr = acceptor
            .local_addr()
            .first()
            .and_then(|a| a.as_socket_addr().copied())
            .expect("mock square: address");
        let mock = Arc::new(MockPos {
            url: format!("http://{addr}"),
            latency_ms: AtomicU64::new(20),
            failure_ppm: AtomicU64::new(0),
            fail_first: AtomicBool::new(false),
            seq: AtomicU64::new(1),
            faults: Mutex::new(HashMap::new()),
            state: Mutex::new(MockState::default()),
        });
        let app = Route::new()
            .at("/v2/orders", post(orders::create_order))
            .at("/v2/payments", post(payments::create_payment))
            .data(mock.clone());
        runtime.spawn(poem::Server::new_with_acceptor(acceptor).run(app));
        mock
    }

    /// How long each answer (of either call) waits, ms.
    pub fn set_latency(&self, ms: u64) {
        self.latency_ms.store(ms, Ordering::SeqCst);
    }

    fn latency(&self) -> Duration {
        Duration::from_millis(self.latency_ms.load(Ordering::SeqCst))
    }

    /// The share of CreateOrder requests answered 503 at random.
    pub fn set_failure_rate(&self, rate: f64) {
        self.failure_ppm
            .store((rate.clamp(0.0, 1.0) * 1e6) as u64, Ordering::SeqCst);
    }

    /// Answer 503 to the first CreateOrder request for every order (and only the first).
    pub fn set_fail_first(&self, on: bool) {
        self.fail_first.store(on, Ordering::SeqCst);
    }

    /// Requests to `location` meet `fault` from now on (`None`: answered normally again).
    pub fn set_fault(&self, location: &str, fault: Option<Fault>) {
        let mut faults = self.faults.lock().unwrap_or_else(PoisonError::into_inner);
        match fault {
            Some(fault) => faults.insert(location.to_string(), fault),
            None => faults.remove(location),
        };
    }

    fn fault(&self, location: &str) -> Option<Fault> {
        let faults = self.faults.lock().unwrap_or_else(PoisonError::into_inner);
        faults.get(location).copied()
    }

    /// A pseudo-random draw against the failure rate (splitmix64 over a counter).
    fn roll_failure(&self) -> bool {
        let ppm = self.failure_ppm.load(Ordering::Relaxed);
        if ppm == 0 {
            return false;
        }
        let mut z = self
            .seq
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        z % 1_000_000 < ppm
    }

    /// A fresh id with this prefix.
    fn next_id(&self, prefix: &str) -> String {
        let n = self.seq.fetch_add(1, Ordering::Relaxed) % 1_000_000_000_000;
        format!("{prefix}{n:012}")
    }

    /// What it has seen (held briefly: every request takes the same lock).
    pub fn lock(&self) -> MutexGuard<'_, MockState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Forget the connections seen so far (to count the ones a phase opens).
    pub fn reset_connections(&self) {
        self.lock().remotes.clear();
    }

    /// Count a request to `location` as in flight until the guard drops (also when possync
    /// gives up and the answer is never written); the fault it meets.
    fn enter(self: &Arc<Self>, location: &str, at_ms: f64) -> (InFlight, Option<Fault>) {
        let mut state = self.lock();
        let load = state.locations.entry(location.to_string()).or_default();
        load.arrivals_ms.push(at_ms);
        load.in_flight += 1;
        load.max_in_flight = load.max_in_flight.max(load.in_flight);
        drop(state);
        let guard = InFlight {
            mock: self.clone(),
            location: location.to_string(),
        };
        (guard, self.fault(location))
    }

    /// Whether every one of `orders` is on the POS (its payment answered 2xx).
    pub fn answered_all(&self, orders: &[String]) -> bool {
        let state = self.lock();
        orders.iter().all(|id| state.answered.contains_key(id))
    }

    /// Wait until every one of `orders` is on the POS; how long that took.
    pub fn wait_answered(&self, orders: &[String], timeout: Duration) -> Option<Duration> {
        wait_until(timeout, Duration::from_millis(20), || {
            self.answered_all(orders)
        })
    }
}

/// A request being answered; counted in its location's load until dropped.
struct InFlight {
    mock: Arc<MockPos>,
    location: String,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(load) = self.mock.lock().locations.get_mut(&self.location) {
            load.in_flight = load.in_flight.saturating_sub(1);
        }
    }
}

/// Hold the answer as the latency (and a location's fault) says; `true` when the request
/// meets a fault and must be answered 503.
async fn delay(mock: &MockPos, fault: Option<Fault>) -> bool {
    match fault {
        Some(Fault::Down) => true,
        Some(Fault::Hang(held)) => {
            tokio::time::sleep(held).await;
            true
        }
        None => {
            let latency = mock.latency();
            if !latency.is_zero() {
                tokio::time::sleep(latency).await;
            }
            false
        }
    }
}

/// Square's 503 body.
const UNAVAILABLE: &str =
    r#"{"errors":[{"category":"API_ERROR","code":"SERVICE_UNAVAILABLE","detail":"bench outage"}]}"#;
