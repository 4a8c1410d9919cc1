//! Value parsers for settings that clap's own types would take but possync cannot use: they
//! run while the command line is parsed, so a bad value stops start-up before the data
//! directory, the database or the key file is touched.

use std::time::Duration;

/// A duration such as `30s` or `12h` that is more than zero (a zero TTL, timeout or retry
/// interval would make every token expire at once, every call time out, or a retry loop spin).
pub fn positive_duration(raw: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(raw).map_err(|e| e.to_string())?;
    if duration.is_zero() {
        return Err("must be more than zero (e.g. `500ms`, `30s`, `12h`)".into());
    }
    Ok(duration)
}

/// An absolute `http://` or `https://` URL with a host, as the HTTP client will read it.
pub fn http_url(raw: &str) -> Result<String, String> {
    let uri: ureq::http::Uri = raw
        .parse()
        .map_err(|e| format!("not a URL ({e}); e.g. `https://pos.example.com`"))?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http" | "https"), Some(host)) if !host.is_empty() => Ok(raw.to_string()),
        (Some("http" | "https"), _) => Err("the URL has no host".into()),
        _ => Err("must start with http:// or https://".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_must_be_positive() {
        assert_eq!(positive_duration("1ms"), Ok(Duration::from_millis(1)));
        assert_eq!(
            positive_duration("30d"),
            Ok(Duration::from_secs(30 * 86_400))
        );
        for zero in ["0s", "0ms", "0"] {
            assert!(positive_duration(zero).is_err(), "{zero}");
        }
        assert!(positive_duration("soon").is_err());
    }

    #[test]
    fn urls_must_be_http_with_a_host() {
        for good in [
            "http://127.0.0.1:9",
            "https://connect.squareup.com",
            "https://www.zohoapis.in/inventory/v1",
        ] {
            assert_eq!(http_url(good).as_deref(), Ok(good));
        }
        for bad in [
            "",
            "connect.squareup.com",
            "ftp://example.com",
            "smtp://mail.example.com:25",
            "https://",
            "http:// spaced.example.com",
            "/api/v1",
        ] {
            assert!(http_url(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
