//! The mock POS: Square's `POST /v2/orders` in process (poem on the benchmark's tokio runtime),
//! with a latency, planned failures and Square's idempotency, recording every arrival so a
//! phase can tell when each order reached the POS and whether it was made exactly once.
//! Start as many as a phase needs (one per POS under test); each has its own port and state.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use poem::http::StatusCode;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::{Data, Json};
use poem::{EndpointExt, Request, Response, Route, handler, post};
use serde_json::{Value, json};

use crate::harness::clock::{now_ms, wait_until, wall_ms};

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

/// What the mock has seen.
#[derive(Default)]
pub struct MockState {
    /// Idempotency key → Square order id.
    pub keys: HashMap<String, String>,
    /// reference_id (possync's order id) → Square orders created for it.
    pub created: HashMap<String, u32>,
    /// reference_id → every request, in order of arrival.
    pub arrivals: HashMap<String, Vec<Arrival>>,
    /// reference_id → when the first 2xx answer went out (bench ms).
    pub answered: HashMap<String, f64>,
    /// Distinct client sockets (= TCP connections possync opened) since the last reset.
    pub remotes: HashSet<SocketAddr>,
    /// Requests received.
    pub requests: u64,
    /// Requests whose idempotency key was not `menumaker-<order id>`.
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
            state: Mutex::new(MockState::default()),
        });
        let app = Route::new()
            .at("/v2/orders", post(create_order))
            .data(mock.clone());
        runtime.spawn(poem::Server::new_with_acceptor(acceptor).run(app));
        mock
    }

    /// How long each answer waits, ms.
    pub fn set_latency(&self, ms: u64) {
        self.latency_ms.store(ms, Ordering::SeqCst);
    }

    /// The share of requests answered 503 at random.
    pub fn set_failure_rate(&self, rate: f64) {
        self.failure_ppm
            .store((rate.clamp(0.0, 1.0) * 1e6) as u64, Ordering::SeqCst);
    }

    /// Answer 503 to the first request for every order (and only the first).
    pub fn set_fail_first(&self, on: bool) {
        self.fail_first.store(on, Ordering::SeqCst);
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

    /// What it has seen (held briefly: every request takes the same lock).
    pub fn lock(&self) -> MutexGuard<'_, MockState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Forget the connections seen so far (to count the ones a phase opens).
    pub fn reset_connections(&self) {
        self.lock().remotes.clear();
    }

    /// Whether every one of `orders` has had a 2xx answer.
    pub fn answered_all(&self, orders: &[String]) -> bool {
        let state = self.lock();
        orders.iter().all(|id| state.answered.contains_key(id))
    }

    /// Wait until every one of `orders` has had a 2xx answer; how long that took.
    pub fn wait_answered(&self, orders: &[String], timeout: Duration) -> Option<Duration> {
        wait_until(timeout, Duration::from_millis(20), || {
            self.answered_all(orders)
        })
    }
}

#[handler]
async fn create_order(
    req: &Request,
    body: Json<Value>,
    Data(mock): Data<&Arc<MockPos>>,
) -> Response {
    let at_ms = now_ms();
    let wall = wall_ms();
    let key = body["idempotency_key"].as_str().unwrap_or("").to_string();
    let reference = body["order"]["reference_id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let random_failure = mock.roll_failure();
    let id = {
        let mut guard = mock.lock();
        let state = &mut *guard;
        state.requests += 1;
        if let Some(addr) = req.remote_addr().as_socket_addr() {
            state.remotes.insert(*addr);
        }
        if key != format!("menumaker-{reference}") {
            state.key_mismatches += 1;
        }
        let arrivals = state.arrivals.entry(reference.clone()).or_default();
        let failed =
            random_failure || (mock.fail_first.load(Ordering::SeqCst) && arrivals.is_empty());
        arrivals.push(Arrival {
            at_ms,
            wall_ms: wall,
            failed,
        });
        if failed {
            None
        } else if let Some(id) = state.keys.get(&key) {
            // Square's idempotency: the same key gets the order it already made.
            Some(id.clone())
        } else {
            let id = format!(
                "SQBENCH{:012}",
                mock.seq.fetch_add(1, Ordering::Relaxed) % 1_000_000_000_000
            );
            state.keys.insert(key, id.clone());
            *state.created.entry(reference.clone()).or_default() += 1;
            Some(id)
        }
    };
    let latency = mock.latency_ms.load(Ordering::SeqCst);
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    match id {
        None => Response::builder()
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .content_type("application/json")
            .body(
                r#"{"errors":[{"category":"API_ERROR","code":"SERVICE_UNAVAILABLE","detail":"bench outage"}]}"#,
            ),
        Some(id) => {
            mock.lock()
                .answered
                .entry(reference.clone())
                .or_insert(now_ms());
            let order = json!({"order": {
                "id": id, "reference_id": reference, "location_id": body["order"]["location_id"],
                "state": "OPEN", "version": 1,
            }});
            Response::builder()
                .status(StatusCode::OK)
                .content_type("application/json")
                .body(order.to_string())
        }
    }
}
