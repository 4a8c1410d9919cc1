//! The possync process under test: the release binary started as `possync serve` on a data
//! directory and a port of its own, waited on until ready, killed or stopped.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::api::agent_with_timeout;
use super::procfs::{process_cpu_secs, rss_of, status_kb};

/// The release binary Cargo built for this bench (`target/release/possync`), or
/// `POSSYNC_BENCH_BINARY` to measure another build (e.g. one with other profile settings).
pub fn binary() -> PathBuf {
    std::env::var_os("POSSYNC_BENCH_BINARY").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_possync")),
        PathBuf::from,
    )
}

/// `POSSYNC_BENCH_EXTRA_ARGS`: flags added to every `possync serve`, for flags the benchmark
/// does not set itself (e.g. `--db-connections 32`, `--log warn`).
pub fn extra_args() -> Vec<String> {
    std::env::var("POSSYNC_BENCH_EXTRA_ARGS")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// `["--lane-concurrency", "1"]` when the binary has per-integration lanes (issue 16 item 1),
/// else nothing: the lane phases then measure a build without lanes, and say so.
pub fn lane_flags() -> Vec<String> {
    let help = Command::new(binary())
        .args(["serve", "--help"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    if help.contains("--lane-concurrency") {
        vec!["--lane-concurrency".into(), "1".into()]
    } else {
        Vec::new()
    }
}

/// A port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A running `possync serve`; killed when dropped.
pub struct Service {
    child: Child,
    port: u16,
    data_dir: PathBuf,
    log: PathBuf,
    spawned: Instant,
}

impl Service {
    /// Spawn `possync serve` on `data_dir` and `port` with `args`; stderr goes to `<data_dir>.log`.
    pub fn start(data_dir: &Path, port: u16, args: &[String]) -> Service {
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
            data_dir: data_dir.to_path_buf(),
            log,
            spawned,
        }
    }

    /// Start again on the same data directory and port (after `kill9` or `stop`), with `args`.
    pub fn respawn(self, args: &[String]) -> Service {
        let (data_dir, port) = (self.data_dir.clone(), self.port);
        drop(self);
        Service::start(&data_dir, port, args)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The API's base URL (`…/api/v1`).
    pub fn api(&self) -> String {
        format!("{}/api/v1", self.base())
    }

    /// Its data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Its SQLite database (to read or seed while it is stopped).
    pub fn db(&self) -> PathBuf {
        self.data_dir.join("possync.db")
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How long ago it was spawned.
    pub fn since_spawn(&self) -> Duration {
        self.spawned.elapsed()
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Poll `/readyz` every millisecond; the time from spawn to the first 200.
    pub fn wait_ready(&mut self) -> Duration {
        let agent = agent_with_timeout(Duration::from_secs(2));
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
    pub fn rss_kb(&self) -> (u64, u64) {
        rss_of(self.pid())
    }

    /// A field of its /proc status in KiB (or a count, such as `Threads:`).
    pub fn status_kb(&self, name: &str) -> u64 {
        status_kb(self.pid(), name)
    }

    /// User + system CPU seconds used so far.
    pub fn cpu_secs(&self) -> f64 {
        process_cpu_secs(&format!("/proc/{}/stat", self.pid()))
    }

    /// SIGKILL, and reap.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM (graceful: in-flight requests and pushes finish), and wait.
    pub fn stop(&mut self) {
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
