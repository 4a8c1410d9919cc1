//! The report: rows of a table grouped by section, each figure against its goal (PASS/MISS),
//! and the JSON written to `target/bench-report.json`.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

/// The table's sections, in order (a section not named here comes after them).
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

/// A goal of the issue: a bound on a figure, in a unit.
#[derive(Debug, Clone, Copy)]
pub struct Goal {
    bound: f64,
    unit: &'static str,
    at_most: bool,
}

impl Goal {
    /// Met when the figure is at most `bound`.
    pub const fn at_most(bound: f64, unit: &'static str) -> Goal {
        Goal {
            bound,
            unit,
            at_most: true,
        }
    }

    /// Met when the figure is at least `bound`.
    pub const fn at_least(bound: f64, unit: &'static str) -> Goal {
        Goal {
            bound,
            unit,
            at_most: false,
        }
    }

    fn met_by(self, value: f64) -> bool {
        if self.at_most {
            value <= self.bound
        } else {
            value >= self.bound
        }
    }

    fn text(self) -> String {
        let sign = if self.at_most { "≤" } else { "≥" };
        format!("{sign} {} {}", self.bound, self.unit)
    }
}

struct Row {
    section: &'static str,
    metric: String,
    value: String,
    goal: String,
    pass: Option<bool>,
}

/// What the phases found: table rows, JSON sections and the goals' verdicts.
#[derive(Default)]
pub struct Report {
    rows: Vec<Row>,
    json: Map<String, Value>,
    goals: Vec<Value>,
}

impl Report {
    /// A row without a goal.
    pub fn info(
        &mut self,
        section: &'static str,
        metric: impl Into<String>,
        value: impl Into<String>,
    ) {
        self.rows.push(Row {
            section,
            metric: metric.into(),
            value: value.into(),
            goal: String::new(),
            pass: None,
        });
    }

    /// A figure against its goal; `shown` is the value as the table prints it.
    pub fn goal(
        &mut self,
        section: &'static str,
        metric: impl Into<String>,
        goal: Goal,
        value: f64,
        shown: impl Into<String>,
    ) {
        let metric = metric.into();
        let pass = goal.met_by(value);
        let goal_text = goal.text();
        self.goals.push(json!({
            "metric": metric, "value": (value * 100.0).round() / 100.0, "unit": goal.unit,
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

    /// A yes/no goal (such as "exactly once").
    pub fn check(
        &mut self,
        section: &'static str,
        metric: &str,
        ok: bool,
        shown: String,
        goal: &str,
    ) {
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

    /// A section of the JSON report.
    pub fn put(&mut self, key: &str, value: Value) {
        self.json.insert(key.into(), value);
    }

    /// The table on stdout, by section, and how many goals were met.
    pub fn print(&self) {
        let width = |column: fn(&Row) -> &str, least: usize| {
            self.rows
                .iter()
                .map(|r| column(r).chars().count())
                .max()
                .unwrap_or(least)
        };
        let w_metric = width(|r| &r.metric, 10);
        let w_value = width(|r| &r.value, 10);
        let w_goal = width(|r| &r.goal, 4);
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

    /// Write the JSON (the sections, and the goals under `goals`) to `target/bench-report.json`.
    pub fn write(mut self) -> PathBuf {
        let goals = std::mem::take(&mut self.goals);
        self.put("goals", Value::Array(goals));
        // target/release/possync → target/bench-report.json
        let out = PathBuf::from(env!("CARGO_BIN_EXE_possync"))
            .parent()
            .and_then(Path::parent)
            .map_or_else(
                || PathBuf::from("bench-report.json"),
                |t| t.join("bench-report.json"),
            );
        let text = serde_json::to_string_pretty(&Value::Object(self.json)).expect("json");
        std::fs::write(&out, text).expect("write report");
        out
    }
}
