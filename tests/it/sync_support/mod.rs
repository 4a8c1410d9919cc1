//! Helpers shared by the sync-engine tests (`sync_square.rs`, `sync_history.rs`,
//! `sync_recovery.rs`): a service wired to a mock Square, polling, and a client for the binary.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::mock_square::{MockSquare, Recorded};
use crate::common::{Resp, TestApp};

/// The token the mock accepts by default.
pub const SQ_TOKEN: &str = "sq-access-1";
/// The location `connect_square` sets.
pub const LOCATION: &str = "L8AHQ2RX0BX1K";
/// How long any condition may take to come true.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Poll `probe` every 50 ms until it answers `Ok`; panic after `timeout` with the last answer.
pub fn wait_for<T>(
    timeout: Duration,
    what: &str,
    mut probe: impl FnMut() -> Result<T, String>,
) -> T {
    let start = Instant::now();
    loop {
        match probe() {
            Ok(value) => return value,
            Err(state) if start.elapsed() >= timeout => {
                panic!("timed out after {timeout:?} waiting until {what}; last seen: {state}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Poll `condition` every 50 ms until it holds; panic after `timeout`.
pub fn wait_until(timeout: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    wait_for(timeout, what, || {
        if condition() {
            Ok(())
        } else {
            Err("condition false".to_string())
        }
    })
}

/// The `order.reference_id` of a recorded CreateOrder request.
pub fn reference_of(request: &Recorded) -> String {
    request.body["order"]["reference_id"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A header of a recorded request (case-insensitive name).
pub fn header_of<'a>(request: &'a Recorded, name: &str) -> Option<&'a str> {
    request
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Orders the mock holds for one possync order (by `reference_id`).
pub fn mock_orders_for(mock: &MockSquare, order_id: &str) -> Vec<Value> {
    mock.orders()
        .into_iter()
        .filter(|o| o["reference_id"] == json!(order_id))
        .collect()
}

/// CreateOrder requests the mock received for one possync order.
pub fn requests_for(mock: &MockSquare, order_id: &str) -> Vec<Recorded> {
    mock.create_order_requests()
        .into_iter()
        .filter(|r| reference_of(r) == order_id)
        .collect()
}

/// Assert the mock saw nothing against the schema, the prose rules or the headers.
pub fn assert_no_problems(mock: &MockSquare) {
    let problems = mock.problems();
    assert!(
        problems.is_empty(),
        "the mock Square found problems: {problems:#?}"
    );
}

/// A service connected to a mock Square, with a seller, a business and one dish
/// ("Paneer Butter Masala", ₹300.00).
pub struct Env {
    pub mock: MockSquare,
    pub app: TestApp,
    pub token: String,
    pub business: String,
    pub dish: String,
}

/// Flags for a service talking to `mock`; `--retry-interval 200ms` unless `extra` sets one.
pub fn flags_for(mock: &MockSquare, extra: &[&str]) -> Vec<String> {
    let mut flags = vec!["--square-base-url".to_string(), mock.base_url()];
    if !extra.contains(&"--retry-interval") {
        flags.extend(["--retry-interval".to_string(), "200ms".to_string()]);
    }
    flags.extend(extra.iter().map(|s| s.to_string()));
    flags
}

/// Start a mock Square and a service pointed at it, and connect a new business.
pub fn setup(extra: &[&str]) -> Env {
    let mock = MockSquare::start();
    let flags = flags_for(&mock, extra);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let app = TestApp::start_with(&flags);
    let token = app.login_new_seller("owner@spicegarden.in");
    let business = app.business(&token, "Spice Garden");
    let dish = app.dish(&token, &business, "Paneer Butter Masala", 30000);
    app.connect_square(&token, &business, SQ_TOKEN);
    Env {
        mock,
        app,
        token,
        business,
        dish,
    }
}

impl Env {
    /// Create an order of 2 × the dish; returns (order id, the queued sync log or null).
    pub fn order(&self) -> (String, Value) {
        let data = self.app.order(&self.token, &self.business, &self.dish, 2);
        let id = data["order"]["id"].as_str().unwrap().to_string();
        (id, data["sync_log"].clone())
    }

    /// The latest sync log of an order (null when it has none).
    pub fn log(&self, order_id: &str) -> Value {
        let resp = self
            .app
            .get(&format!("/api/v1/orders/{order_id}"), Some(&self.token));
        resp.expect(200);
        resp.data()["sync_log"].clone()
    }

    /// Wait until the order's latest log has `status`; panics early when it settles on another
    /// final status.
    pub fn wait_status(&self, order_id: &str, status: &str) -> Value {
        wait_for(PATIENCE, &format!("order {order_id} is {status}"), || {
            let log = self.log(order_id);
            let now = log["status"].as_str().unwrap_or("none").to_string();
            if now == status {
                return Ok(log);
            }
            if (now == "success" || now == "failed") && now != status {
                panic!("order {order_id} settled on {now}, not {status}: {log:#}");
            }
            Err(log.to_string())
        })
    }

    /// The attempts of a log, oldest first.
    pub fn attempts(&self, log_id: &str) -> Vec<Value> {
        let resp = self.app.get(
            &format!("/api/v1/pos/sync-logs/{log_id}/attempts"),
            Some(&self.token),
        );
        resp.expect(200);
        let data = resp.data();
        let attempts = data["attempts"].as_array().unwrap().clone();
        assert_eq!(data["total"], json!(attempts.len()), "attempts total");
        attempts
    }

    /// The business's integration.
    pub fn integration(&self) -> Value {
        let resp = self.app.get(
            &format!("/api/v1/pos/integration/{}", self.business),
            Some(&self.token),
        );
        resp.expect(200);
        resp.data()["integration"].clone()
    }

    /// PATCH the integration's settings.
    pub fn patch_integration(&self, body: Value) -> Value {
        let resp = self.app.patch(
            &format!("/api/v1/pos/integration/{}", self.business),
            Some(&self.token),
            body,
        );
        resp.expect(200);
        resp.data()["integration"].clone()
    }

    /// `GET /pos/history/{business}` with a query string (without `?`).
    pub fn history(&self, query: &str) -> Resp {
        self.app.get(
            &format!("/api/v1/pos/history/{}?{query}", self.business),
            Some(&self.token),
        )
    }

    /// `GET /pos/stats/{business}` → `data.stats`.
    pub fn stats(&self) -> Value {
        let resp = self.app.get(
            &format!("/api/v1/pos/stats/{}", self.business),
            Some(&self.token),
        );
        resp.expect(200);
        resp.data()["stats"].clone()
    }

    /// `POST /pos/sync/{order}` with an optional query string.
    pub fn sync(&self, order_id: &str, query: &str) -> Resp {
        self.app.post(
            &format!("/api/v1/pos/sync/{order_id}{query}"),
            Some(&self.token),
            json!({}),
        )
    }

    /// CreateOrder requests for one order.
    pub fn requests_for(&self, order_id: &str) -> Vec<Recorded> {
        requests_for(&self.mock, order_id)
    }

    /// Orders the mock holds for one order.
    pub fn mock_orders_for(&self, order_id: &str) -> Vec<Value> {
        mock_orders_for(&self.mock, order_id)
    }

    /// Assert the mock found no problem.
    pub fn assert_no_problems(&self) {
        assert_no_problems(&self.mock);
    }
}

/// The outcomes and HTTP statuses of a list of attempts.
pub fn outcomes(attempts: &[Value]) -> Vec<(Value, String)> {
    attempts
        .iter()
        .map(|a| {
            (
                a["http_status"].clone(),
                a["outcome"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect()
}

/// A loopback port nobody listens on (bound and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `possync serve` as a child process; killed (SIGKILL) when dropped.
pub struct ServeProcess {
    pub child: Child,
    pub base: String,
    pub stderr_path: PathBuf,
}

impl ServeProcess {
    /// Start the binary on `data_dir` with extra flags, and wait until `/healthz` answers.
    pub fn start(data_dir: &Path, log_dir: &Path, extra: &[String]) -> ServeProcess {
        let port = free_port();
        let stderr_path = log_dir.join(format!("serve-{port}.log"));
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        let mut args: Vec<String> = vec![
            "serve".into(),
            "--listen".into(),
            format!("127.0.0.1:{port}"),
            "--data-dir".into(),
            data_dir.display().to_string(),
        ];
        args.extend(extra.iter().cloned());
        let child = Command::new(crate::common::binary())
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("spawn possync serve");
        let mut process = ServeProcess {
            child,
            base: format!("http://127.0.0.1:{port}"),
            stderr_path,
        };
        let client = process.client();
        wait_for(PATIENCE, "possync serve answers /healthz", || {
            if let Ok(Some(status)) = process.child.try_wait() {
                panic!(
                    "possync serve exited with {status}: {}",
                    process.stderr_text()
                );
            }
            client
                .try_raw("GET", "/healthz", None, None)
                .filter(|r| r.status == 200)
                .map(|_| ())
                .ok_or_else(|| "no answer yet".to_string())
        });
        process
    }

    /// A client of this process.
    pub fn client(&self) -> Client {
        Client::new(&self.base)
    }

    /// What the process wrote to stderr so far.
    pub fn stderr_text(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.stderr_path) {
            let _ = f.read_to_string(&mut text);
        }
        text
    }

    /// `kill -9` and reap.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A small HTTP client for a service running as a separate process.
pub struct Client {
    pub base: String,
    agent: ureq::Agent,
}

impl Client {
    pub fn new(base: &str) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Client {
            base: base.to_string(),
            agent,
        }
    }

    /// One request; `None` when the connection failed.
    pub fn try_raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Option<Resp> {
        let uri = format!("{}{}", self.base, path);
        let mut req = ureq::http::Request::builder().method(method).uri(&uri);
        if let Some(token) = token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let result = match body {
            Some(body) => self.agent.run(
                req.header("content-type", "application/json")
                    .body(body.to_string().into_bytes())
                    .unwrap(),
            ),
            None => self.agent.run(req.body(()).unwrap()),
        };
        let mut resp = result.ok()?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Some(Resp {
            status,
            body,
            text,
            headers,
        })
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.try_raw("GET", path, token, None)
            .unwrap_or_else(|| panic!("GET {path}: no answer"))
    }

    pub fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.try_raw("POST", path, token, Some(body))
            .unwrap_or_else(|| panic!("POST {path}: no answer"))
    }

    /// Register a seller and log in; returns the bearer token.
    pub fn login_new_seller(&self, email: &str) -> String {
        self.post(
            "/api/v1/auth/register",
            None,
            json!({"email": email, "password": "correct horse", "name": "Test Seller"}),
        )
        .expect(201);
        let resp = self.post(
            "/api/v1/auth/login",
            None,
            json!({"email": email, "password": "correct horse"}),
        );
        resp.expect(200);
        resp.data()["token"].as_str().unwrap().to_string()
    }

    /// A business connected to Square with one dish; returns (business id, dish id).
    pub fn square_business(&self, token: &str) -> (String, String) {
        let resp = self.post(
            "/api/v1/businesses",
            Some(token),
            json!({"name": "Spice Garden"}),
        );
        resp.expect(201);
        let business = resp.data()["business"]["id"].as_str().unwrap().to_string();
        let resp = self.post(
            &format!("/api/v1/businesses/{business}/dishes"),
            Some(token),
            json!({"name": "Paneer Butter Masala", "price": 30000}),
        );
        resp.expect(201);
        let dish = resp.data()["dish"]["id"].as_str().unwrap().to_string();
        self.post(
            "/api/v1/pos/connect",
            Some(token),
            json!({
                "business_id": business,
                "provider": "square",
                "access_token": SQ_TOKEN,
                "location_id": LOCATION,
            }),
        )
        .expect(200);
        (business, dish)
    }

    /// Create an order; returns its id.
    pub fn order(&self, token: &str, business: &str, dish: &str) -> String {
        let resp = self.post(
            "/api/v1/orders",
            Some(token),
            json!({
                "business_id": business,
                "customer_name": "Rahul Kumar",
                "customer_phone": "+919876543210",
                "items": [{"dish_id": dish, "quantity": 1}],
            }),
        );
        resp.expect(201);
        resp.data()["order"]["id"].as_str().unwrap().to_string()
    }

    /// `GET /pos/history/{business}` → `data`.
    pub fn history(&self, token: &str, business: &str, query: &str) -> Value {
        let resp = self.get(
            &format!("/api/v1/pos/history/{business}?{query}"),
            Some(token),
        );
        resp.expect(200);
        resp.data().clone()
    }
}
