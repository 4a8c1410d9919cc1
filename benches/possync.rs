//! The possync benchmark (issue 8): `cargo bench --bench possync`.
//!
//! Cargo builds the release binary (the bench profile inherits `release`); this program starts
//! it as a child process on fresh temporary data directories and free ports, runs an in-process
//! mock Square (`POST /v2/orders`, poem + tokio) with a configurable latency and failure rate,
//! drives orders through the public API with a pool of HTTP clients (ureq, one thread each),
//! and reports every figure as a table on stdout and as JSON in `target/bench-report.json`,
//! each compared with the issue's goal (PASS/MISS).
//!
//! Phases (counts scale with `POSSYNC_BENCH_*` variables, printed at the start):
//! 1. binary size; start-up to ready (fresh data directories); idle RSS.
//! 2. 200 orders/s with the default 4 sync workers (how the defaults fare).
//! 3. 200 orders/s with `--sync-workers 16`: intake latency, created → POS received.
//! 4. retry precision: the mock fails each first attempt with 503, `--retry-interval 1s`.
//! 5. `kill -9` with orders in flight, restart: time until all are delivered, exactly once.
//! 6. per durability (`full`, `normal`): a backlog made at the maximum intake rate (intake
//!    throughput), then drained by `--sync-workers 64` against a 50 ms POS (deliveries/s).
//! 7. a million sync logs inserted with rusqlite while possync is stopped: history and stats.
//!
//! Also: `POSSYNC_BENCH_FAILURE_RATE` (random 503s in phase 3), `POSSYNC_BENCH_ONLY=binary,
//! startup,default,main,throughput,history` (a subset), `POSSYNC_BENCH_BINARY` (measure another
//! build), `POSSYNC_BENCH_EXTRA_ARGS` (more `serve` flags).
//!
//! Timing assertions live here and never in `cargo test`: without `--bench` (which only
//! `cargo bench` passes) the program does nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::fs::OpenOptions;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use poem::http::StatusCode;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::{Data, Json};
use poem::{EndpointExt, Request, Response, Route, handler, post};
use serde_json::{Map, Value, json};

// ---------------------------------------------------------------------------------------------
// Goals (issue 8, point 3)

const GOAL_E2E_P50_MS: f64 = 5.0;
const GOAL_E2E_P99_MS: f64 = 20.0;
const GOAL_DELIVERIES_PER_S: f64 = 1000.0;
const GOAL_RETRY_LATE_P99_MS: f64 = 1000.0;
const GOAL_RECOVERY_S: f64 = 30.0;
const GOAL_QUERY_P99_MS: f64 = 5.0;
const GOAL_IDLE_RSS_MB: f64 = 15.0;
const GOAL_BINARY_MB: f64 = 8.0;
const GOAL_READY_MS: f64 = 100.0;

/// How long a held mock request sleeps (the backlog phase keeps the one worker busy).
const HOLD_MS: u64 = 600_000;

// ---------------------------------------------------------------------------------------------
// Settings

fn env_or<T: FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// Counts and rates; every one can be changed with its `POSSYNC_BENCH_*` variable.
#[derive(Debug, Clone)]
struct Config {
    pos_latency_ms: u64,
    failure_rate: f64,
    rate: f64,
    rate_secs: f64,
    default_rate_secs: f64,
    latency_workers: u16,
    retry_orders: usize,
    recovery_kill_after_s: f64,
    recovery_pos_latency_ms: u64,
    throughput_workers: u16,
    throughput_pos_latency_ms: u64,
    throughput_orders: usize,
    clients: usize,
    logs: usize,
    queries: usize,
    starts: usize,
}

impl Config {
    fn from_env() -> Config {
        Config {
            pos_latency_ms: env_or("POSSYNC_BENCH_POS_LATENCY_MS", 20),
            failure_rate: env_or("POSSYNC_BENCH_FAILURE_RATE", 0.0),
            rate: env_or("POSSYNC_BENCH_RATE", 200.0),
            rate_secs: env_or("POSSYNC_BENCH_RATE_SECS", 20.0),
            default_rate_secs: env_or("POSSYNC_BENCH_DEFAULT_WORKERS_SECS", 10.0),
            latency_workers: env_or("POSSYNC_BENCH_LATENCY_WORKERS", 16),
            retry_orders: env_or("POSSYNC_BENCH_RETRY_ORDERS", 200),
            recovery_kill_after_s: env_or("POSSYNC_BENCH_KILL_AFTER_S", 2.0),
            recovery_pos_latency_ms: env_or("POSSYNC_BENCH_RECOVERY_POS_LATENCY_MS", 100),
            throughput_workers: env_or("POSSYNC_BENCH_THROUGHPUT_WORKERS", 64),
            throughput_pos_latency_ms: env_or("POSSYNC_BENCH_THROUGHPUT_POS_LATENCY_MS", 50),
            throughput_orders: env_or("POSSYNC_BENCH_THROUGHPUT_ORDERS", 5000),
            clients: env_or("POSSYNC_BENCH_CLIENTS", 32),
            logs: env_or("POSSYNC_BENCH_LOGS", 1_000_000),
            queries: env_or("POSSYNC_BENCH_QUERIES", 300),
            starts: env_or("POSSYNC_BENCH_STARTS", 5),
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "pos_latency_ms": self.pos_latency_ms,
            "failure_rate": self.failure_rate,
            "fixed_rate_per_s": self.rate,
            "fixed_rate_secs": self.rate_secs,
            "default_workers_secs": self.default_rate_secs,
            "latency_sync_workers": self.latency_workers,
            "retry_orders": self.retry_orders,
            "recovery_kill_after_s": self.recovery_kill_after_s,
            "recovery_pos_latency_ms": self.recovery_pos_latency_ms,
            "throughput_sync_workers": self.throughput_workers,
            "throughput_pos_latency_ms": self.throughput_pos_latency_ms,
            "throughput_orders": self.throughput_orders,
            "http_clients": self.clients,
            "sync_logs_inserted": self.logs,
            "queries_per_endpoint": self.queries,
            "fresh_starts": self.starts,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Clocks

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Milliseconds since the benchmark started (monotonic; shared by the clients and the mock).
fn now_ms() -> f64 {
    EPOCH.get_or_init(Instant::now).elapsed().as_secs_f64() * 1000.0
}

/// Unix time in milliseconds (to compare with possync's timestamps).
fn wall_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
        * 1000.0
}

fn parse_ts(text: &str) -> Option<f64> {
    text.parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_millisecond() as f64)
}

// ---------------------------------------------------------------------------------------------
// Statistics

#[derive(Debug, Clone, Copy, Default)]
struct Dist {
    n: usize,
    min: f64,
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
    mean: f64,
}

impl Dist {
    fn of(mut values: Vec<f64>) -> Dist {
        values.retain(|v| v.is_finite());
        if values.is_empty() {
            return Dist::default();
        }
        values.sort_by(f64::total_cmp);
        let n = values.len();
        // Nearest rank.
        let at = |q: f64| values[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
        Dist {
            n,
            min: values[0],
            p50: at(0.50),
            p95: at(0.95),
            p99: at(0.99),
            max: values[n - 1],
            mean: values.iter().sum::<f64>() / n as f64,
        }
    }

    fn to_json(self) -> Value {
        let r = |v: f64| (v * 100.0).round() / 100.0;
        json!({"n": self.n, "min": r(self.min), "p50": r(self.p50), "p95": r(self.p95),
               "p99": r(self.p99), "max": r(self.max), "mean": r(self.mean)})
    }

    fn short(&self) -> String {
        format!(
            "p50 {:.1} / p95 {:.1} / p99 {:.1} / max {:.1} ms (n={})",
            self.p50, self.p95, self.p99, self.max, self.n
        )
    }
}

// ---------------------------------------------------------------------------------------------
// The mock Square

#[derive(Debug, Clone, Copy)]
struct Arrival {
    /// Bench clock (ms).
    at_ms: f64,
    /// Unix ms.
    wall_ms: f64,
    /// Answered 503 (a planned failure).
    failed: bool,
}

#[derive(Default)]
struct MockState {
    /// Idempotency key → Square order id.
    keys: HashMap<String, String>,
    /// reference_id (possync's order id) → Square orders created for it.
    created: HashMap<String, u32>,
    /// reference_id → every request, in order of arrival.
    arrivals: HashMap<String, Vec<Arrival>>,
    /// reference_id → when the first 2xx answer went out (bench ms).
    answered: HashMap<String, f64>,
    /// Distinct client sockets (= TCP connections possync opened) since the last reset.
    remotes: HashSet<SocketAddr>,
    requests: u64,
    key_mismatches: u64,
}

struct Mock {
    latency_ms: AtomicU64,
    /// Failure probability in parts per million.
    failure_ppm: AtomicU64,
    /// Answer 503 to the first request of every reference_id.
    fail_first: AtomicBool,
    seq: AtomicU64,
    state: Mutex<MockState>,
}

impl Mock {
    fn set_latency(&self, ms: u64) {
        self.latency_ms.store(ms, Ordering::SeqCst);
    }

    fn set_failure_rate(&self, rate: f64) {
        self.failure_ppm
            .store((rate.clamp(0.0, 1.0) * 1e6) as u64, Ordering::SeqCst);
    }

    fn set_fail_first(&self, on: bool) {
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

    fn lock(&self) -> std::sync::MutexGuard<'_, MockState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn reset_connections(&self) {
        self.lock().remotes.clear();
    }
}

#[handler]
async fn create_order(req: &Request, body: Json<Value>, Data(mock): Data<&Arc<Mock>>) -> Response {
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
            mock.lock().answered.entry(reference.clone()).or_insert(now_ms());
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

/// Start the mock on 127.0.0.1 (free port) in its own runtime; returns it and its base URL.
fn start_mock(runtime: &tokio::runtime::Runtime) -> (Arc<Mock>, String) {
    let mock = Arc::new(Mock {
        latency_ms: AtomicU64::new(20),
        failure_ppm: AtomicU64::new(0),
        fail_first: AtomicBool::new(false),
        seq: AtomicU64::new(1),
        state: Mutex::new(MockState::default()),
    });
    let app = Route::new()
        .at("/v2/orders", post(create_order))
        .data(mock.clone());
    let addr = runtime.block_on(async {
        let acceptor = TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .expect("mock square: bind");
        let addr = acceptor
            .local_addr()
            .first()
            .and_then(|a| a.as_socket_addr().copied())
            .expect("mock square: address");
        tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app));
        addr
    });
    (mock, format!("http://{addr}"))
}

// ---------------------------------------------------------------------------------------------
// HTTP client

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

fn read_answer(sent: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> (u16, Value) {
    match sent {
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            let text = resp.body_mut().read_to_string().unwrap_or_default();
            (status, serde_json::from_str(&text).unwrap_or(Value::Null))
        }
        Err(_) => (0, Value::Null),
    }
}

fn http_post(agent: &ureq::Agent, url: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut req = agent.post(url).header("Content-Type", "application/json");
    if let Some(token) = token {
        req = req.header("Authorization", format!("Bearer {token}"));
    }
    read_answer(req.send(body.to_string()))
}

fn http_get(agent: &ureq::Agent, url: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = agent.get(url);
    if let Some(token) = token {
        req = req.header("Authorization", format!("Bearer {token}"));
    }
    read_answer(req.call())
}

fn expect(what: &str, (status, body): (u16, Value), want: u16) -> Value {
    assert_eq!(status, want, "{what}: HTTP {status}: {body}");
    body["data"].clone()
}

// ---------------------------------------------------------------------------------------------
// The possync process

/// The release binary Cargo built for this bench (`target/release/possync`), or
/// `POSSYNC_BENCH_BINARY` to measure another build (e.g. one with other profile settings).
fn binary() -> PathBuf {
    std::env::var_os("POSSYNC_BENCH_BINARY").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_possync")),
        PathBuf::from,
    )
}

/// `POSSYNC_BENCH_EXTRA_ARGS`: flags added to every `possync serve`, for flags the benchmark
/// does not set itself (e.g. `--db-connections 32`, `--log warn`).
fn extra_args() -> Vec<String> {
    std::env::var("POSSYNC_BENCH_EXTRA_ARGS")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// A running `possync serve`.
struct Service {
    child: Child,
    port: u16,
    log: PathBuf,
    spawned: Instant,
}

impl Service {
    fn start(data_dir: &Path, port: u16, args: &[String]) -> Service {
        let log = data_dir.with_extension("log");
        let stderr = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("log file");
        let mut cmd = Command::new(binary());
        cmd.arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(data_dir)
            .args(args)
            .args(extra_args())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        for (name, _) in std::env::vars() {
            if name.starts_with("POSSYNC_") {
                cmd.env_remove(name);
            }
        }
        let spawned = Instant::now();
        let child = cmd.spawn().expect("spawn possync");
        Service {
            child,
            port,
            log,
            spawned,
        }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn api(&self) -> String {
        format!("{}/api/v1", self.base())
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Poll `/readyz` every millisecond; the time from spawn to the first 200.
    fn wait_ready(&mut self) -> Duration {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(2)))
            .build()
            .into();
        let url = format!("{}/readyz", self.base());
        loop {
            if let Ok(resp) = agent.get(&url).call()
                && resp.status().as_u16() == 200
            {
                return self.spawned.elapsed();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "possync exited ({status}) before it was ready:\n{}",
                    self.log_tail()
                );
            }
            assert!(
                self.spawned.elapsed() < Duration::from_secs(60),
                "possync not ready after 60 s:\n{}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// (VmRSS, VmHWM) in KiB.
    fn rss_kb(&self) -> (u64, u64) {
        rss_of(self.pid())
    }

    /// User + system CPU seconds used so far.
    fn cpu_secs(&self) -> f64 {
        process_cpu_secs(&format!("/proc/{}/stat", self.pid()))
    }

    /// SIGKILL, and reap.
    fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM (graceful: in-flight requests and pushes finish), and wait.
    fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        eprintln!("possync did not stop within 30 s of SIGTERM; killing it");
        self.kill9();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill9();
        }
    }
}

/// A field of /proc/<pid>/status in KiB (0 when absent).
fn status_kb(pid: u32, name: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// User + system CPU seconds of the process whose `stat` file this is.
fn process_cpu_secs(stat: &str) -> f64 {
    let stat = std::fs::read_to_string(stat).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at field 3.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / clock_ticks()
}

/// Busy CPU seconds of the whole machine so far (all cores; /proc/stat minus idle and iowait).
fn machine_busy_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: f64 = fields.iter().take(8).sum();
    let idle = fields.get(3).unwrap_or(&0.0) + fields.get(4).unwrap_or(&0.0);
    (total - idle) / clock_ticks()
}

fn rss_of(pid: u32) -> (u64, u64) {
    (status_kb(pid, "VmRSS:"), status_kb(pid, "VmHWM:"))
}

/// Samples VmRSS every 100 ms until finished; the maximum seen.
struct RssSampler {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<u64>,
}

impl RssSampler {
    fn start(pid: u32) -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut max = 0;
            while !flag.load(Ordering::Relaxed) {
                max = max.max(rss_of(pid).0);
                std::thread::sleep(Duration::from_millis(100));
            }
            max
        });
        RssSampler { stop, handle }
    }

    fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap_or(0)
    }
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

// ---------------------------------------------------------------------------------------------
// Setting up a seller, a business, dishes and the Square connection

#[derive(Clone)]
struct Shop {
    api: String,
    token: String,
    business: String,
    dishes: [String; 2],
}

fn setup(svc: &Service) -> Shop {
    let api = svc.api();
    let agent = agent();
    let email = "bench@possync.test";
    let password = "bench password 1";
    expect(
        "register",
        http_post(
            &agent,
            &format!("{api}/auth/register"),
            None,
            &json!({"email": email, "password": password, "name": "Bench"}),
        ),
        201,
    );
    let login = expect(
        "login",
        http_post(
            &agent,
            &format!("{api}/auth/login"),
            None,
            &json!({"email": email, "password": password}),
        ),
        200,
    );
    let token = login["token"].as_str().expect("token").to_string();
    let business = expect(
        "create business",
        http_post(
            &agent,
            &format!("{api}/businesses"),
            Some(&token),
            &json!({"name": "Bench Bistro", "currency": "INR", "timezone": "Asia/Kolkata"}),
        ),
        201,
    )["business"]["id"]
        .as_str()
        .expect("business id")
        .to_string();
    let dish = |name: &str, price: i64| {
        expect(
            "create dish",
            http_post(
                &agent,
                &format!("{api}/businesses/{business}/dishes"),
                Some(&token),
                &json!({"name": name, "price": price}),
            ),
            201,
        )["dish"]["id"]
            .as_str()
            .expect("dish id")
            .to_string()
    };
    let dishes = [
        dish("Paneer Butter Masala", 30000),
        dish("Butter Naan", 6000),
    ];
    expect(
        "connect square",
        http_post(
            &agent,
            &format!("{api}/pos/connect"),
            Some(&token),
            &json!({"business_id": business, "provider": "square",
                    "access_token": "bench-square-token", "location_id": "LBENCH0001"}),
        ),
        200,
    );
    Shop {
        api,
        token,
        business,
        dishes,
    }
}

fn order_body(shop: &Shop, n: usize) -> Value {
    json!({
        "business_id": shop.business,
        "customer_name": format!("Bench guest {n}"),
        "customer_phone": "+919876543210",
        "special_instructions": "Ring the bell twice",
        "items": [
            {"dish_id": shop.dishes[0], "quantity": 2, "note": "Extra spicy"},
            {"dish_id": shop.dishes[1], "quantity": 3},
        ],
    })
}

#[derive(Debug, Clone, Default)]
struct Stats {
    total: i64,
    success: i64,
    failed: i64,
}

fn stats(agent: &ureq::Agent, shop: &Shop) -> Option<Stats> {
    let (status, body) = http_get(
        agent,
        &format!("{}/pos/stats/{}", shop.api, shop.business),
        Some(&shop.token),
    );
    if status != 200 {
        return None;
    }
    let s = &body["data"]["stats"];
    let n = |k: &str| s[k].as_i64().unwrap_or(0);
    Some(Stats {
        total: n("total_syncs"),
        success: n("successful_syncs"),
        failed: n("failed_syncs"),
    })
}

/// Poll `f` every `every` until it holds or `timeout` passes; the time it took.
fn wait_until(timeout: Duration, every: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if f() {
            return Some(start.elapsed());
        }
        if start.elapsed() > timeout {
            return None;
        }
        std::thread::sleep(every);
    }
}

// ---------------------------------------------------------------------------------------------
// Driving orders

#[derive(Debug, Clone)]
struct Sent {
    /// Bench ms when the request went out (the order's creation time, client side).
    sent_ms: f64,
    /// How late the send was against its slot (fixed rate), ms.
    lag_ms: f64,
    /// Bench ms when the answer was read.
    done_ms: f64,
    status: u16,
    order_id: Option<String>,
    log_id: Option<String>,
}

impl Sent {
    fn intake_ms(&self) -> f64 {
        self.done_ms - self.sent_ms
    }
}

#[derive(Debug, Clone, Copy)]
enum Plan {
    /// `count` orders, one every 1/rate seconds (open loop).
    Rate { rate: f64, count: usize },
    /// As fast as the clients go: `count` orders or until `within` passes.
    Max { count: usize, within: Duration },
}

struct Driven {
    sent: Vec<Sent>,
    secs: f64,
}

impl Driven {
    fn acked(&self) -> impl Iterator<Item = &Sent> {
        self.sent.iter().filter(|s| s.status == 201)
    }

    fn acked_ids(&self) -> Vec<String> {
        self.acked().filter_map(|s| s.order_id.clone()).collect()
    }

    fn errors(&self) -> usize {
        self.sent.iter().filter(|s| s.status != 201).count()
    }

    fn intake(&self) -> Dist {
        Dist::of(self.acked().map(Sent::intake_ms).collect())
    }

    fn throughput(&self) -> f64 {
        self.acked().count() as f64 / self.secs.max(1e-9)
    }
}

fn drive(shop: &Shop, plan: Plan, clients: usize, stop: &AtomicBool) -> Driven {
    let count = match plan {
        Plan::Rate { count, .. } | Plan::Max { count, .. } => count,
    };
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(count));
    let url = format!("{}/orders", shop.api);
    let start = Instant::now();
    let start_ms = now_ms();
    std::thread::scope(|s| {
        for _ in 0..clients {
            s.spawn(|| {
                let agent = agent();
                let mut local = Vec::new();
                loop {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    let slot_ms = match plan {
                        Plan::Rate { rate, .. } => {
                            let slot = start + Duration::from_secs_f64(i as f64 / rate);
                            while Instant::now() < slot {
                                if stop.load(Ordering::Relaxed) {
                                    break;
                                }
                                std::thread::sleep(
                                    slot.saturating_duration_since(Instant::now())
                                        .min(Duration::from_millis(50)),
                                );
                            }
                            if stop.load(Ordering::Relaxed) {
                                break;
                            }
                            start_ms + i as f64 * 1000.0 / rate
                        }
                        Plan::Max { within, .. } => {
                            if start.elapsed() > within {
                                break;
                            }
                            now_ms()
                        }
                    };
                    let body = order_body(shop, i);
                    let sent_ms = now_ms();
                    let (status, answer) = http_post(&agent, &url, Some(&shop.token), &body);
                    let done_ms = now_ms();
                    let data = &answer["data"];
                    local.push(Sent {
                        sent_ms,
                        lag_ms: sent_ms - slot_ms,
                        done_ms,
                        status,
                        order_id: data["order"]["id"].as_str().map(str::to_string),
                        log_id: data["sync_log"]["id"].as_str().map(str::to_string),
                    });
                }
                results
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .extend(local);
            });
        }
    });
    let sent = results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let last = sent.iter().map(|s| s.done_ms).fold(start_ms, f64::max);
    Driven {
        sent,
        secs: (last - start_ms) / 1000.0,
    }
}

/// Wait until the mock answered 2xx for every one of `ids`.
fn wait_delivered(mock: &Mock, ids: &[String], timeout: Duration) -> Option<Duration> {
    wait_until(timeout, Duration::from_millis(20), || {
        let state = mock.lock();
        ids.iter().all(|id| state.answered.contains_key(id))
    })
}

/// Created → POS received (first successful arrival) and created → POS answered, in ms.
fn end_to_end(mock: &Mock, driven: &Driven) -> (Dist, Dist) {
    let state = mock.lock();
    let mut received = Vec::new();
    let mut answered = Vec::new();
    for s in driven.acked() {
        let Some(id) = &s.order_id else { continue };
        if let Some(a) = state
            .arrivals
            .get(id)
            .and_then(|v| v.iter().find(|a| !a.failed))
        {
            received.push(a.at_ms - s.sent_ms);
        }
        if let Some(t) = state.answered.get(id) {
            answered.push(t - s.sent_ms);
        }
    }
    (Dist::of(received), Dist::of(answered))
}

// ---------------------------------------------------------------------------------------------
// Report

struct Row {
    section: &'static str,
    metric: String,
    value: String,
    goal: String,
    pass: Option<bool>,
}

/// The table's sections, in order.
const SECTIONS: &[&str] = &[
    "footprint",
    "start-up",
    "intake (POST /orders)",
    "order → POS at 200/s",
    "delivery throughput",
    "retries",
    "recovery after kill -9",
    "history and stats at 1M logs",
];

#[derive(Default)]
struct Report {
    rows: Vec<Row>,
    json: Map<String, Value>,
    goals: Vec<Value>,
}

impl Report {
    fn info(&mut self, section: &'static str, metric: impl Into<String>, value: impl Into<String>) {
        self.rows.push(Row {
            section,
            metric: metric.into(),
            value: value.into(),
            goal: String::new(),
            pass: None,
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn goal(
        &mut self,
        section: &'static str,
        metric: impl Into<String>,
        value: f64,
        unit: &str,
        goal: f64,
        at_most: bool,
        shown: impl Into<String>,
    ) {
        let metric = metric.into();
        let pass = if at_most {
            value <= goal
        } else {
            value >= goal
        };
        let goal_text = format!("{} {goal} {unit}", if at_most { "≤" } else { "≥" });
        self.goals.push(json!({
            "metric": metric, "value": (value * 100.0).round() / 100.0, "unit": unit,
            "goal": goal_text, "pass": pass,
        }));
        self.rows.push(Row {
            section,
            metric,
            value: shown.into(),
            goal: goal_text,
            pass: Some(pass),
        });
    }

    fn check(&mut self, section: &'static str, metric: &str, ok: bool, shown: String, goal: &str) {
        self.goals
            .push(json!({"metric": metric, "value": shown, "goal": goal, "pass": ok}));
        self.rows.push(Row {
            section,
            metric: metric.into(),
            value: shown,
            goal: goal.into(),
            pass: Some(ok),
        });
    }

    fn put(&mut self, key: &str, value: Value) {
        self.json.insert(key.into(), value);
    }

    fn print(&self) {
        let w_metric = self
            .rows
            .iter()
            .map(|r| r.metric.chars().count())
            .max()
            .unwrap_or(10);
        let w_value = self
            .rows
            .iter()
            .map(|r| r.value.chars().count())
            .max()
            .unwrap_or(10);
        let w_goal = self
            .rows
            .iter()
            .map(|r| r.goal.chars().count())
            .max()
            .unwrap_or(4);
        let pad =
            |s: &str, w: usize| format!("{s}{}", " ".repeat(w.saturating_sub(s.chars().count())));
        let order = |section: &str| {
            SECTIONS
                .iter()
                .position(|s| *s == section)
                .unwrap_or(SECTIONS.len())
        };
        let mut rows: Vec<&Row> = self.rows.iter().collect();
        rows.sort_by_key(|r| order(r.section));
        let mut section = "";
        println!();
        println!(
            "{} | {} | {} | verdict",
            pad("metric", w_metric),
            pad("value", w_value),
            pad("goal", w_goal)
        );
        for row in rows {
            if row.section != section {
                section = row.section;
                println!("-- {section}");
            }
            let verdict = match row.pass {
                Some(true) => "PASS",
                Some(false) => "MISS",
                None => "",
            };
            println!(
                "{} | {} | {} | {verdict}",
                pad(&row.metric, w_metric),
                pad(&row.value, w_value),
                pad(&row.goal, w_goal)
            );
        }
        let passed = self
            .goals
            .iter()
            .filter(|g| g["pass"] == json!(true))
            .count();
        println!();
        println!("goals met: {passed} of {}", self.goals.len());
    }
}

fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown", |(_, v)| v.trim())
        .to_string();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let ram_kb: u64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_string();
    json!({
        "loadavg_at_start": loadavg(),
        "nproc": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "cpu": cpu,
        "ram_gib": ((ram_kb as f64 / 1024.0 / 1024.0) * 10.0).round() / 10.0,
        "kernel": kernel,
        "fdatasync_ms": fdatasync_ms(),
    })
}

/// /proc/loadavg's 1-minute figure (other work on the machine skews every timing).
fn loadavg() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(f64::NAN)
}

/// What one `fdatasync` of a 4 KiB append costs on the temp directory's disk (median of 100).
fn fdatasync_ms() -> f64 {
    use std::io::Write;
    let Ok(dir) = tempfile::tempdir() else {
        return f64::NAN;
    };
    let Ok(mut file) = std::fs::File::create(dir.path().join("probe")) else {
        return f64::NAN;
    };
    let mut times = Vec::new();
    for _ in 0..100 {
        let t = Instant::now();
        if file.write_all(&[0u8; 4096]).is_err() || file.sync_data().is_err() {
            return f64::NAN;
        }
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    (Dist::of(times).p50 * 1000.0).round() / 1000.0
}

// ---------------------------------------------------------------------------------------------
// Phases

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Binary size, as built and stripped.
fn phase_binary(report: &mut Report) {
    let bin = binary();
    let built = std::fs::metadata(&bin).map(|m| m.len()).unwrap_or(0);
    let dir = tempfile::tempdir().expect("tempdir");
    let copy = dir.path().join("possync");
    let stripped = std::fs::copy(&bin, &copy)
        .ok()
        .filter(|_| {
            Command::new("strip")
                .arg(&copy)
                .status()
                .is_ok_and(|s| s.success())
        })
        .and_then(|_| std::fs::metadata(&copy).ok())
        .map_or(built, |m| m.len());
    let mib = stripped as f64 / 1024.0 / 1024.0;
    println!(
        "binary {}: {built} bytes as built, {stripped} bytes stripped",
        bin.display()
    );
    report.put(
        "binary",
        json!({"path": bin.display().to_string(), "bytes": built, "stripped_bytes": stripped}),
    );
    report.goal(
        "footprint",
        "stripped binary size",
        mib,
        "MiB",
        GOAL_BINARY_MB,
        true,
        format!("{mib:.2} MiB"),
    );
}

/// Start-up to ready on fresh data directories, a restart, and idle RSS (default settings).
fn phase_startup(cfg: &Config, root: &Path, mock_url: &str, report: &mut Report) {
    let mut fresh = Vec::new();
    let mut idle = (0, 0);
    let mut idle_parts = (0, 0, 0);
    let mut restart_ms = 0.0;
    for i in 0..cfg.starts.max(1) {
        let dir = root.join(format!("start-{i}"));
        let flags = args(&["--square-base-url", mock_url]);
        let mut svc = Service::start(&dir, free_port(), &flags);
        fresh.push(svc.wait_ready().as_secs_f64() * 1000.0);
        if i + 1 == cfg.starts.max(1) {
            std::thread::sleep(Duration::from_secs(2));
            idle = svc.rss_kb();
            idle_parts = (
                status_kb(svc.pid(), "RssAnon:"),
                status_kb(svc.pid(), "RssFile:"),
                status_kb(svc.pid(), "Threads:"),
            );
            svc.stop();
            let mut again = Service::start(&dir, free_port(), &flags);
            restart_ms = again.wait_ready().as_secs_f64() * 1000.0;
            again.stop();
        } else {
            svc.stop();
        }
    }
    let dist = Dist::of(fresh.clone());
    println!(
        "start-up to ready (fresh data dir): {} ; restart on existing data: {restart_ms:.1} ms",
        dist.short()
    );
    println!(
        "idle RSS (default settings, 2 s after ready): {:.1} MiB = {:.1} MiB anonymous + {:.1} MiB file-backed (the binary's pages); {} threads",
        mb(idle.0),
        mb(idle_parts.0),
        mb(idle_parts.1),
        idle_parts.2
    );
    report.put(
        "startup",
        json!({"fresh_ready_ms": fresh, "fresh": dist.to_json(), "restart_ready_ms": restart_ms,
               "idle_rss_kib": idle.0, "idle_hwm_kib": idle.1, "idle_rss_anon_kib": idle_parts.0,
               "idle_rss_file_kib": idle_parts.1, "idle_threads": idle_parts.2}),
    );
    report.goal(
        "start-up",
        format!("spawn → /readyz 200, fresh data dir (worst of {})", dist.n),
        dist.max,
        "ms",
        GOAL_READY_MS,
        true,
        format!("{:.1} ms (p50 {:.1})", dist.max, dist.p50),
    );
    report.info(
        "start-up",
        "spawn → /readyz 200, existing data dir",
        format!("{restart_ms:.1} ms"),
    );
    report.goal(
        "footprint",
        "idle RSS (default: 4 workers, 8 connections)",
        mb(idle.0),
        "MiB",
        GOAL_IDLE_RSS_MB,
        true,
        format!(
            "{:.1} MiB ({:.1} anon + {:.1} file)",
            mb(idle.0),
            mb(idle_parts.0),
            mb(idle_parts.1)
        ),
    );
}

/// 200 orders/s with the default 4 workers: informational (shows whether defaults keep up).
fn phase_default_workers(
    cfg: &Config,
    root: &Path,
    mock: &Mock,
    mock_url: &str,
    report: &mut Report,
) {
    mock.set_latency(cfg.pos_latency_ms);
    let dir = root.join("default-workers");
    let mut svc = Service::start(&dir, free_port(), &args(&["--square-base-url", mock_url]));
    svc.wait_ready();
    let shop = setup(&svc);
    let count = (cfg.rate * cfg.default_rate_secs) as usize;
    let driven = drive(
        &shop,
        Plan::Rate {
            rate: cfg.rate,
            count,
        },
        cfg.clients,
        &AtomicBool::new(false),
    );
    let ids = driven.acked_ids();
    let drained = wait_delivered(mock, &ids, Duration::from_secs(120));
    let (received, _) = end_to_end(mock, &driven);
    println!(
        "default 4 workers at {} orders/s for {} s: created → POS received {} ; backlog drained {:.1} s after the last order",
        cfg.rate,
        cfg.default_rate_secs,
        received.short(),
        drained.map_or(f64::NAN, |d| d.as_secs_f64())
    );
    report.put(
        "default_workers_fixed_rate",
        json!({"sync_workers": 4, "rate": cfg.rate, "orders": ids.len(),
               "created_to_pos_received_ms": received.to_json(),
               "drained_after_last_order_s": drained.map(|d| d.as_secs_f64())}),
    );
    report.info(
        "order → POS at 200/s",
        format!(
            "created → POS received, DEFAULT 4 workers, {} orders",
            ids.len()
        ),
        format!(
            "p50 {:.1} / p99 {:.1} / max {:.1} ms",
            received.p50, received.p99, received.max
        ),
    );
    svc.stop();
}

/// The main instance: fixed rate, retries, kill -9 recovery. Durability full.
fn phase_main(cfg: &Config, root: &Path, mock: &Mock, mock_url: &str, report: &mut Report) {
    let workers = cfg.latency_workers.to_string();
    let flags = args(&[
        "--square-base-url",
        mock_url,
        "--sync-workers",
        &workers,
        "--retry-interval",
        "1s",
        "--durability",
        "full",
    ]);
    let dir = root.join("main");
    let port = free_port();
    let mut svc = Service::start(&dir, port, &flags);
    svc.wait_ready();
    let shop = setup(&svc);
    std::thread::sleep(Duration::from_secs(1));
    let idle = svc.rss_kb();

    // --- fixed rate -------------------------------------------------------------------------
    mock.set_latency(cfg.pos_latency_ms);
    mock.set_failure_rate(cfg.failure_rate);
    let count = (cfg.rate * cfg.rate_secs) as usize;
    let sampler = RssSampler::start(svc.pid());
    let cpu0 = svc.cpu_secs();
    let driven = drive(
        &shop,
        Plan::Rate {
            rate: cfg.rate,
            count,
        },
        cfg.clients,
        &AtomicBool::new(false),
    );
    let ids = driven.acked_ids();
    let drained = wait_delivered(mock, &ids, Duration::from_secs(120));
    let cpu = svc.cpu_secs() - cpu0;
    let loaded = sampler.finish();
    mock.set_failure_rate(0.0);
    let (received, answered) = end_to_end(mock, &driven);
    let intake = driven.intake();
    let lag = Dist::of(driven.sent.iter().map(|s| s.lag_ms).collect());
    println!(
        "fixed rate: {} orders at {} /s ({} workers, POS {} ms): achieved {:.1} /s, {} errors",
        ids.len(),
        cfg.rate,
        workers,
        cfg.pos_latency_ms,
        driven.throughput(),
        driven.errors()
    );
    println!("  intake {}", intake.short());
    println!("  created → POS received {}", received.short());
    println!("  created → POS answered {}", answered.short());
    println!(
        "  client send lag behind schedule: p99 {:.1} ms; possync CPU {cpu:.1} s; RSS idle {:.1} MiB, loaded max {:.1} MiB",
        lag.p99,
        mb(idle.0),
        mb(loaded)
    );
    report.put(
        "fixed_rate",
        json!({
            "sync_workers": cfg.latency_workers, "durability": "full", "rate": cfg.rate,
            "pos_latency_ms": cfg.pos_latency_ms, "failure_rate": cfg.failure_rate,
            "orders": ids.len(), "errors": driven.errors(), "achieved_per_s": driven.throughput(),
            "intake_ms": intake.to_json(), "created_to_pos_received_ms": received.to_json(),
            "created_to_pos_answered_ms": answered.to_json(), "send_lag_ms": lag.to_json(),
            "all_delivered": drained.is_some(), "possync_cpu_s": cpu,
            "idle_rss_kib": idle.0, "loaded_rss_max_kib": loaded,
        }),
    );
    report.info(
        "intake (POST /orders)",
        format!("at {} orders/s: throughput", cfg.rate),
        format!("{:.1} orders/s", driven.throughput()),
    );
    report.info(
        "intake (POST /orders)",
        format!("at {} orders/s: latency", cfg.rate),
        format!(
            "p50 {:.2} / p95 {:.2} / p99 {:.2} ms",
            intake.p50, intake.p95, intake.p99
        ),
    );
    let sec = "order → POS at 200/s";
    report.goal(
        sec,
        format!(
            "created → POS received p50 ({} workers, POS {} ms)",
            workers, cfg.pos_latency_ms
        ),
        received.p50,
        "ms",
        GOAL_E2E_P50_MS,
        true,
        format!("{:.2} ms", received.p50),
    );
    report.goal(
        sec,
        "created → POS received p99",
        received.p99,
        "ms",
        GOAL_E2E_P99_MS,
        true,
        format!("{:.2} ms", received.p99),
    );
    report.info(
        sec,
        "created → POS received p95 / max",
        format!("{:.2} / {:.2} ms", received.p95, received.max),
    );
    report.info(
        sec,
        "created → POS answered (incl. POS latency)",
        format!(
            "p50 {:.1} / p99 {:.1} / max {:.1} ms",
            answered.p50, answered.p99, answered.max
        ),
    );
    report.info(
        "footprint",
        format!("RSS idle / loaded max ({} workers, 200/s)", workers),
        format!("{:.1} / {:.1} MiB", mb(idle.0), mb(loaded)),
    );

    // --- retry precision ----------------------------------------------------------------------
    phase_retries(cfg, &shop, mock, report);

    // --- kill -9 with orders in flight ---------------------------------------------------------
    mock.set_latency(cfg.recovery_pos_latency_ms);
    let orders_before = order_ids(&dir.join("possync.db")).len();
    let stop = AtomicBool::new(false);
    let driven = std::thread::scope(|s| {
        let driver = s.spawn(|| {
            drive(
                &shop,
                Plan::Rate {
                    rate: cfg.rate,
                    count: (cfg.rate * 60.0) as usize,
                },
                cfg.clients,
                &stop,
            )
        });
        std::thread::sleep(Duration::from_secs_f64(cfg.recovery_kill_after_s));
        svc.kill9();
        stop.store(true, Ordering::Relaxed);
        driver.join().expect("driver")
    });
    let at_kill = status_counts(&dir.join("possync.db"));
    mock.set_latency(cfg.pos_latency_ms);
    let mut svc = Service::start(&dir, port, &flags);
    let ready = svc.wait_ready();
    let acked = driven.acked_ids();
    let agent = agent();
    let recovered = wait_until(Duration::from_secs(120), Duration::from_millis(10), || {
        stats(&agent, &shop).is_some_and(|s| s.success == s.total && s.total > 0) && {
            let state = mock.lock();
            acked.iter().all(|id| state.answered.contains_key(id))
        }
    });
    let recovery_s = svc.spawned.elapsed().as_secs_f64();
    let recovery_s = if recovered.is_some() {
        recovery_s
    } else {
        f64::INFINITY
    };
    // Exactly once: every order in the database made exactly one Square order.
    let all_orders = order_ids(&dir.join("possync.db"));
    let (missing, duplicated) = {
        let state = mock.lock();
        let missing = all_orders
            .iter()
            .filter(|id| !state.created.contains_key(*id))
            .count();
        let duplicated = state.created.values().filter(|n| **n > 1).count();
        (missing, duplicated)
    };
    // Orders committed whose 201 the client never read (cut off by the kill).
    let extra_unacked = all_orders.len().saturating_sub(orders_before + acked.len());
    let mismatches = mock.lock().key_mismatches;
    println!(
        "kill -9 after {} s at {} /s (POS {} ms): {} acknowledged, {} cut off; at the kill the db held {} pending, {} syncing",
        cfg.recovery_kill_after_s,
        cfg.rate,
        cfg.recovery_pos_latency_ms,
        acked.len(),
        driven.errors(),
        at_kill.get("pending").unwrap_or(&0),
        at_kill.get("syncing").unwrap_or(&0)
    );
    println!(
        "  restart → ready {:.1} ms; restart → all delivered {:.2} s; {} orders in the db: {} missing at the POS, {} duplicated, {} key mismatches",
        ready.as_secs_f64() * 1000.0,
        recovery_s,
        all_orders.len(),
        missing,
        duplicated,
        mismatches
    );
    report.put(
        "recovery",
        json!({
            "kill_after_s": cfg.recovery_kill_after_s, "pos_latency_ms": cfg.recovery_pos_latency_ms,
            "acknowledged": acked.len(), "cut_off_requests": driven.errors(),
            "committed_unacknowledged": extra_unacked, "db_at_kill": at_kill,
            "restart_ready_ms": ready.as_secs_f64() * 1000.0, "restart_to_all_delivered_s": recovery_s,
            "orders_in_db": all_orders.len(), "missing_at_pos": missing,
            "duplicated_at_pos": duplicated, "idempotency_key_mismatches": mismatches,
        }),
    );
    let sec = "recovery after kill -9";
    report.goal(
        sec,
        format!(
            "restart → all delivered ({} in flight: {} syncing, {} pending)",
            at_kill.get("syncing").unwrap_or(&0) + at_kill.get("pending").unwrap_or(&0),
            at_kill.get("syncing").unwrap_or(&0),
            at_kill.get("pending").unwrap_or(&0)
        ),
        recovery_s,
        "s",
        GOAL_RECOVERY_S,
        true,
        format!("{recovery_s:.2} s"),
    );
    report.check(
        sec,
        "each order at the POS exactly once",
        missing == 0 && duplicated == 0 && mismatches == 0,
        format!(
            "{} orders: {missing} missing, {duplicated} duplicated",
            all_orders.len()
        ),
        "0 missing, 0 duplicated",
    );
    svc.stop();
}

/// Every first attempt answered 503; `--retry-interval 1s`; second arrival vs `next_retry_at`.
fn phase_retries(cfg: &Config, shop: &Shop, mock: &Mock, report: &mut Report) {
    mock.set_latency(cfg.pos_latency_ms);
    mock.set_fail_first(true);
    let polled: Mutex<HashMap<String, f64>> = Mutex::new(HashMap::new());
    let done = AtomicBool::new(false);
    let driven = std::thread::scope(|s| {
        // Watch the retry queue: next_retry_at of each log while it waits.
        s.spawn(|| {
            let agent = agent();
            while !done.load(Ordering::Relaxed) {
                let mut offset = 0;
                loop {
                    let (status, body) = http_get(
                        &agent,
                        &format!(
                            "{}/pos/history/{}?status=retry&limit=200&offset={offset}",
                            shop.api, shop.business
                        ),
                        Some(&shop.token),
                    );
                    if status != 200 {
                        break;
                    }
                    let logs = body["data"]["logs"].as_array().cloned().unwrap_or_default();
                    let mut seen = polled
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    for log in &logs {
                        if let (Some(order), Some(at)) = (
                            log["order_id"].as_str(),
                            log["next_retry_at"].as_str().and_then(parse_ts),
                        ) {
                            seen.insert(order.to_string(), at);
                        }
                    }
                    if logs.len() < 200 {
                        break;
                    }
                    offset += 200;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let driven = drive(
            shop,
            Plan::Rate {
                rate: (cfg.rate / 2.0).max(1.0),
                count: cfg.retry_orders,
            },
            16,
            &AtomicBool::new(false),
        );
        let ids = driven.acked_ids();
        wait_until(Duration::from_secs(60), Duration::from_millis(20), || {
            let state = mock.lock();
            ids.iter().all(|id| state.answered.contains_key(id))
        });
        done.store(true, Ordering::Relaxed);
        driven
    });
    mock.set_fail_first(false);
    let polled = polled
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // Fallback when the poller missed a log: attempt 1's end + the interval.
    let agent = agent();
    let mut late = Vec::new();
    let mut from_attempts = 0;
    let mut never_retried = 0;
    for s in driven.acked() {
        let (Some(order), Some(log)) = (&s.order_id, &s.log_id) else {
            continue;
        };
        let second = mock
            .lock()
            .arrivals
            .get(order)
            .and_then(|a| a.get(1).copied());
        let Some(second) = second else {
            never_retried += 1;
            continue;
        };
        let due = polled.get(order).copied().or_else(|| {
            from_attempts += 1;
            let (_, body) = http_get(
                &agent,
                &format!("{}/pos/sync-logs/{log}/attempts", shop.api),
                Some(&shop.token),
            );
            let first = &body["data"]["attempts"][0];
            let started = first["started_at"].as_str().and_then(parse_ts)?;
            Some(started + first["duration_ms"].as_f64()? + 1000.0)
        });
        if let Some(due) = due {
            late.push(second.wall_ms - due);
        }
    }
    let dist = Dist::of(late);
    println!(
        "retries: {} orders failed once (503), --retry-interval 1s: second attempt vs next_retry_at {} (min {:.1}); {} due times from the attempts, {} never retried",
        driven.acked().count(),
        dist.short(),
        dist.min,
        from_attempts,
        never_retried
    );
    report.put(
        "retries",
        json!({"orders": driven.acked().count(), "retry_interval_s": 1,
               "lateness_ms": dist.to_json(), "due_from_history": dist.n.saturating_sub(from_attempts),
               "due_from_attempts": from_attempts, "never_retried": never_retried}),
    );
    report.goal(
        "retries",
        format!("retry fires after next_retry_at, p99 ({} retries)", dist.n),
        if never_retried > 0 {
            f64::INFINITY
        } else {
            dist.p99
        },
        "ms",
        GOAL_RETRY_LATE_P99_MS,
        true,
        format!(
            "{:.1} ms (p50 {:.1}, max {:.1})",
            dist.p99, dist.p50, dist.max
        ),
    );
}

fn status_counts(db: &Path) -> HashMap<String, i64> {
    let conn = rusqlite::Connection::open(db).expect("open db");
    let mut stmt = conn
        .prepare("SELECT status, count(*) FROM sync_logs GROUP BY status")
        .expect("prepare");
    stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .expect("query")
        .collect::<rusqlite::Result<HashMap<_, _>>>()
        .expect("rows")
}

fn order_ids(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).expect("open db");
    conn.busy_timeout(Duration::from_secs(10)).expect("busy");
    let mut stmt = conn.prepare("SELECT id FROM orders").expect("prepare");
    stmt.query_map([], |r| r.get::<_, String>(0))
        .expect("query")
        .collect::<rusqlite::Result<Vec<_>>>()
        .expect("rows")
}

/// A backlog made at the maximum intake rate (one worker held by the mock), then drained by
/// many workers against a 50 ms POS. Returns the data directory and the shop (for phase 7).
fn phase_throughput(
    cfg: &Config,
    root: &Path,
    durability: &str,
    mock: &Mock,
    mock_url: &str,
    report: &mut Report,
) -> (PathBuf, Shop) {
    let dir = root.join(format!("throughput-{durability}"));
    let port = free_port();
    let mut svc = Service::start(
        &dir,
        port,
        &args(&[
            "--square-base-url",
            mock_url,
            "--sync-workers",
            "1",
            "--provider-timeout",
            "900s",
            "--durability",
            durability,
        ]),
    );
    svc.wait_ready();
    let shop = setup(&svc);
    mock.set_latency(HOLD_MS);

    // Intake at the maximum rate: only the HTTP handlers write (the one worker is held).
    let cpu0 = svc.cpu_secs();
    let driven = drive(
        &shop,
        Plan::Max {
            count: cfg.throughput_orders,
            within: Duration::from_secs(30),
        },
        cfg.clients,
        &AtomicBool::new(false),
    );
    let intake_cpu = svc.cpu_secs() - cpu0;
    let intake = driven.intake();
    let acked = driven.acked_ids();
    svc.kill9();

    // Drain with many workers.
    mock.set_latency(cfg.throughput_pos_latency_ms);
    mock.reset_connections();
    let workers = cfg.throughput_workers.to_string();
    let flags = args(&[
        "--square-base-url",
        mock_url,
        "--sync-workers",
        &workers,
        "--durability",
        durability,
    ]);
    let restart_ms = now_ms();
    let (busy0, bench0) = (machine_busy_secs(), process_cpu_secs("/proc/self/stat"));
    let mut svc = Service::start(&dir, port, &flags);
    let sampler = RssSampler::start(svc.pid());
    svc.wait_ready();
    let agent = agent();
    let mut last = Stats::default();
    let drained = wait_until(Duration::from_secs(300), Duration::from_millis(10), || {
        stats(&agent, &shop).is_some_and(|s| {
            last = s.clone();
            s.success + s.failed == s.total
        })
    });
    let (total, failed) = (last.total, last.failed);
    let done_ms = now_ms();
    let cpu = svc.cpu_secs();
    let busy = machine_busy_secs() - busy0;
    let bench_cpu = process_cpu_secs("/proc/self/stat") - bench0;
    let wall = (done_ms - restart_ms) / 1000.0;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let loaded = sampler.finish();
    let (first, last, delivered, connections, duplicated) = {
        let state = mock.lock();
        let mut first = f64::INFINITY;
        let mut last: f64 = 0.0;
        let mut delivered = 0;
        for id in &acked {
            if let Some(a) = state
                .arrivals
                .get(id)
                .and_then(|v| v.iter().find(|a| a.at_ms >= restart_ms))
            {
                first = first.min(a.at_ms);
            }
            if let Some(t) = state.answered.get(id) {
                delivered += 1;
                last = last.max(*t);
            }
        }
        let duplicated = acked
            .iter()
            .filter(|id| state.created.get(*id).is_some_and(|n| *n > 1))
            .count();
        (first, last, delivered, state.remotes.len(), duplicated)
    };
    let committed_rate = if drained.is_some() {
        total as f64 / ((done_ms - first) / 1000.0)
    } else {
        0.0
    };
    let pos_rate = delivered as f64 / ((last - first) / 1000.0).max(1e-9);
    println!(
        "durability {durability}: max-rate intake {} orders in {:.2} s = {:.1} orders/s ({} clients), {} ; possync CPU {:.1} s",
        acked.len(),
        driven.secs,
        driven.throughput(),
        cfg.clients,
        intake.short(),
        intake_cpu
    );
    println!(
        "  drain with {workers} workers vs {} ms POS: {total} logs done ({failed} failed) in {:.2} s after the first push = {committed_rate:.0} deliveries/s (POS side {pos_rate:.0}/s); possync CPU {cpu:.1} s ({:.2} ms CPU per order); {connections} TCP connections for {delivered} pushes; loaded RSS max {:.1} MiB; {duplicated} duplicated",
        cfg.throughput_pos_latency_ms,
        (done_ms - first) / 1000.0,
        cpu * 1000.0 / total.max(1) as f64,
        mb(loaded)
    );
    println!(
        "  CPU from restart to drained ({wall:.2} s): machine {:.0} % of {cores} cores busy; possync {:.2} cores, benchmark (mock + clients) {:.2} cores, other processes {:.2} cores",
        100.0 * busy / (wall * cores),
        cpu / wall,
        bench_cpu / wall,
        (busy - cpu - bench_cpu).max(0.0) / wall
    );
    report.put(
        &format!("throughput_{durability}"),
        json!({
            "durability": durability, "clients": cfg.clients,
            "intake_orders": acked.len(), "intake_errors": driven.errors(),
            "intake_per_s": driven.throughput(), "intake_ms": intake.to_json(),
            "intake_possync_cpu_s": intake_cpu,
            "sync_workers": cfg.throughput_workers, "pos_latency_ms": cfg.throughput_pos_latency_ms,
            "logs": total, "failed": failed, "drained": drained.is_some(),
            "deliveries_per_s": committed_rate, "pos_side_deliveries_per_s": pos_rate,
            "drain_s": (done_ms - first) / 1000.0, "drain_possync_cpu_s": cpu,
            "drain_bench_cpu_s": bench_cpu, "drain_machine_busy_cpu_s": busy,
            "drain_wall_s": wall,
            "tcp_connections_to_pos": connections, "pushes": delivered,
            "loaded_rss_max_kib": loaded, "duplicated": duplicated,
        }),
    );
    report.info(
        "intake (POST /orders)",
        format!("max rate, durability {durability}, {} clients", cfg.clients),
        format!(
            "{:.0} orders/s; p50 {:.1} / p95 {:.1} / p99 {:.1} ms",
            driven.throughput(),
            intake.p50,
            intake.p95,
            intake.p99
        ),
    );
    report.goal(
        "delivery throughput",
        format!(
            "deliveries/s, {workers} workers, {} ms POS, durability {durability}",
            cfg.throughput_pos_latency_ms
        ),
        committed_rate,
        "/s",
        GOAL_DELIVERIES_PER_S,
        false,
        format!("{committed_rate:.0} /s"),
    );
    report.info(
        "footprint",
        format!("RSS loaded max ({workers} workers, drain, {durability})"),
        format!("{:.1} MiB", mb(loaded)),
    );
    svc.stop();
    (dir, shop)
}

/// A million sync logs, inserted while possync is stopped; then history and stats latency.
fn phase_history(cfg: &Config, dir: &Path, shop: &Shop, mock_url: &str, report: &mut Report) {
    let db = dir.join("possync.db");
    let started = Instant::now();
    let (before, inserted, counts_ok) = insert_logs(&db, &shop.business, cfg.logs);
    let insert_s = started.elapsed().as_secs_f64();
    let db_mib = std::fs::metadata(&db).map_or(0.0, |m| m.len() as f64 / 1024.0 / 1024.0);
    println!(
        "inserted {inserted} sync logs (had {before}) in {insert_s:.1} s; database {db_mib:.0} MiB; sync_log_counts consistent: {counts_ok}"
    );
    let mut svc = Service::start(dir, free_port(), &args(&["--square-base-url", mock_url]));
    let ready = svc.wait_ready().as_secs_f64() * 1000.0;
    let shop = Shop {
        api: svc.api(),
        ..shop.clone()
    };
    let agent = agent();
    let time = |path: &str, n: usize| {
        let url = format!("{}{path}", shop.api);
        for _ in 0..20 {
            let (status, body) = http_get(&agent, &url, Some(&shop.token));
            assert_eq!(status, 200, "{url}: {body}");
        }
        let mut times = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            let (status, _) = http_get(&agent, &url, Some(&shop.token));
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(status, 200, "{url}");
        }
        Dist::of(times)
    };
    let b = &shop.business;
    let me = time("/auth/me", cfg.queries);
    let history = time(&format!("/pos/history/{b}"), cfg.queries);
    let history_failed = time(&format!("/pos/history/{b}?status=failed"), cfg.queries);
    let stats_d = time(&format!("/pos/stats/{b}"), cfg.queries);
    let deep = time(
        &format!("/pos/history/{b}?offset={}", (before + inserted) / 2),
        20,
    );
    let (rss, _) = svc.rss_kb();
    let total = stats(&agent, &shop).map_or(0, |s| s.total);
    println!("  restart → ready with {total} logs: {ready:.1} ms");
    println!("  GET /auth/me (HTTP + auth floor) {}", me.short());
    println!("  GET history {}", history.short());
    println!("  GET history?status=failed {}", history_failed.short());
    println!("  GET stats {}", stats_d.short());
    println!(
        "  GET history at offset {} {}",
        (before + inserted) / 2,
        deep.short()
    );
    report.put(
        "history",
        json!({
            "logs": total, "inserted": inserted, "insert_s": insert_s, "db_mib": db_mib,
            "counts_consistent": counts_ok, "restart_ready_ms": ready,
            "auth_me_ms": me.to_json(), "history_ms": history.to_json(), "history_status_failed_ms": history_failed.to_json(),
            "stats_ms": stats_d.to_json(), "history_deep_offset_ms": deep.to_json(),
            "deep_offset": (before + inserted) / 2, "rss_after_kib": rss,
        }),
    );
    let sec = "history and stats at 1M logs";
    report.check(
        sec,
        "sync_log_counts matches the logs",
        counts_ok,
        format!("{total} logs"),
        "consistent",
    );
    report.goal(
        sec,
        "GET /pos/history/{id} p99 (limit 50)",
        history.p99,
        "ms",
        GOAL_QUERY_P99_MS,
        true,
        format!("{:.2} ms (p50 {:.2})", history.p99, history.p50),
    );
    report.goal(
        sec,
        "GET /pos/history/{id}?status=failed p99",
        history_failed.p99,
        "ms",
        GOAL_QUERY_P99_MS,
        true,
        format!(
            "{:.2} ms (p50 {:.2})",
            history_failed.p99, history_failed.p50
        ),
    );
    report.goal(
        sec,
        "GET /pos/stats/{id} p99",
        stats_d.p99,
        "ms",
        GOAL_QUERY_P99_MS,
        true,
        format!("{:.2} ms (p50 {:.2})", stats_d.p99, stats_d.p50),
    );
    report.info(
        sec,
        format!("GET history?offset={} (deep page)", (before + inserted) / 2),
        format!("p50 {:.1} / max {:.1} ms", deep.p50, deep.max),
    );
    report.info(
        sec,
        "GET /auth/me (floor: HTTP + bearer check)",
        format!("p50 {:.2} / p99 {:.2} ms", me.p50, me.p99),
    );
    report.info(
        sec,
        "restart → ready with 1M logs",
        format!("{ready:.1} ms"),
    );
    svc.stop();
}

/// Insert `n` sync logs for `business` in one transaction (the triggers keep
/// `sync_log_counts`). Returns (logs before, inserted, counts consistent).
fn insert_logs(db: &Path, business: &str, n: usize) -> (usize, usize, bool) {
    use rusqlite::params;
    let mut conn = rusqlite::Connection::open(db).expect("open db");
    conn.busy_timeout(Duration::from_secs(10)).expect("busy");
    conn.pragma_update(None, "cache_size", -262_144)
        .expect("cache_size");
    let integration: String = conn
        .query_row(
            "SELECT id FROM pos_integrations WHERE business_id = ?1",
            [business],
            |r| r.get(0),
        )
        .expect("integration");
    let orders = {
        let mut stmt = conn
            .prepare("SELECT id FROM orders WHERE business_id = ?1 ORDER BY created_at")
            .expect("prepare");
        stmt.query_map([business], |r| r.get::<_, String>(0))
            .expect("query")
            .collect::<rusqlite::Result<Vec<_>>>()
            .expect("orders")
    };
    assert!(!orders.is_empty(), "the business has no orders");
    let before: i64 = conn
        .query_row(
            "SELECT count(*) FROM sync_logs WHERE business_id = ?1",
            [business],
            |r| r.get(0),
        )
        .expect("count");
    let now = wall_ms() as i64;
    let year = 365 * 24 * 3_600_000_i64;
    let step = year / n.max(1) as i64;
    let tx = conn.transaction().expect("begin");
    {
        let mut stmt = tx
            .prepare(
                "INSERT INTO sync_logs (id, order_id, business_id, integration_id, provider, status,
                    pos_order_id, retry_count, max_retries, next_retry_at, lease_until, error_message,
                    duration_ms, completed_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, 'square', ?5, ?6, ?7, 12, ?8, NULL, ?9, ?10, ?11, ?12)",
            )
            .expect("prepare insert");
        for i in 0..n {
            // A year of history before the benchmark's own orders: 96 % success, 3 % failed,
            // 1 % waiting for a retry a week from now (never due during the benchmark).
            let created = now - year - 60_000 + i as i64 * step;
            let id = uuid::Uuid::now_v7().to_string();
            let order = &orders[i % orders.len()];
            let (status, pos, retries, next, error, completed) = match i % 100 {
                0..=2 => (
                    "failed",
                    None,
                    12,
                    None,
                    Some("Square answered HTTP 503 (gave up after 13 attempts)"),
                    Some(created + 3_600_000),
                ),
                3 => (
                    "retry",
                    None,
                    3,
                    Some(now + 7 * 24 * 3_600_000),
                    Some("Square answered HTTP 503"),
                    None,
                ),
                _ => (
                    "success",
                    Some(format!("SQHIST{i:012}")),
                    0,
                    None,
                    None,
                    Some(created + 180),
                ),
            };
            stmt.execute(params![
                id,
                order,
                business,
                integration,
                status,
                pos,
                retries,
                next,
                error,
                180,
                completed,
                created
            ])
            .expect("insert log");
        }
    }
    tx.commit().expect("commit");
    let (counted, kept): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM sync_logs WHERE business_id = ?1),
                    (SELECT coalesce(sum(n), 0) FROM sync_log_counts WHERE business_id = ?1)",
            [business],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("counts");
    let per_status_ok: bool = conn
        .query_row(
            "SELECT count(*) = 0 FROM (
                SELECT status, count(*) AS n FROM sync_logs WHERE business_id = ?1 GROUP BY status
             ) l LEFT JOIN sync_log_counts c ON c.business_id = ?1 AND c.status = l.status
             WHERE c.n IS NOT l.n",
            [business],
            |r| r.get(0),
        )
        .expect("per status");
    // Fold the WAL into the database so possync starts on a checkpointed file.
    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    (
        usize::try_from(before).unwrap_or(0),
        n,
        counted == kept && per_status_ok && counted == before + n as i64,
    )
}

// ---------------------------------------------------------------------------------------------

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("the possync benchmark runs with `cargo bench --bench possync`");
        return;
    }
    let _ = now_ms();
    let started = Instant::now();
    let cfg = Config::from_env();
    let mut report = Report::default();
    let machine = machine();
    println!("possync benchmark");
    println!("machine: {machine}");
    println!("settings (POSSYNC_BENCH_* to change): {}", cfg.to_json());
    report.put("machine", machine);
    report.put("config", cfg.to_json());
    report.put("binary_under_test", json!(binary().display().to_string()));
    report.put("extra_args", json!(extra_args()));
    report.put(
        "only",
        json!(std::env::var("POSSYNC_BENCH_ONLY").unwrap_or_default()),
    );
    report.put("command", json!("cargo bench --bench possync"));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("mock runtime");
    let (mock, mock_url) = start_mock(&runtime);
    let root = tempfile::Builder::new()
        .prefix("possync-bench-")
        .tempdir()
        .expect("tempdir");
    println!("data under {}", root.path().display());

    // POSSYNC_BENCH_ONLY=binary,startup,default,main,throughput,history runs a subset.
    let only = std::env::var("POSSYNC_BENCH_ONLY").unwrap_or_default();
    let run = |name: &str| {
        let on = only.trim().is_empty() || only.split(',').any(|p| p.trim() == name);
        if on {
            println!("\n== {name} ({:.0} s)", started.elapsed().as_secs_f64());
        }
        on
    };
    if run("binary") {
        phase_binary(&mut report);
    }
    if run("startup") {
        phase_startup(&cfg, root.path(), &mock_url, &mut report);
    }
    if run("default") {
        phase_default_workers(&cfg, root.path(), &mock, &mock_url, &mut report);
    }
    if run("main") {
        phase_main(&cfg, root.path(), &mock, &mock_url, &mut report);
    }
    if run("throughput") {
        let (dir, shop) =
            phase_throughput(&cfg, root.path(), "full", &mock, &mock_url, &mut report);
        let _ = phase_throughput(&cfg, root.path(), "normal", &mock, &mock_url, &mut report);
        if run("history") {
            phase_history(&cfg, &dir, &shop, &mock_url, &mut report);
        }
    }

    let elapsed = started.elapsed().as_secs_f64();
    println!("\n== done in {elapsed:.0} s");
    report.put("elapsed_s", json!(elapsed));
    report.put("loadavg_at_end", json!(loadavg()));
    println!("load average (1 min) at the end: {:.2}", loadavg());
    report.print();
    let goals = std::mem::take(&mut report.goals);
    report.put("goals", Value::Array(goals));
    // target/release/possync → target/bench-report.json
    let out = PathBuf::from(env!("CARGO_BIN_EXE_possync"))
        .parent()
        .and_then(Path::parent)
        .map_or_else(
            || PathBuf::from("bench-report.json"),
            |t| t.join("bench-report.json"),
        );
    std::fs::write(
        &out,
        serde_json::to_string_pretty(&Value::Object(std::mem::take(&mut report.json)))
            .expect("json"),
    )
    .expect("write report");
    println!("JSON report: {}", out.display());
    // The mock may still hold requests (the backlog phase): do not wait for them.
    runtime.shutdown_background();
}
