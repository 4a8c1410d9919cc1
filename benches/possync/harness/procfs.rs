//! What /proc says about a process and the machine: memory, CPU time, the machine's make-up.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::dist::Dist;

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// A field of /proc/<pid>/status in KiB (0 when absent).
pub fn status_kb(pid: u32, name: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// (VmRSS, VmHWM) of `pid` in KiB.
pub fn rss_of(pid: u32) -> (u64, u64) {
    (status_kb(pid, "VmRSS:"), status_kb(pid, "VmHWM:"))
}

/// KiB as MiB.
pub fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

/// User + system CPU seconds of the process whose `stat` file this is.
pub fn process_cpu_secs(stat: &str) -> f64 {
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

/// User + system CPU seconds the benchmark itself (mock and clients) has used so far.
pub fn own_cpu_secs() -> f64 {
    process_cpu_secs("/proc/self/stat")
}

/// The cores this process may run on.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Busy CPU seconds of the whole machine so far (all cores; /proc/stat minus idle and iowait).
pub fn machine_busy_secs() -> f64 {
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

/// Samples VmRSS every 100 ms until finished; the maximum seen.
pub struct RssSampler {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<u64>,
}

impl RssSampler {
    /// Start sampling `pid` on a thread of its own.
    pub fn start(pid: u32) -> RssSampler {
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

    /// Stop; the largest VmRSS seen, KiB.
    pub fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap_or(0)
    }
}

/// The machine the figures come from (the report's `machine`).
pub fn machine() -> Value {
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
pub fn loadavg() -> f64 {
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
