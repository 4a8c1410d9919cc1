//! Query and path values checked the same way everywhere.

use std::borrow::Cow;

use poem_openapi::Enum;
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{ParseFromParameter, ParseResult, Type};

use super::envelope::{ApiError, ApiResult};
use crate::domain::{ProviderKind, parse_id};
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

/// The POS systems that connect with OAuth (Dine POS connects with its webhook secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum OAuthProvider {
    /// Square.
    Square,
    /// Zoho Inventory.
    Zoho,
}

/// `{provider}` of the OAuth paths: declared as [`OAuthProvider`], so clients and fuzzers send
/// only those, but taken as any text so that each operation answers a wrong one its own way
/// (the callback with a page for the browser, not JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthProviderName(pub String);

impl OAuthProviderName {
    /// The provider named, if possync knows it (Dine POS included: authorize explains it).
    pub fn kind(&self) -> Option<ProviderKind> {
        self.0.parse().ok()
    }
}

impl Type for OAuthProviderName {
    const IS_REQUIRED: bool = true;
    type RawValueType = String;
    type RawElementValueType = String;

    fn name() -> Cow<'static, str> {
        OAuthProvider::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        OAuthProvider::schema_ref()
    }

    fn register(registry: &mut Registry) {
        OAuthProvider::register(registry);
    }

    fn as_raw_value(&self) -> Option<&String> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a String> + 'a> {
        Box::new(std::iter::once(&self.0))
    }
}

impl ParseFromParameter for OAuthProviderName {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(OAuthProviderName(value.to_string()))
    }
}
