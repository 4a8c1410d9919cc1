//! Logs an operator can grep and metrics a scraper can parse (issue 17 items 5 and 6), through
//! the binary: a push that retries then fails, read back from the JSON log lines and from
//! `/metrics` parsed as the OpenMetrics text it declares.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

use crate::common::mock_square::Fault;
use crate::common::wait::wait_some;
use crate::oauth_support::{location, square_flags, square_mock};
use crate::operations::{Service, place_order, shop};

/// One sample of an OpenMetrics exposition.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parse OpenMetrics text (the subset possync writes: `# TYPE`/`# HELP`/`# UNIT` lines,
/// samples with quoted label values, `# EOF` last). Returns the declared families with their
/// types, and the samples; panics on a line that is not OpenMetrics.
fn parse_openmetrics(text: &str) -> (BTreeMap<String, String>, Vec<Sample>) {
    let mut types = BTreeMap::new();
    let mut samples = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.last(), Some(&"# EOF"), "OpenMetrics ends with # EOF");
    for line in &lines[..lines.len() - 1] {
        if let Some(meta) = line.strip_prefix("# ") {
            let mut parts = meta.splitn(3, ' ');
            let (kind, family) = (parts.next().unwrap(), parts.next().unwrap());
            assert!(
                ["TYPE", "HELP", "UNIT"].contains(&kind),
                "unknown line: {line}"
            );
            if kind == "TYPE" {
                types.insert(family.to_string(), parts.next().unwrap().to_string());
            }
            continue;
        }
        let (name, rest) = match line.find('{') {
            Some(brace) => (&line[..brace], &line[brace..]),
            None => line.split_once(' ').unwrap(),
        };
        let mut labels = BTreeMap::new();
        let mut rest = rest;
        if let Some(inner) = rest.strip_prefix('{') {
            let mut chars = inner.char_indices();
            let mut key = String::new();
            let end = loop {
                let (i, c) = chars.next().expect("a closed label set");
                match c {
                    '}' => break i,
                    ',' => {}
                    '=' => {
                        assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "{line}");
                        let mut value = String::new();
                        loop {
                            match chars.next().expect("a closed label value").1 {
                                '"' => break,
                                '\\' => match chars.next().unwrap().1 {
                                    'n' => value.push('\n'),
                                    other => value.push(other),
                                },
                                other => value.push(other),
                            }
                        }
                        labels.insert(std::mem::take(&mut key), value);
                    }
                    other => key.push(other),
                }
            };
            rest = &inner[end + 1..];
        }
        let value = rest.split_whitespace().next().expect("a value");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("a number: {line}")),
        };
        let family = ["_bucket", "_count", "_sum", "_total", "_created"]
            .iter()
            .find_map(|s| name.strip_suffix(s).filter(|f| types.contains_key(*f)))
            .unwrap_or(name);
        assert!(
            types.contains_key(family),
            "a sample without # TYPE: {line}"
        );
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    (types, samples)
}

/// The value of the sample `name` whose labels include `want`.
fn value(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && want
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

/// The JSON log lines with this `fields.status` (the settled attempt lines).
fn settled<'a>(lines: &'a [Value], status: &str) -> Vec<&'a Value> {
    lines
        .iter()
        .filter(|l| l["fields"]["status"] == status && l["fields"]["sync_log_id"].is_string())
        .collect()
}

#[test]
fn a_push_that_retries_then_fails_is_logged_warn_then_error_and_measured() {
    let mock = square_mock(vec![location("L8AHQ2RX0BX1K", "ACTIVE")]);
    let flags = square_flags(&mock, &["--log-format", "json", "--max-retries", "1"]);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let dir = TempDir::new().unwrap();
    let mut svc = Service::spawn(dir.path(), &flags);
    let access_token = "EAAAl-obs-square-token-5d1e";
    mock.set_access_token(access_token);
    let shop = shop(&svc, "obs@spicegarden.in", access_token);

    // One order that goes through.
    let delivered = place_order(&svc, &shop, 2);
    let order_path = format!("/api/v1/orders/{delivered}");
    wait_some(Duration::from_secs(20), "the push to succeed", || {
        let resp = svc.call("GET", &order_path, Some(&shop.token), None);
        (resp.body["data"]["sync_log"]["status"] == "success").then_some(())
    });
    // Then two 503s: the first attempt goes to `retry`, the second (the last allowed) to `failed`.
    mock.push_fault(Fault::Status(503));
    mock.push_fault(Fault::Status(503));
    let failed = place_order(&svc, &shop, 1);
    let order_path = format!("/api/v1/orders/{failed}");
    wait_some(Duration::from_secs(20), "the push to fail", || {
        let resp = svc.call("GET", &order_path, Some(&shop.token), None);
        (resp.body["data"]["sync_log"]["status"] == "failed").then_some(())
    });

    // /metrics says what it serves, and it parses as that.
    let resp = svc.call("GET", "/metrics", None, None);
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    let (types, samples) = parse_openmetrics(&resp.text);
    for (family, kind) in [
        ("possync_pos_request_duration_seconds", "histogram"),
        ("possync_http_request_duration_seconds", "histogram"),
        ("possync_queue_depth", "gauge"),
        ("possync_sync_attempts", "counter"),
    ] {
        assert_eq!(
            types.get(family).map(String::as_str),
            Some(kind),
            "{family}"
        );
    }
    let pos = "possync_pos_request_duration_seconds_count";
    let push = |outcome| {
        value(
            &samples,
            pos,
            &[
                ("provider", "square"),
                ("operation", "push"),
                ("outcome", outcome),
            ],
        )
    };
    assert_eq!(push("5xx"), Some(2.0), "{}", resp.text);
    assert_eq!(push("2xx"), Some(1.0), "{}", resp.text);
    // The HTTP histogram is labelled by route template, never by a path with an id.
    let route = "/api/v1/orders/{orderId}";
    let polls = value(
        &samples,
        "possync_http_request_duration_seconds_count",
        &[("method", "GET"), ("route", route), ("status", "200")],
    );
    assert!(polls >= Some(2.0), "{}", resp.text);
    assert!(
        samples.iter().all(|s| s
            .labels
            .get("route")
            .is_none_or(|r| !r.contains(&failed) && !r.contains(&delivered))),
        "{}",
        resp.text
    );
    for status in ["pending", "syncing", "retry"] {
        let depth = value(&samples, "possync_queue_depth", &[("status", status)]);
        assert_eq!(depth, Some(0.0), "nothing is queued: {status}");
    }

    let (status, _) = svc.terminate(Duration::from_secs(15));
    assert!(status.success(), "exit: {status}");
    let raw = svc.logs_after_exit();
    let lines: Vec<Value> = raw
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();

    // A retry at WARN, then the failure at ERROR, each with its fields apart.
    let retry = settled(&lines, "retry");
    let fail = settled(&lines, "failed");
    assert_eq!((retry.len(), fail.len()), (1, 1), "{raw:#?}");
    for (line, level) in [(retry[0], "WARN"), (fail[0], "ERROR")] {
        let fields = &line["fields"];
        assert_eq!(line["level"], level, "{line}");
        assert_eq!(fields["order_id"], failed.as_str(), "{line}");
        assert_eq!(fields["provider"], "square", "{line}");
        assert_eq!(fields["http_status"], 503, "a number: {line}");
        assert!(fields["duration_ms"].is_u64(), "a number: {line}");
        assert!(
            fields["sync_log_id"]
                .as_str()
                .is_some_and(|id| !id.is_empty())
        );
        assert!(fields["error"].as_str().is_some_and(|e| !e.is_empty()));
    }
    assert!(!raw.iter().any(|l| l.contains("Some(")), "{raw:#?}");

    // The order that went through: one INFO line for it, with the same fields.
    let success = settled(&lines, "success");
    assert_eq!(success.len(), 1, "{raw:#?}");
    assert_eq!(success[0]["level"], "INFO");
    assert_eq!(success[0]["fields"]["order_id"], delivered.as_str());
    assert_eq!(success[0]["fields"]["http_status"], 200);
    let info_on_intake = lines
        .iter()
        .filter(|l| l["level"] == "INFO" && l["span"]["name"] == "request")
        .count();
    assert_eq!(info_on_intake, 0, "2xx request lines stay below INFO");

    // With JSON logs stdout is empty: the start-up lines are JSON log lines on stderr.
    assert_eq!(svc.stdout(), Vec::<String>::new());
    assert!(
        lines.iter().any(|l| l["target"] == "possync::banner"
            && l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("Swagger UI: http://"))),
        "{raw:#?}"
    );
}
