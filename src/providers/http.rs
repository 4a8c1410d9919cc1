//! The blocking HTTP plumbing shared by the POS clients.

use std::time::{Duration, SystemTime};

use super::Outcome;

/// A ureq agent with a whole-request timeout that hands back every status with its body.
pub fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        // Keep a connection per worker open to the POS instead of a TLS handshake per push.
        .max_idle_connections(256)
        .max_idle_connections_per_host(256)
        .user_agent(concat!("possync/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// An HTTP answer, read whole.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub retry_after: Option<Duration>,
}

/// `Retry-After` as seconds or an HTTP date, relative to `now`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Read a ureq response whole.
pub fn read(mut resp: ureq::http::Response<ureq::Body>) -> Result<Answer, String> {
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, SystemTime::now()));
    let body = resp
        .body_mut()
        .with_config()
        .limit(4 * 1024 * 1024)
        .read_to_string()
        .map_err(|e| describe(&e))?;
    Ok(Answer {
        status,
        body,
        retry_after,
    })
}

/// A transport failure in words a seller can act on.
pub fn describe(err: &ureq::Error) -> String {
    match err {
        ureq::Error::Timeout(_) => "the POS did not answer in time (timeout)".to_string(),
        ureq::Error::ConnectionFailed => "could not connect to the POS".to_string(),
        ureq::Error::HostNotFound => "the POS host name did not resolve".to_string(),
        other => format!("network error: {other}"),
    }
}

/// Classify a failed HTTP answer (not 2xx) by status, as the retry rules want.
pub fn classify(
    status: u16,
    error: String,
    retry_after: Option<Duration>,
    invalid_request: bool,
) -> Outcome {
    match status {
        429 => Outcome::RateLimited { error, retry_after },
        401 | 403 => Outcome::AuthFailed { error },
        408 | 500..=599 if !invalid_request => Outcome::Transient { error },
        _ => Outcome::Rejected { error },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(90))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(90));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn statuses_map_to_the_retry_rules() {
        let class = |status| match classify(status, String::new(), None, false) {
            Outcome::Transient { .. } => "retry",
            Outcome::RateLimited { .. } => "backoff",
            Outcome::AuthFailed { .. } => "auth",
            Outcome::Rejected { .. } => "fail",
            Outcome::Success { .. } | Outcome::Ambiguous { .. } => "other",
        };
        for (status, want) in [
            (400, "fail"),
            (401, "auth"),
            (403, "auth"),
            (404, "fail"),
            (408, "retry"),
            (409, "fail"),
            (422, "fail"),
            (429, "backoff"),
            (500, "retry"),
            (502, "retry"),
            (503, "retry"),
            (504, "retry"),
        ] {
            assert_eq!(class(status), want, "HTTP {status}");
        }
    }
}
