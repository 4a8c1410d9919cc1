//! Binary size, as built and stripped.

use std::process::Command;

use serde_json::json;

use super::Phase;
use crate::harness::report::{Goal, Report};
use crate::harness::service::binary;
use crate::harness::{Bench, Shared};

/// Binary size.
pub const PHASE: Phase = Phase {
    name: "binary",
    groups: &[],
    about: "stripped binary size",
    run,
};

const GOAL_BINARY: Goal = Goal::at_most(8.0, "MiB");

fn run(_: &Bench, _: &mut Shared, report: &mut Report) {
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
        GOAL_BINARY,
        mib,
        format!("{mib:.2} MiB"),
    );
}
