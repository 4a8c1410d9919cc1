//! The black-box harness: each test runs its own possync (real SQLite file in a temp dir, real
//! HTTP on 127.0.0.1 with port 0) and talks HTTP to it.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use possync::app::App;
use possync::cli::{Cli, Command};
use possync::server::Server;
use serde_json::{Value, json};
use tempfile::TempDir;

pub mod browser;
pub mod client;
pub mod crash;
pub mod hung_pos;
pub mod mock_dine;
pub mod mock_http;
pub mod mock_schemas;
pub mod mock_square;
pub mod mock_whatsapp;
pub mod mock_zoho;
pub mod provider_env;
pub mod small_disk;
pub mod smtp_sink;
pub mod wait;

pub use client::Client;

/// A URL where nothing listens: a push there fails at once ("connection refused").
pub const CLOSED_PORT_URL: &str = "http://127.0.0.1:9";

/// `serve` flags that point every POS at [`CLOSED_PORT_URL`] and space retries an hour apart, so
/// a test that connects an integration and places orders never reaches the internet.
pub const OFFLINE: &[&str] = &[
    "--square-base-url",
    CLOSED_PORT_URL,
    "--zoho-api-base-url",
    CLOSED_PORT_URL,
    "--dine-base-url",
    CLOSED_PORT_URL,
    "--retry-interval",
    "1h",
];

/// A running service and its data directory.
pub struct TestApp {
    pub dir: TempDir,
    runtime: tokio::runtime::Runtime,
    server: Option<Server>,
    client: Client,
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

    /// A fresh service whose POS endpoints are all [`OFFLINE`], plus extra `serve` flags.
    pub fn start_offline(extra: &[&str]) -> TestApp {
        let flags: Vec<&str> = OFFLINE.iter().chain(extra).copied().collect();
        Self::start_with(&flags)
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
        let server = match runtime.block_on(possync::start(args)) {
            Ok(server) => server,
            Err(e) => return Err((e, dir)),
        };
        let client = Client::new(&format!("http://{}", server.addr()));
        Ok(TestApp {
            dir,
            runtime,
            server: Some(server),
            client,
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

    /// The data directory (database, WAL, key file).
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Every row of every table, for "nothing was written" checks.
    pub fn snapshot(&self) -> DbSnapshot {
        db_snapshot(&self.db_path())
    }
}

/// Requests go through the one [`Client`]: `app.get(..)`, `app.login_new_seller(..)`, `app.base`.
impl std::ops::Deref for TestApp {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
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

/// Open the database read-only (it may be in use by a running service).
pub fn open_db_read_only(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .unwrap_or_else(|e| panic!("opening {} read-only: {e}", path.display()));
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn
}

/// Every table's rows, each rendered as text and sorted.
pub type DbSnapshot = BTreeMap<String, Vec<String>>;

/// The user tables of the database.
pub fn db_tables(conn: &rusqlite::Connection) -> Vec<String> {
    let mut stmt = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             ORDER BY name",
        )
        .unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .collect::<rusqlite::Result<Vec<_>>>()
        .unwrap()
}

/// Every row of every table of the database at `path`.
pub fn db_snapshot(path: &Path) -> DbSnapshot {
    let conn = open_db_read_only(path);
    let mut snapshot = BTreeMap::new();
    for table in db_tables(&conn) {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = stmt.column_count();
        let mut rows: Vec<String> = stmt
            .query_map([], |row| {
                let values: Vec<String> = (0..columns)
                    .map(|i| format!("{:?}", row.get_ref(i).unwrap()))
                    .collect();
                Ok(values.join(" | "))
            })
            .unwrap()
            .collect::<rusqlite::Result<Vec<_>>>()
            .unwrap();
        rows.sort();
        snapshot.insert(table, rows);
    }
    snapshot
}

/// The tables whose rows differ between two snapshots, with their row counts before and after.
pub fn snapshot_changes(before: &DbSnapshot, after: &DbSnapshot) -> Vec<String> {
    let tables: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    tables
        .into_iter()
        .filter(|t| before.get(*t) != after.get(*t))
        .map(|t| {
            let count = |s: &DbSnapshot| s.get(t).map_or(0, Vec::len);
            format!("{t} ({} rows -> {} rows)", count(before), count(after))
        })
        .collect()
}

/// The `possync` binary with no `POSSYNC_*` variable inherited from whoever runs the tests.
pub fn possync_command() -> Process {
    let mut cmd = Process::new(binary());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("POSSYNC_") {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// What a finished `possync` command did.
#[derive(Debug)]
pub struct CliRun {
    /// The exit code (`None` when a signal ended it).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl CliRun {
    /// Assert a zero exit, showing both streams otherwise.
    pub fn expect_success(&self) -> &Self {
        assert_eq!(
            self.code,
            Some(0),
            "possync failed\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}

/// Run a prepared `possync` command to its end (at most `limit`; killed and a panic after that),
/// feeding `stdin` when given.
pub fn run_command(mut cmd: Process, stdin: Option<&str>, limit: Duration) -> CliRun {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("possync runs");
    {
        let mut pipe = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            // The command may exit before reading (e.g. a refused flag): ignore a broken pipe.
            let _ = pipe.write_all(text.as_bytes());
        }
    }
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "possync did not finish within {limit:?}; stderr:\n{}",
                stderr.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    CliRun {
        code: status.code(),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// `possync <args>` to its end (30 s at most), with `stdin` when given.
pub fn run_possync(args: &[&str], stdin: Option<&str>) -> CliRun {
    let mut cmd = possync_command();
    cmd.args(args);
    run_command(cmd, stdin, Duration::from_secs(30))
}
