//! Log set-up: the `--log` filter, the line format, and the targets no filter may open.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::cli::LogFormat;

/// Crates whose logs carry raw traffic or credentials, never written whatever `--log` says:
/// at `trace` ureq-proto hex-dumps every byte sent and received (bearer tokens, the OAuth
/// client secret on a revoke, refreshed tokens) and ureq documents its trace output as "NOT
/// REDACTED"; rustls prints handshake messages; lettre, when built with its `tracing` feature,
/// prints the SMTP conversation, `AUTH` included. A directive such as `ureq_proto=trace` would
/// outrank a plain `ureq_proto=off`, so they are dropped by a filter of their own.
const WIRE_TARGETS: &[&str] = &["ureq", "ureq_proto", "rustls", "lettre"];

/// The target of the start-up lines (the address, Swagger UI's): written whatever `--log`
/// says, since scripts and people look for them.
pub const BANNER: &str = "possync::banner";

/// Whether events of `target` (a module path) are kept out of every log.
pub fn is_wire_target(target: &str) -> bool {
    WIRE_TARGETS.iter().any(|crate_name| {
        target
            .strip_prefix(crate_name)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

/// Install the global subscriber: lines on stderr filtered by `directives` (`EnvFilter`
/// syntax; `info` when they do not parse) with the [`BANNER`] lines kept, in `format`, never
/// from a wire target. Also routes
/// the `log` records of ureq and r2d2 through it.
pub fn init(directives: &str, format: LogFormat) {
    let mut filter = EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new("info"));
    if let Ok(banner) = format!("{BANNER}=info").parse() {
        filter = filter.add_directive(banner);
    }
    let no_wire = filter_fn(|meta| !is_wire_target(meta.target()));
    let lines = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Text => lines.finish().with(no_wire).init(),
        LogFormat::Json => lines.json().finish().with(no_wire).init(),
    }
}

#[cfg(test)]
mod tests {
    use super::is_wire_target;

    #[test]
    fn wire_targets_are_whole_crates_and_nothing_else() {
        for wire in [
            "ureq",
            "ureq::run",
            "ureq_proto",
            "ureq_proto::util",
            "rustls::conn",
        ] {
            assert!(is_wire_target(wire), "{wire}");
        }
        for kept in [
            "possync",
            "possync::sync::engine",
            "ureqx",
            "rustls_pki",
            "poem::server",
        ] {
            assert!(!is_wire_target(kept), "{kept}");
        }
    }
}
