//! Operations: readiness, metrics, request ids, JSON logs, graceful shutdown of the real binary,
//! online backup, and the packaging files (systemd unit, environment file, deb metadata).

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use common::wait::wait_some;
use common::{CLOSED_PORT_URL, Client, Resp, TestApp, possync_command};
use serde_json::{Value, json};
use tempfile::TempDir;

// ---------------------------------------------------------------------------------------------
// The binary as a child process
// ---------------------------------------------------------------------------------------------

/// A `possync serve` child process on `127.0.0.1:0`, its stderr collected line by line.
pub(crate) struct Service {
    child: Child,
    stderr: Arc<Mutex<Vec<String>>>,
    stdout: Arc<Mutex<Vec<String>>>,
    pub(crate) client: Client,
}

/// The address in a start-up line (`possync 0.1.0 listening on http://...`), as text or as a
/// JSON log line.
pub(crate) fn banner_address(line: &str) -> Option<String> {
    let message = match serde_json::from_str::<Value>(line) {
        Ok(v) => v["fields"]["message"].as_str()?.to_string(),
        Err(_) => line.to_string(),
    };
    let (_, addr) = message.split_once("listening on ")?;
    Some(addr.trim().to_string())
}

impl Service {
    /// Start `possync serve` on `dir` and wait until it prints its address.
    pub(crate) fn spawn(dir: &Path, extra: &[&str]) -> Service {
        let mut cmd = possync_command();
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .args(extra);
        Self::spawn_command(cmd)
    }

    /// Start a prepared `possync serve` command and wait until it prints its address.
    pub(crate) fn spawn_command(mut cmd: Command) -> Service {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("possync serve starts");
        // The start-up lines come on stderr with the logs, in their format (text or JSON).
        let (tx, rx) = mpsc::channel();
        let stderr = Arc::new(Mutex::new(Vec::new()));
        {
            let (lines, pipe) = (stderr.clone(), child.stderr.take().unwrap());
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if let Some(addr) = banner_address(&line) {
                        let _ = tx.send(addr);
                    }
                    lines.lock().unwrap().push(line);
                }
            });
        }
        let stdout = Arc::new(Mutex::new(Vec::new()));
        {
            let (lines, pipe) = (stdout.clone(), child.stdout.take().unwrap());
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                }
            });
        }
        let base = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(base) => base,
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().ok();
                let logs = stderr.lock().unwrap().join("\n");
                panic!("possync serve printed no address (exit {status:?}); stderr:\n{logs}");
            }
        };
        assert!(base.starts_with("http://127.0.0.1:"), "address: {base}");
        let client = Client::new(&base);
        Service {
            child,
            stderr,
            stdout,
            client,
        }
    }

    /// The stdout lines so far.
    pub(crate) fn stdout(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    pub(crate) fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let body = body.map(|b| ("application/json", b.to_string().into_bytes()));
        self.client.raw(method, path, token, body)
    }

    /// Send SIGTERM; wait (at most `limit`) for the exit. Returns the status and how long it took.
    pub(crate) fn terminate(&mut self, limit: Duration) -> (ExitStatus, Duration) {
        let pid = self.child.id().to_string();
        let started = Instant::now();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill(1) runs");
        assert!(sent.success(), "kill -TERM {pid} failed");
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, started.elapsed());
            }
            if started.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "possync did not exit within {limit:?} of SIGTERM; stderr:\n{}",
                    self.logs().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The stderr lines so far (all of them once the process has exited and the pipe drained).
    pub(crate) fn logs(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    /// Wait until the stderr reader has seen the end of the pipe's content after an exit.
    pub(crate) fn logs_after_exit(&self) -> Vec<String> {
        // The reader thread drains the pipe right after the exit; give it a moment.
        let mut last = usize::MAX;
        for _ in 0..50 {
            let n = self.stderr.lock().unwrap().len();
            if n == last {
                break;
            }
            last = n;
            std::thread::sleep(Duration::from_millis(20));
        }
        self.logs()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A seller with a business, a dish and a Square connection (token `access_token`).
pub(crate) struct Shop {
    pub(crate) token: String,
    pub(crate) business: String,
    pub(crate) dish: String,
}

pub(crate) fn shop(svc: &Service, email: &str, access_token: &str) -> Shop {
    let password = "correct horse battery";
    let resp = svc.call(
        "POST",
        "/api/v1/auth/register",
        None,
        Some(json!({"email": email, "password": password, "name": "Asha"})),
    );
    assert_eq!(resp.status, 201, "register: {}", resp.body);
    let resp = svc.call(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"email": email, "password": password})),
    );
    assert_eq!(resp.status, 200, "login: {}", resp.body);
    let token = resp.body["data"]["token"].as_str().unwrap().to_string();
    let resp = svc.call(
        "POST",
        "/api/v1/businesses",
        Some(&token),
        Some(json!({"name": "Spice Garden"})),
    );
    assert_eq!(resp.status, 201, "business: {}", resp.body);
    let business = resp.body["data"]["business"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let resp = svc.call(
        "POST",
        &format!("/api/v1/businesses/{business}/dishes"),
        Some(&token),
        Some(json!({"name": "Paneer Tikka", "price": 30000})),
    );
    assert_eq!(resp.status, 201, "dish: {}", resp.body);
    let dish = resp.body["data"]["dish"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let resp = svc.call(
        "POST",
        "/api/v1/pos/connect",
        Some(&token),
        Some(json!({
            "business_id": business,
            "provider": "square",
            "access_token": access_token,
            "location_id": "L8AHQ2RX0BX1K",
        })),
    );
    assert_eq!(resp.status, 200, "connect: {}", resp.body);
    Shop {
        token,
        business,
        dish,
    }
}

/// Place an order of `quantity` × the shop's dish; returns its id.
pub(crate) fn place_order(svc: &Service, shop: &Shop, quantity: i64) -> String {
    let resp = svc.call(
        "POST",
        "/api/v1/orders",
        Some(&shop.token),
        Some(json!({
            "business_id": shop.business,
            "customer_name": "Rahul Kumar",
            "items": [{"dish_id": shop.dish, "quantity": quantity}],
        })),
    );
    assert_eq!(resp.status, 201, "order: {}", resp.body);
    resp.body["data"]["order"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Poll `check` every 50 ms until it gives `Some`, or panic after `limit` with `what`.
// ---------------------------------------------------------------------------------------------
// Health, metrics, request ids
// ---------------------------------------------------------------------------------------------

#[test]
fn readyz_answers_ready_on_a_running_service() {
    let app = TestApp::start();
    let resp = app.get("/readyz", None);
    resp.expect(200);
    let data = resp.data();
    assert_eq!(data["status"], "ready", "{}", resp.text);
    assert_eq!(data["database"], true, "{}", resp.text);
    assert_eq!(data["workers"], true, "{}", resp.text);
    // Liveness too, with the version.
    let resp = app.get("/healthz", None);
    resp.expect(200);
    assert_eq!(resp.data()["version"], env!("CARGO_PKG_VERSION"));
}

/// The value of one sample line `name{labels} value`, when present.
fn sample(metrics: &str, name_and_labels: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let rest = line.strip_prefix(name_and_labels)?;
        rest.strip_prefix(' ')?.trim().parse().ok()
    })
}

#[test]
fn metrics_count_push_attempts_and_time_http_requests() {
    let app = TestApp::start_with(&[
        "--square-base-url",
        CLOSED_PORT_URL,
        "--retry-interval",
        "1h",
    ]);
    let token = app.login_new_seller("metrics@spicegarden.in");
    let business = app.business(&token, "Spice Garden");
    let dish = app.dish(&token, &business, "Paneer Tikka", 30000);
    app.connect_square(&token, &business, "EAAAl-metrics-token");
    app.order(&token, &business, &dish, 2);

    let attempts = r#"possync_sync_attempts_total{provider="square",outcome="retry"}"#;
    wait_some(Duration::from_secs(15), "a counted push attempt", || {
        let resp = app.get("/metrics", None);
        resp.expect(200);
        sample(&resp.text, attempts).filter(|n| *n >= 1.0)
    });

    // OpenMetrics text, said so, every metric named possync_*. (This scrape sees the earlier
    // scrapes' durations.)
    let resp = app.get("/metrics", None);
    resp.expect(200);
    let text = resp.text.clone();
    let content_type = resp.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/openmetrics-text; version=1.0.0"),
        "content-type: {content_type}"
    );
    for line in text.lines().filter(|l| !l.is_empty()) {
        let name = line
            .strip_prefix("# HELP ")
            .or_else(|| line.strip_prefix("# TYPE "))
            .or_else(|| line.strip_prefix("# UNIT "))
            .unwrap_or(line);
        assert!(
            name.starts_with("possync_") || line == "# EOF",
            "a metric outside possync_: {line}"
        );
    }
    assert!(
        text.contains("# TYPE possync_sync_attempts counter"),
        "{text}"
    );
    assert_eq!(sample(&text, attempts), Some(1.0), "{text}");
    assert_eq!(
        sample(&text, "possync_retries_scheduled_total"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"possync_sync_logs{status="retry"}"#),
        Some(1.0),
        "{text}"
    );
    // HTTP durations: the POST /api/v1/orders above was timed.
    assert!(
        text.contains("# TYPE possync_http_request_duration_seconds histogram"),
        "{text}"
    );
    // One series per route template: the POSTs answered 201 over all of them.
    let posts_201: f64 = text
        .lines()
        .filter(|l| {
            l.starts_with(r#"possync_http_request_duration_seconds_count{method="POST",route="#)
                && l.contains(r#"status="201"}"#)
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    // register, business, dish, order
    assert!(posts_201 >= 4.0, "{text}");
    assert!(
        text.contains(
            r#"possync_http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/metrics",status="200"}"#
        ),
        "{text}"
    );
}

#[test]
fn metrics_time_an_order_into_the_pos() {
    let square = slow_square(Duration::ZERO);
    let app = TestApp::start_with(&["--square-base-url", square.base.as_str()]);
    let token = app.login_new_seller("latency@spicegarden.in");
    let business = app.business(&token, "Spice Garden");
    let dish = app.dish(&token, &business, "Paneer Tikka", 30000);
    app.connect_square(&token, &business, "EAAAl-latency-token");
    app.order(&token, &business, &dish, 1);
    let text = wait_some(Duration::from_secs(15), "a pushed order", || {
        let resp = app.get("/metrics", None);
        resp.expect(200);
        // The order is in the POS once its last step (the payment) is done.
        sample(
            &resp.text,
            r#"possync_order_to_pos_seconds_count{provider="square"}"#,
        )
        .map(|_| resp.text.clone())
    });
    assert!(
        text.contains("# TYPE possync_order_to_pos_seconds histogram"),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"possync_order_to_pos_seconds_count{provider="square"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"possync_sync_logs{status="success"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"possync_sync_attempts_total{provider="square",outcome="success"}"#
        ),
        Some(2.0),
        "the order's call and the payment's: {text}"
    );
    assert_eq!(
        square.requests.load(Ordering::SeqCst),
        2,
        "CreateOrder, then CreatePayment"
    );
}

#[test]
fn every_response_carries_a_request_id() {
    let app = TestApp::start();
    let token = app.login_new_seller("ids@spicegarden.in");
    let mut seen = BTreeSet::new();
    let answers = [
        ("GET /healthz", app.get("/healthz", None)),
        ("GET /readyz", app.get("/readyz", None)),
        ("GET /metrics", app.get("/metrics", None)),
        ("GET /openapi.json", app.get("/openapi.json", None)),
        ("GET /docs", app.get("/docs", None)),
        (
            "GET /api/v1/auth/me",
            app.get("/api/v1/auth/me", Some(&token)),
        ),
        ("401", app.get("/api/v1/auth/me", None)),
        ("404", app.get("/api/v1/no-such-thing", None)),
        ("405", app.raw("DELETE", "/healthz", None, None)),
        (
            "400",
            app.raw(
                "POST",
                "/api/v1/businesses",
                Some(&token),
                Some(("application/json", b"{not json".to_vec())),
            ),
        ),
    ];
    for (what, resp) in &answers {
        let id = resp
            .header("x-request-id")
            .unwrap_or_else(|| panic!("{what} ({}) has no x-request-id", resp.status));
        assert!(!id.trim().is_empty(), "{what}: empty x-request-id");
        assert!(
            seen.insert(id.to_string()),
            "{what}: request id {id} reused"
        );
    }
    // A caller's (or a proxy's) id is kept, so logs on both sides line up.
    let resp = app.send(
        "GET",
        "/healthz",
        &[("x-request-id", "menumaker-trace-42")],
        None,
    );
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("x-request-id"), Some("menumaker-trace-42"));
}

// ---------------------------------------------------------------------------------------------
// Logs
// ---------------------------------------------------------------------------------------------

#[test]
fn json_log_format_writes_one_json_object_per_line_and_no_secret() {
    let dir = TempDir::new().unwrap();
    let mut svc = Service::spawn(
        dir.path(),
        &[
            "--log-format",
            "json",
            "--log",
            "debug",
            "--square-base-url",
            CLOSED_PORT_URL,
            "--retry-interval",
            "1h",
        ],
    );
    let access_token = "EAAAl-secret-square-token-7f3a9c";
    let shop = shop(&svc, "json@spicegarden.in", access_token);
    place_order(&svc, &shop, 1);
    // Wait for the push attempt's log line.
    wait_some(
        Duration::from_secs(15),
        "the push attempt's log line",
        || {
            svc.logs()
                .iter()
                .any(|l| l.contains("\"outcome\":\"retry\""))
                .then_some(())
        },
    );
    // A request's log lines carry its id.
    let traced = svc
        .client
        .send("GET", "/healthz", &[("x-request-id", "ops-trace-17")], None);
    assert_eq!(traced.header("x-request-id"), Some("ops-trace-17"));
    wait_some(Duration::from_secs(5), "the request's log line", || {
        svc.logs()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .any(|v| v["span"]["request_id"] == "ops-trace-17" && v["span"]["uri"] == "/healthz")
            .then_some(())
    });
    let (status, _) = svc.terminate(Duration::from_secs(15));
    assert!(status.success(), "exit: {status}");
    let logs = svc.logs_after_exit();
    assert!(logs.len() >= 3, "too few log lines: {logs:?}");
    for line in &logs {
        let value: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON object ({e}): {line}"));
        let object = value
            .as_object()
            .unwrap_or_else(|| panic!("not an object: {line}"));
        for key in ["timestamp", "level", "fields"] {
            assert!(object.contains_key(key), "no {key}: {line}");
        }
    }
    assert!(
        logs.iter().any(|l| l.contains("possync is listening")),
        "{logs:#?}"
    );
    // Never a secret: not the POS token, the password or the bearer token.
    for secret in [access_token, "correct horse battery", shop.token.as_str()] {
        assert!(
            !logs.iter().any(|l| l.contains(secret)),
            "a secret in the logs: {secret}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Graceful shutdown
// ---------------------------------------------------------------------------------------------

#[test]
fn sigterm_exits_zero_within_seconds_and_a_restart_finds_every_order() {
    let dir = TempDir::new().unwrap();
    let flags = [
        "--square-base-url",
        CLOSED_PORT_URL,
        "--retry-interval",
        "1h",
    ];
    let mut svc = Service::spawn(dir.path(), &flags);
    let shop = shop(&svc, "restart@spicegarden.in", "EAAAl-restart-token");
    let orders: Vec<(String, i64)> = (1..=5)
        .map(|q| (place_order(&svc, &shop, q), 30000 * q))
        .collect();
    let (status, took) = svc.terminate(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "exit: {status}");
    assert!(took < Duration::from_secs(5), "shutdown took {took:?}");
    // Text logs by default: not JSON.
    let logs = svc.logs_after_exit();
    assert!(
        logs.iter().any(|l| l.contains("shutting down")),
        "{logs:#?}"
    );
    assert!(
        serde_json::from_str::<Value>(&logs[0]).is_err(),
        "{logs:#?}"
    );
    drop(svc);

    let svc = Service::spawn(dir.path(), &flags);
    let ready = svc.call("GET", "/readyz", None, None);
    assert_eq!(ready.status, 200, "{}", ready.body);
    for (id, total) in &orders {
        let resp = svc.call(
            "GET",
            &format!("/api/v1/orders/{id}"),
            Some(&shop.token),
            None,
        );
        assert_eq!(resp.status, 200, "order {id} after restart: {}", resp.body);
        let data = &resp.body["data"];
        assert_eq!(data["order"]["id"], json!(id));
        assert_eq!(data["order"]["total"], json!(total));
        assert!(
            data["sync_log"]["status"].is_string(),
            "order {id} lost its sync log: {}",
            resp.body
        );
    }
    let history = svc.call(
        "GET",
        &format!("/api/v1/pos/history/{}", shop.business),
        Some(&shop.token),
        None,
    );
    assert_eq!(history.status, 200, "{}", history.body);
}

/// A Square stand-in that holds every push request for `delay` before answering: CreateOrder
/// with an order whose total is the body's lines, CreatePayment with a payment; ListLocations
/// with the one location, at once.
struct SlowSquare {
    base: String,
    requests: Arc<AtomicUsize>,
    received: mpsc::Receiver<()>,
}

fn slow_square(delay: Duration) -> SlowSquare {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let (tx, received) = mpsc::channel();
    let counter = requests.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let (counter, tx) = (counter.clone(), tx.clone());
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0usize;
                let mut request_line = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if request_line.is_empty() {
                        request_line = line.to_string();
                    }
                    if let Some((name, value)) = line.split_once(':')
                        && name.eq_ignore_ascii_case("content-length")
                    {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                if request_line.starts_with("GET /v2/locations") {
                    // The connect's location check: answered at once and not counted, so the
                    // count and the delay are the pushes'.
                    let answer = r#"{"locations":[{"id":"L8AHQ2RX0BX1K","name":"Spice Garden","status":"ACTIVE"}]}"#;
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                        answer.len()
                    );
                    return;
                }
                let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                let _ = tx.send(());
                std::thread::sleep(delay);
                let answer = if request_line.contains("/v2/payments") {
                    format!(r#"{{"payment":{{"id":"PAY-GRACEFUL-{n}","status":"COMPLETED"}}}}"#)
                } else {
                    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let total: i64 = body["order"]["line_items"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|l| {
                            l["base_price_money"]["amount"].as_i64().unwrap_or(0)
                                * l["quantity"]
                                    .as_str()
                                    .and_then(|q| q.parse::<i64>().ok())
                                    .unwrap_or(0)
                        })
                        .sum();
                    format!(
                        r#"{{"order":{{"id":"SQ-GRACEFUL-{n}","state":"OPEN","total_money":{{"amount":{total},"currency":"INR"}}}}}}"#
                    )
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
            });
        }
    });
    SlowSquare {
        base,
        requests,
        received,
    }
}

#[test]
fn sigterm_lets_an_in_flight_push_finish_before_exiting() {
    let square = slow_square(Duration::from_millis(1500));
    let dir = TempDir::new().unwrap();
    let flags = ["--square-base-url", square.base.as_str()];
    let mut svc = Service::spawn(dir.path(), &flags);
    let shop = shop(&svc, "inflight@spicegarden.in", "EAAAl-inflight-token");
    let order = place_order(&svc, &shop, 1);
    square
        .received
        .recv_timeout(Duration::from_secs(15))
        .expect("the push reaches the POS");
    // SIGTERM while Square is still thinking.
    let (status, took) = svc.terminate(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "exit: {status}");
    assert!(
        took >= Duration::from_millis(1000),
        "exited after {took:?}, before the in-flight push could finish"
    );
    drop(svc);

    // The push finished and was recorded: after a restart nothing is pushed again.
    let svc = Service::spawn(dir.path(), &flags);
    let resp = svc.call(
        "GET",
        &format!("/api/v1/orders/{order}"),
        Some(&shop.token),
        None,
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    let log = &resp.body["data"]["sync_log"];
    assert_eq!(log["status"], "success", "{}", resp.body);
    assert_eq!(log["pos_order_id"], "SQ-GRACEFUL-1", "{}", resp.body);
    assert_eq!(log["pos_payment_id"], "PAY-GRACEFUL-2", "{}", resp.body);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        square.requests.load(Ordering::SeqCst),
        2,
        "one order and one payment, nothing pushed twice"
    );
}

// ---------------------------------------------------------------------------------------------
// Backup
// ---------------------------------------------------------------------------------------------

fn backup(data_dir: &Path, to: &Path) -> std::process::Output {
    possync_command()
        .args(["backup", "--data-dir"])
        .arg(data_dir)
        .arg("--to")
        .arg(to)
        .stdin(Stdio::null())
        .output()
        .expect("possync backup runs")
}

#[test]
fn backup_copies_a_running_service_consistently_and_refuses_an_existing_file() {
    let app = TestApp::start();
    let token = app.login_new_seller("backup@spicegarden.in");
    let business = app.business(&token, "Spice Garden");
    let dish = app.dish(&token, &business, "Paneer Tikka", 30000);
    let mut orders: BTreeSet<String> = (1..=4)
        .map(|q| {
            app.order(&token, &business, &dish, q)["order"]["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();

    // Orders keep arriving while the backup runs.
    let writing = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let during = std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut ids = Vec::new();
            while writing.load(Ordering::SeqCst) && ids.len() < 200 {
                ids.push(
                    app.order(&token, &business, &dish, 1)["order"]["id"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                );
            }
            ids
        });
        let out_dir = TempDir::new().unwrap();
        let to = out_dir.path().join("possync-backup.db");
        let out = backup(app.dir.path(), &to);
        writing.store(false, Ordering::SeqCst);
        let during = writer.join().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "backup failed: {stdout}{stderr}");
        assert!(stdout.contains("backed up"), "{stdout}");
        assert!(
            stderr.contains("master.key"),
            "no word about the key: {stderr}"
        );

        // It opens with plain SQLite and is whole.
        let db =
            rusqlite::Connection::open_with_flags(&to, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .unwrap();
        let check: String = db
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        let in_backup: BTreeSet<String> = db
            .prepare("SELECT id FROM orders")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        // Every order placed before the backup, and only orders that exist.
        assert!(
            orders.is_subset(&in_backup),
            "orders missing from the backup"
        );
        let all: BTreeSet<String> = orders.iter().cloned().chain(during.clone()).collect();
        assert!(in_backup.is_subset(&all), "unknown orders in the backup");
        // A snapshot, not a torn copy: every order has its items.
        let orphans: i64 = db
            .query_row(
                "SELECT count(*) FROM orders o WHERE NOT EXISTS \
                 (SELECT 1 FROM order_items i WHERE i.order_id = o.id)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(orphans, 0);

        // An existing file is refused and left alone.
        let before = std::fs::read(&to).unwrap();
        let again = backup(app.dir.path(), &to);
        assert!(!again.status.success(), "overwrote an existing backup");
        let stderr = String::from_utf8_lossy(&again.stderr);
        assert!(stderr.contains("exists"), "{stderr}");
        assert_eq!(std::fs::read(&to).unwrap(), before);
        during
    });
    orders.extend(during);

    // The service carried on: every order is still there.
    for id in &orders {
        app.get(&format!("/api/v1/orders/{id}"), Some(&token))
            .expect(200);
    }
    app.get("/readyz", None).expect(200);
}

#[test]
fn a_backup_restores_into_a_working_service() {
    let app = TestApp::start();
    let token = app.login_new_seller("restore@spicegarden.in");
    let business = app.business(&token, "Spice Garden");
    let dish = app.dish(&token, &business, "Paneer Tikka", 30000);
    app.connect_square(&token, &business, "EAAAl-restore-token");
    let order = app.order(&token, &business, &dish, 3)["order"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let out_dir = TempDir::new().unwrap();
    let to = out_dir.path().join("possync.db");
    let out = backup(app.dir.path(), &to);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let data = app.stop();

    // Restore (README): the database copy plus master.key into a fresh data directory.
    let restored = TempDir::new().unwrap();
    std::fs::copy(&to, restored.path().join("possync.db")).unwrap();
    std::fs::copy(
        data.path().join("master.key"),
        restored.path().join("master.key"),
    )
    .unwrap();
    let app = TestApp::start_in(restored, &[]);
    let resp = app.get(&format!("/api/v1/orders/{order}"), Some(&token));
    resp.expect(200);
    assert_eq!(resp.data()["order"]["total"], 90000);
    // The sealed POS token still opens with the restored key: the integration is intact.
    let resp = app.get(&format!("/api/v1/pos/integration/{business}"), Some(&token));
    resp.expect(200);
}

// ---------------------------------------------------------------------------------------------
// Packaging files
// ---------------------------------------------------------------------------------------------

fn repo_file(path: &str) -> String {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// `section -> [(key, value)]` of a systemd unit file.
fn unit_directives(text: &str) -> BTreeMap<String, Vec<(String, String)>> {
    let mut sections: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut current = String::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.to_string();
            continue;
        }
        let (key, value) = line.split_once('=').expect("key=value");
        sections
            .entry(current.clone())
            .or_default()
            .push((key.trim().to_string(), value.trim().to_string()));
    }
    sections
}

#[test]
fn the_systemd_unit_is_hardened() {
    let text = repo_file("packaging/possync.service");
    let unit = unit_directives(&text);
    let values = |section: &str, key: &str| -> Vec<String> {
        unit.get(section)
            .map(|d| {
                d.iter()
                    .filter(|(k, _)| k == key)
                    .map(|(_, v)| v.clone())
                    .collect()
            })
            .unwrap_or_default()
    };
    let has = |section: &str, key: &str, value: &str| {
        assert!(
            values(section, key).iter().any(|v| v == value),
            "[{section}] {key}={value} missing; have {:?}",
            values(section, key)
        );
    };
    for (key, value) in [
        ("Type", "simple"),
        ("ExecStart", "/usr/bin/possync serve"),
        ("EnvironmentFile", "-/etc/possync/possync.env"),
        ("StateDirectory", "possync"),
        ("Restart", "on-failure"),
        ("KillSignal", "SIGTERM"),
        ("TimeoutStopSec", "30"),
        ("UMask", "0077"),
        ("NoNewPrivileges", "yes"),
        ("CapabilityBoundingSet", ""),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("ProtectKernelTunables", "yes"),
        ("ProtectKernelModules", "yes"),
        ("ProtectKernelLogs", "yes"),
        ("ProtectControlGroups", "yes"),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("SystemCallFilter", "@system-service"),
    ] {
        has("Service", key, value);
    }
    // Its own identity: a dynamic user or a dedicated one, never root.
    let dynamic = values("Service", "DynamicUser") == ["yes"];
    let user = values("Service", "User");
    assert!(
        dynamic || (user.len() == 1 && user[0] != "root"),
        "neither DynamicUser=yes nor a dedicated User="
    );
    // Nothing loosens it again.
    for key in ["AmbientCapabilities", "CapabilityBoundingSet"] {
        assert!(
            values("Service", key).iter().all(String::is_empty),
            "{key} grants something"
        );
    }
    assert!(values("Service", "ReadWritePaths").is_empty());
    // The data directory is the state directory.
    let env_file = repo_file("packaging/possync.env");
    assert!(
        values("Service", "Environment").contains(&"POSSYNC_DATA_DIR=/var/lib/possync".to_string())
            || env_file
                .lines()
                .any(|l| l.trim() == "POSSYNC_DATA_DIR=/var/lib/possync"),
        "POSSYNC_DATA_DIR is not /var/lib/possync"
    );
    // Started once the network is up; part of the normal boot.
    for key in ["After", "Wants"] {
        assert!(
            values("Unit", key)
                .iter()
                .any(|v| v.split_whitespace().any(|u| u == "network-online.target")),
            "[Unit] {key} lacks network-online.target"
        );
    }
    has("Install", "WantedBy", "multi-user.target");
}

/// `POSSYNC_*` variable -> its default (`None`: no default), from `possync serve --help`.
fn serve_env_vars() -> BTreeMap<String, Option<String>> {
    let out = possync_command()
        .args(["serve", "--help"])
        .output()
        .expect("possync serve --help");
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    let mut vars = BTreeMap::new();
    // One block per option, from its `--flag` line to the next.
    let mut blocks: Vec<Vec<&str>> = Vec::new();
    for line in help.lines() {
        if line.starts_with("  -") || line.starts_with("      --") {
            blocks.push(Vec::new());
        }
        if let Some(block) = blocks.last_mut() {
            block.push(line.trim());
        }
    }
    for block in blocks {
        let Some(env) = block.iter().find_map(|l| l.strip_prefix("[env: ")) else {
            continue;
        };
        let name: String = env
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        let default = block.iter().find_map(|l| {
            let value = l.strip_prefix("[default: ")?.strip_suffix(']')?;
            Some(value.trim_matches('"').to_string())
        });
        vars.insert(name, default);
    }
    vars
}

#[test]
fn the_env_file_documents_every_serve_setting_with_its_default() {
    let vars = serve_env_vars();
    assert!(vars.len() >= 35, "too few settings parsed: {vars:?}");
    assert!(vars.keys().all(|v| v.starts_with("POSSYNC_")), "{vars:?}");
    let text = repo_file("packaging/possync.env");

    // Settings: `#POSSYNC_X=default` (commented out) or `POSSYNC_X=value` (set).
    let mut settings: BTreeMap<String, (bool, String)> = BTreeMap::new();
    for (name, value, commented) in env_file_settings() {
        let previous = settings.insert(name.clone(), (commented, value));
        assert!(previous.is_none(), "{name} appears twice");
    }
    for (name, default) in &vars {
        let (commented, value) = settings
            .get(name)
            .unwrap_or_else(|| panic!("packaging/possync.env lacks {name}"));
        if *commented && let Some(default) = default {
            assert_eq!(value, default, "{name}: the file's default is not serve's");
        }
    }
    for name in settings.keys() {
        assert!(vars.contains_key(name), "{name} is not a serve setting");
    }
    // Only the data directory is set; secrets are placeholders, commented out.
    let set: Vec<(&String, &String)> = settings
        .iter()
        .filter(|(_, (commented, _))| !commented)
        .map(|(name, (_, value))| (name, value))
        .collect();
    assert_eq!(
        set,
        [(
            &"POSSYNC_DATA_DIR".to_string(),
            &"/var/lib/possync".to_string()
        )]
    );
    for secret in [
        "POSSYNC_MASTER_KEY",
        "POSSYNC_SQUARE_CLIENT_SECRET",
        "POSSYNC_ZOHO_CLIENT_SECRET",
        "POSSYNC_WHATSAPP_TOKEN",
        "POSSYNC_SMTP_URL",
    ] {
        assert!(
            is_placeholder(&settings[secret].1),
            "{secret} is not a placeholder"
        );
    }
    assert!(text.contains("0640") && text.contains("root:root"));
}

/// The settings of packaging/possync.env: `(name, value, commented out)`, quotes removed.
fn env_file_settings() -> Vec<(String, String, bool)> {
    repo_file("packaging/possync.env")
        .lines()
        .filter_map(|line| {
            let (commented, rest) = match line.strip_prefix('#') {
                Some(rest) => (true, rest),
                None => (false, line),
            };
            let (name, value) = rest.split_once('=')?;
            name.starts_with("POSSYNC_").then(|| {
                let value = value.trim().trim_matches('"').to_string();
                (name.to_string(), value, commented)
            })
        })
        .collect()
}

/// `<…>` with no `@` inside: a value to fill in, not an example.
fn is_placeholder(value: &str) -> bool {
    value.split('<').skip(1).any(|rest| {
        rest.split_once('>')
            .is_some_and(|(inner, _)| !inner.contains('@'))
    })
}

#[test]
fn the_env_file_with_every_example_uncommented_starts_the_service() {
    let dir = TempDir::new().unwrap();
    let mut cmd = possync_command();
    let mut used = 0;
    for (name, value, _) in env_file_settings() {
        let value = match name.as_str() {
            // Paths on the box; here the test's directory.
            "POSSYNC_DATA_DIR" => dir.path().display().to_string(),
            "POSSYNC_DATABASE" => dir.path().join("possync.db").display().to_string(),
            "POSSYNC_MASTER_KEY_FILE" => dir.path().join("master.key").display().to_string(),
            "POSSYNC_LISTEN" => "127.0.0.1:0".to_string(),
            _ if is_placeholder(&value) => continue,
            _ => value,
        };
        cmd.env(name, value);
        used += 1;
    }
    assert!(used >= 30, "only {used} settings taken");
    cmd.arg("serve");
    let svc = Service::spawn_command(cmd);
    let resp = svc.call("GET", "/readyz", None, None);
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert!(dir.path().join("possync.db").is_file());
    assert!(dir.path().join("master.key").is_file());
}

#[test]
fn the_deb_metadata_ships_binary_unit_and_conffile() {
    let manifest = repo_file("Cargo.toml");
    let deb = manifest
        .split_once("[package.metadata.deb]")
        .expect("[package.metadata.deb] in Cargo.toml")
        .1;
    for needle in [
        r#"["target/release/possync", "usr/bin/", "755"]"#,
        r#"["packaging/possync.env", "etc/possync/possync.env", "640"]"#,
        "[package.metadata.deb.systemd-units]",
        r#"unit-scripts = "packaging/""#,
        r#"depends = "$auto""#,
        "maintainer = ",
        "section = ",
    ] {
        assert!(deb.contains(needle), "deb metadata lacks {needle}");
    }
    // cargo-deb finds the unit as <package>.service in unit-scripts.
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("packaging/possync.service")
            .is_file()
    );
}
