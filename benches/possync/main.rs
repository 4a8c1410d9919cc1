//! The possync benchmark (issue 8): `cargo bench --bench possync [-- PHASE… | --list] [--quick]`.
//!
//! Cargo builds the release binary (the bench profile inherits `release`); this program starts
//! it as a child process on fresh temporary data directories and free ports, runs an in-process
//! mock Square (`mock_pos`: `POST /v2/orders`, poem + tokio) with a configurable latency and
//! failure rate, drives orders through the public API with a pool of HTTP clients (ureq, one
//! thread each), and reports every figure as a table on stdout and as JSON in
//! `target/bench-report.json`, each compared with the goal (PASS/MISS).
//!
//! The phases (`phases/`, one file each, in this order; `-- --list` names them):
//! binary size; start-up to ready and idle RSS; 200 orders/s with the default workers; on one
//! instance with `--sync-workers 16` (the `main` group): 200 orders/s latency (with the
//! CreateOrder and CreatePayment shares); 200 orders/s over 100 businesses (`spread`); one POS
//! hung while 100 others order (`isolation`); a POS down with 1,000 queued (`breaker`); retry
//! precision and `kill -9` recovery; per durability a backlog made at the maximum intake rate
//! then drained by 64 workers (deliveries/s); 1,000 businesses drained while intake runs
//! (`fanout`); a million sync logs: history and stats.
//!
//! `cargo bench --bench possync -- retries` runs one phase (or several; `main` selects the
//! group); `POSSYNC_BENCH_ONLY=binary,startup` does the same from the environment. A phase run
//! alone starts what it needs that an earlier phase would have left. `--quick` (or
//! `POSSYNC_BENCH_QUICK=1`) shrinks the counts to a smoke run. Counts scale with
//! `POSSYNC_BENCH_*` variables, printed at the start; also `POSSYNC_BENCH_FAILURE_RATE` (random
//! 503s during the 200/s run), `POSSYNC_BENCH_BINARY` (measure another build),
//! `POSSYNC_BENCH_EXTRA_ARGS` (more `serve` flags), `POSSYNC_BENCH_DUMP=DIR` (each phase's orders as
//! `DIR/orders-N.csv`: sent, intake answered, POS received, CreateOrder and CreatePayment answered,
//! bench ms, to see when slow orders happened).
//!
//! Timing assertions live here and never in `cargo test`: without `--bench` (which only
//! `cargo bench` passes) the program does nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;
mod mock_pos;
mod phases;

use std::time::Instant;

use serde_json::json;

use harness::clock::now_ms;
use harness::config::{Config, env_or};
use harness::procfs::{loadavg, machine};
use harness::report::Report;
use harness::service::{binary, extra_args};
use harness::{Bench, Shared};
use phases::{ALL, Phase};

/// What the command line (or `POSSYNC_BENCH_ONLY`) asks for.
struct Selection {
    /// Phase or group names; empty: every phase.
    names: Vec<String>,
    quick: bool,
    list: bool,
}

impl Selection {
    /// Reads the arguments after `--` (Cargo adds `--bench`); an unknown name is an error.
    fn parse(args: &[String]) -> Result<Selection, String> {
        let mut selection = Selection {
            names: Vec::new(),
            quick: env_or("POSSYNC_BENCH_QUICK", 0) != 0,
            list: false,
        };
        for arg in args {
            match arg.as_str() {
                "--bench" => {}
                "--quick" => selection.quick = true,
                "--list" => selection.list = true,
                flag if flag.starts_with('-') => return Err(format!("unknown flag {flag}")),
                name => selection.names.push(name.to_string()),
            }
        }
        if selection.names.is_empty() {
            let only = std::env::var("POSSYNC_BENCH_ONLY").unwrap_or_default();
            selection.names = only
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string)
                .collect();
        }
        match selection
            .names
            .iter()
            .find(|n| !ALL.iter().any(|p| p.is(n)))
        {
            Some(unknown) => Err(format!("no phase is called {unknown}")),
            None => Ok(selection),
        }
    }

    fn runs(&self, phase: &Phase) -> bool {
        self.names.is_empty() || self.names.iter().any(|n| phase.is(n))
    }
}

fn print_phases() {
    for phase in ALL {
        let groups: String = phase.groups.iter().map(|g| format!(" ({g})")).collect();
        println!("{:<12} {}{groups}", phase.name, phase.about);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        eprintln!("the possync benchmark runs with `cargo bench --bench possync`");
        return;
    }
    let selection = match Selection::parse(&args) {
        Ok(selection) => selection,
        Err(e) => {
            eprintln!("{e}; the phases (`cargo bench --bench possync -- PHASE…`):");
            print_phases();
            std::process::exit(2);
        }
    };
    if selection.list {
        print_phases();
        return;
    }
    let _ = now_ms();
    let started = Instant::now();
    let cfg = Config::from_env(selection.quick);
    let mut report = Report::default();
    let machine = machine();
    println!("possync benchmark");
    println!("machine: {machine}");
    println!("settings (POSSYNC_BENCH_* to change): {}", cfg.to_json());
    let only = selection.names.join(",");
    let mut words = selection.names.clone();
    if selection.quick {
        words.push("--quick".into());
    }
    let mut command = String::from("cargo bench --bench possync");
    if !words.is_empty() {
        command = format!("{command} -- {}", words.join(" "));
    }
    report.put("machine", machine);
    report.put("config", cfg.to_json());
    report.put("binary_under_test", json!(binary().display().to_string()));
    report.put("extra_args", json!(extra_args()));
    report.put("only", json!(only));
    report.put("command", json!(command));

    let bench = Bench::new(cfg);
    let mut shared = Shared::default();
    println!("data under {}", bench.root().display());
    for phase in ALL.iter().filter(|p| selection.runs(p)) {
        println!(
            "\n== {} ({:.0} s)",
            phase.name,
            started.elapsed().as_secs_f64()
        );
        (phase.run)(&bench, &mut shared, &mut report);
    }
    // Instances still running go before the data directories.
    drop(shared);

    let elapsed = started.elapsed().as_secs_f64();
    println!("\n== done in {elapsed:.0} s");
    report.put("elapsed_s", json!(elapsed));
    report.put("loadavg_at_end", json!(loadavg()));
    println!("load average (1 min) at the end: {:.2}", loadavg());
    report.print();
    let out = report.write();
    println!("JSON report: {}", out.display());
    bench.finish();
}
