//! Query and path values checked the same way everywhere.

use super::envelope::{ApiError, ApiResult};
use crate::domain::parse_id;
use crate::store::Page;

/// Default and largest page size.
pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// `limit` (1..=200, default 50) and `offset` (>= 0, default 0).
pub fn page(limit: Option<i64>, offset: Option<i64>) -> ApiResult<Page> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let offset = offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::invalid("offset", "must be 0 or more"));
    }
    Ok(Page { limit, offset })
}

/// A UUID from the path or body, normalised to lower case.
pub fn id(field: &str, raw: &str) -> ApiResult<String> {
    Ok(parse_id(field, raw)?.to_string())
}
