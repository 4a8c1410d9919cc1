//! Time: stored as Unix milliseconds, shown as RFC 3339 UTC with a `Z`.

/// Unix time in milliseconds, as stored in the database.
pub type Millis = i64;

/// Now, in Unix milliseconds.
pub fn now_millis() -> Millis {
    jiff::Timestamp::now().as_millisecond()
}

/// RFC 3339 in UTC with millisecond precision and a `Z` suffix.
pub fn format_millis(ms: Millis) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(ts) => format!("{ts:.3}"),
        Err(_) => String::from("1970-01-01T00:00:00.000Z"),
    }
}

/// Parse an RFC 3339 timestamp given by a client for `field`.
pub fn parse_rfc3339(field: &str, raw: &str) -> crate::Result<Millis> {
    raw.trim()
        .parse::<jiff::Timestamp>()
        .map(|ts| ts.as_millisecond())
        .map_err(|_| {
            crate::Error::invalid(
                field,
                "must be an RFC 3339 timestamp, e.g. 2026-01-31T12:00:00Z",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_with_z_and_parses_back() {
        let ms = 1_764_000_000_123;
        let text = format_millis(ms);
        assert_eq!(text, "2025-11-24T16:00:00.123Z");
        assert_eq!(parse_rfc3339("t", &text).unwrap(), ms);
    }

    #[test]
    fn parses_offsets_and_rejects_garbage() {
        assert_eq!(
            parse_rfc3339("t", "2025-11-24T21:30:00+05:30").unwrap(),
            parse_rfc3339("t", "2025-11-24T16:00:00Z").unwrap()
        );
        for bad in ["", "yesterday", "2025-13-01T00:00:00Z", "2025-11-24"] {
            assert!(parse_rfc3339("token_expires_at", bad).is_err(), "{bad}");
        }
    }
}
