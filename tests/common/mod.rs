//! The black-box harness: each test runs its own possync (real SQLite file in a temp dir, real
//! HTTP on 127.0.0.1 with port 0) and talks HTTP to it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use possync::app::App;
use possync::cli::{Cli, Command};
use possync::server::{self, Server};
use serde_json::{Value, json};
use tempfile::TempDir;

pub mod mock_square;
pub mod mock_whatsapp;
pub mod smtp_sink;

/// A running service and its data directory.
pub struct TestApp {
    pub base: String,
    pub dir: TempDir,
    runtime: tokio::runtime::Runtime,
    server: Option<Server>,
    agent: ureq::Agent,
}

/// An HTTP answer: status, headers and JSON body (`Value::Null` when the body is not JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub text: String,
    pub headers: Vec<(String, String)>,
}

impl Resp {
    /// `data` of a success envelope; panics with the body when it is not one.
    pub fn data(&self) -> &Value {
        assert_eq!(
            self.body["success"],
            json!(true),
            "not a success envelope: {}",
            self.text
        );
        &self.body["data"]
    }

    /// Assert an error envelope with this status and code; returns the message.
    pub fn expect_error(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status, status, "wrong status; body: {}", self.text);
        assert_eq!(
            self.body["success"],
            json!(false),
            "not an error envelope: {}",
            self.text
        );
        assert_eq!(
            self.body["error"]["code"],
            json!(code),
            "wrong code: {}",
            self.text
        );
        let message = self.body["error"]["message"]
            .as_str()
            .expect("error.message")
            .to_string();
        assert!(!message.is_empty());
        message
    }

    /// Assert a status, returning self for chaining.
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(self.status, status, "wrong status; body: {}", self.text);
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Parse `possync serve` flags into settings, as the binary would.
pub fn serve_args(dir: &Path, extra: &[&str]) -> possync::config::ServeArgs {
    let mut argv: Vec<String> = vec![
        "possync".into(),
        "serve".into(),
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--data-dir".into(),
        dir.display().to_string(),
    ];
    argv.extend(extra.iter().map(|s| s.to_string()));
    match Cli::try_parse_from(argv).expect("serve flags").command {
        Command::Serve(args) => *args,
        other => panic!("not serve: {other:?}"),
    }
}

impl TestApp {
    /// A fresh service with default settings.
    pub fn start() -> TestApp {
        Self::start_with(&[])
    }

    /// A fresh service with extra `serve` flags.
    pub fn start_with(extra: &[&str]) -> TestApp {
        Self::start_in(TempDir::new().unwrap(), extra)
    }

    /// Start on an existing data directory (a restart).
    pub fn start_in(dir: TempDir, extra: &[&str]) -> TestApp {
        Self::try_start_in(dir, extra)
            .map_err(|(e, _)| e)
            .expect("possync starts")
    }

    /// Start, or give back the error and the directory.
    pub fn try_start_in(
        dir: TempDir,
        extra: &[&str],
    ) -> Result<TestApp, (possync::Error, TempDir)> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let args = serve_args(dir.path(), extra);
        let server = match runtime.block_on(server::start(args)) {
            Ok(server) => server,
            Err(e) => return Err((e, dir)),
        };
        let base = format!("http://{}", server.addr());
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Ok(TestApp {
            base,
            dir,
            runtime,
            server: Some(server),
            agent,
        })
    }

    /// Stop gracefully and hand back the data directory.
    pub fn stop(mut self) -> TempDir {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.stop()).unwrap();
        }
        std::mem::replace(&mut self.dir, TempDir::new().unwrap())
    }

    /// The service's state (store, keyring), for driving steps directly.
    pub fn app(&self) -> &App {
        self.server.as_ref().expect("running").app()
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("possync.db")
    }

    /// One request. `body` is sent as-is with `content_type`.
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
    ) -> Resp {
        let uri = format!("{}{}", self.base, path);
        let mut req = ureq::http::Request::builder().method(method).uri(&uri);
        if let Some(token) = token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let result = match body {
            Some((content_type, bytes)) => {
                let req = req
                    .header("content-type", content_type)
                    .body(bytes)
                    .unwrap();
                self.agent.run(req)
            }
            None => self.agent.run(req.body(()).unwrap()),
        };
        let mut resp = result.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            body,
            text,
            headers,
        }
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.raw("GET", path, token, None)
    }

    pub fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.raw(
            "POST",
            path,
            token,
            Some(("application/json", body.to_string().into_bytes())),
        )
    }

    pub fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.raw(
            "PATCH",
            path,
            token,
            Some(("application/json", body.to_string().into_bytes())),
        )
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

    /// Create a business; returns its id.
    pub fn business(&self, token: &str, name: &str) -> String {
        let resp = self.post("/api/v1/businesses", Some(token), json!({"name": name}));
        resp.expect(201);
        resp.data()["business"]["id"].as_str().unwrap().to_string()
    }

    /// Add a dish; returns its id.
    pub fn dish(&self, token: &str, business: &str, name: &str, price: i64) -> String {
        let resp = self.post(
            &format!("/api/v1/businesses/{business}/dishes"),
            Some(token),
            json!({"name": name, "price": price}),
        );
        resp.expect(201);
        resp.data()["dish"]["id"].as_str().unwrap().to_string()
    }

    /// Create an order of `quantity` × the dish; returns the whole `data`.
    pub fn order(&self, token: &str, business: &str, dish: &str, quantity: i64) -> Value {
        let resp = self.post(
            "/api/v1/orders",
            Some(token),
            json!({
                "business_id": business,
                "customer_name": "Rahul Kumar",
                "customer_phone": "+919876543210",
                "special_instructions": "Ring the bell",
                "items": [{"dish_id": dish, "quantity": quantity, "note": "Extra spicy"}],
            }),
        );
        resp.expect(201);
        resp.data().clone()
    }

    /// Connect a business to Square with a plaintext token; returns the integration.
    pub fn connect_square(&self, token: &str, business: &str, access_token: &str) -> Value {
        let resp = self.post(
            "/api/v1/pos/connect",
            Some(token),
            json!({
                "business_id": business,
                "provider": "square",
                "access_token": access_token,
                "location_id": "L8AHQ2RX0BX1K",
            }),
        );
        resp.expect(200);
        resp.data()["integration"].clone()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            let _ = self.runtime.block_on(server.stop());
        }
    }
}

/// The `possync` binary built for these tests.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_possync")
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// Whether `needle` occurs in any file under `dir`.
pub fn any_file_contains(dir: &Path, needle: &[u8]) -> Option<PathBuf> {
    files_under(dir).into_iter().find(|p| {
        std::fs::read(p)
            .map(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
            .unwrap_or(false)
    })
}
