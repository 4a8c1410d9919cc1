//! Helpers shared by the Square sync-engine tests (`sync_square.rs`, `sync_history.rs`,
//! `sync_recovery.rs`, `keys.rs`): what a recorded CreateOrder carries, and possync as a child
//! process.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::common::Client;
use crate::common::mock_square::Recorded;
use crate::common::provider_env::{DISH, SQ_TOKEN};
use crate::common::wait::{PATIENCE, wait_for};

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

/// A business connected to Square (with [`SQ_TOKEN`]) that has one dish; (business, dish).
pub fn square_business(client: &Client, token: &str) -> (String, String) {
    let business = client.business(token, "Spice Garden");
    let dish = client.dish(token, &business, DISH, 30000);
    client.connect_square(token, &business, SQ_TOKEN);
    (business, dish)
}

/// Order one of the dish; returns the order id.
pub fn order_one(client: &Client, token: &str, business: &str, dish: &str) -> String {
    client.order(token, business, dish, 1)["order"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `GET /pos/history/{business}?{query}` → `data`.
pub fn history(client: &Client, token: &str, business: &str, query: &str) -> Value {
    let resp = client.get(
        &format!("/api/v1/pos/history/{business}?{query}"),
        Some(token),
    );
    resp.expect(200);
    resp.data().clone()
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
    /// Start the binary on `data_dir` with extra flags, and wait until `/healthz` answers. A
    /// port another test took between [`free_port`] and the bind is given up for a new one.
    pub fn start(data_dir: &Path, log_dir: &Path, extra: &[String]) -> ServeProcess {
        let mut tries = 0;
        loop {
            tries += 1;
            match Self::try_start(data_dir, log_dir, extra) {
                Ok(process) => return process,
                Err(why) if tries < 5 && why.contains("Address already in use") => continue,
                Err(why) => panic!("{why}"),
            }
        }
    }

    fn try_start(
        data_dir: &Path,
        log_dir: &Path,
        extra: &[String],
    ) -> Result<ServeProcess, String> {
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
        let exited = wait_for(PATIENCE, "possync serve answers /healthz", || {
            if let Ok(Some(status)) = process.child.try_wait() {
                let why = format!(
                    "possync serve exited with {status}: {}",
                    process.stderr_text()
                );
                return Ok(Some(why));
            }
            client
                .try_send("GET", "/healthz", &[], None)
                .ok()
                .filter(|r| r.status == 200)
                .map(|_| None)
                .ok_or_else(|| "no answer yet".to_string())
        });
        match exited {
            Some(why) => Err(why),
            None => Ok(process),
        }
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
