//! OAuth 2.0, the provider-agnostic part: the grant and error types, and the [`PosOAuth`] trait
//! each OAuth provider's folder implements (Square §A5, Zoho Accounts §B5 of providers/README.md)
//! with what those folders share. [`super::registry::OAuth`] finds the provider and does what
//! every flow shares (the redirect URI, keeping the refresh token). Blocking (ureq): call from a
//! worker or blocking thread.

use serde_json::Value;

use super::http;
use crate::crypto::Secret;
use crate::domain::{Millis, ProviderKind};

/// Tokens from an exchange or a refresh.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    /// The token pushes send.
    pub access_token: Secret,
    /// `None` when the provider keeps the old one (a Zoho refresh).
    pub refresh_token: Option<Secret>,
    /// When the access token stops working, when the provider said.
    pub expires_at: Option<Millis>,
    /// The seller's account at the provider (Square's merchant id).
    pub merchant_id: Option<String>,
    /// Zoho's data-centre API host.
    pub api_domain: Option<String>,
}

/// Why an OAuth call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OAuthError {
    /// possync has no client id/secret for this provider.
    NotConfigured(ProviderKind),
    /// The provider refused (bad or reused code, revoked refresh token): a human must reconnect.
    Refused(String),
    /// No usable answer (network, 5xx): try again later.
    Unreachable(String),
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OAuthError::NotConfigured(p) => write!(
                f,
                "possync has no OAuth client for {}; set its client id and secret",
                p.display_name()
            ),
            OAuthError::Refused(why) => write!(f, "the provider refused: {why}"),
            OAuthError::Unreachable(why) => write!(f, "the provider could not be reached: {why}"),
        }
    }
}

/// The OAuth side of one POS whose client id and secret are configured.
pub trait PosOAuth: Send + Sync {
    /// The provider's consent page for `state`, sending the browser back to `redirect_uri`.
    fn authorize_url(&self, redirect_uri: &str, state: &str) -> String;

    /// Exchange an authorization code issued for `redirect_uri`.
    fn exchange(&self, code: &str, redirect_uri: &str) -> Result<TokenGrant, OAuthError>;

    /// New tokens from a refresh token; the grant's refresh token is `None` when the provider
    /// keeps the old one.
    fn refresh(&self, refresh_token: &Secret) -> Result<TokenGrant, OAuthError>;

    /// Revoke a seller's tokens at the provider (best effort: errors are for the log).
    fn revoke(
        &self,
        access_token: Option<&Secret>,
        refresh_token: Option<&Secret>,
    ) -> Result<(), String>;

    /// Whether a token that expires at `expires_at` and was last refreshed at `refreshed_at`
    /// should be refreshed `now`.
    fn refresh_due(
        &self,
        expires_at: Option<Millis>,
        refreshed_at: Option<Millis>,
        now: Millis,
    ) -> bool;

    /// What this POS calls the places an integration pushes to, and which setting holds one.
    fn place_names(&self) -> PlaceNames;

    /// Where the token can push orders: `(id, active)` per Square location or Zoho organization.
    /// `api_domain` is the account's data centre from the grant, for a provider whose API host
    /// depends on it.
    fn places(
        &self,
        access_token: &Secret,
        api_domain: Option<&str>,
    ) -> Result<Vec<(String, bool)>, String>;
}

/// Which integration setting holds the place a POS pushes orders to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceSetting {
    /// `location_id`: a Square location.
    Location,
    /// `merchant_id`: a Zoho organization.
    Merchant,
}

impl PlaceSetting {
    /// The setting's field name in the API.
    pub fn field(self) -> &'static str {
        match self {
            PlaceSetting::Location => "location_id",
            PlaceSetting::Merchant => "merchant_id",
        }
    }
}

/// What a POS calls its places, for the note a seller reads when possync cannot pick one.
#[derive(Debug, Clone, Copy)]
pub struct PlaceNames {
    /// The setting that holds the place.
    pub setting: PlaceSetting,
    /// The usable places as the note counts them ("active locations").
    pub counted: &'static str,
    /// What a failed listing names ("locations").
    pub listed: &'static str,
    /// How the seller picks one themselves.
    pub choose: &'static str,
}

/// The one usable place among `places` (`(id, active)`), else the note telling the seller how
/// to choose: the pure half of [`super::registry::OAuth::only_place`].
pub(super) fn only_active(
    provider: ProviderKind,
    names: PlaceNames,
    places: Result<Vec<(String, bool)>, String>,
) -> Result<String, String> {
    let display = provider.display_name();
    let places = places.map_err(|e| {
        format!(
            "possync could not list the {display} {} ({e}); set {} with PATCH.",
            names.listed,
            names.setting.field()
        )
    })?;
    let active: Vec<String> = places
        .into_iter()
        .filter(|(_, active)| *active)
        .map(|(id, _)| id)
        .collect();
    if let [only] = active.as_slice() {
        return Ok(only.clone());
    }
    Err(format!(
        "The {display} account has {} {}: {}; orders wait until then.",
        active.len(),
        names.counted,
        names.choose
    ))
}

/// A configured OAuth client: both the id and the secret are set and not empty.
pub(super) struct OAuthClient {
    pub(super) id: String,
    pub(super) secret: Secret,
}

impl OAuthClient {
    /// The client from its flags, when both are set.
    pub(super) fn from_flags(id: &Option<String>, secret: &Option<String>) -> Option<OAuthClient> {
        match (id, secret) {
            (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => Some(OAuthClient {
                id: id.clone(),
                secret: Secret::new(secret.clone()),
            }),
            _ => None,
        }
    }
}

/// A string field of a provider's JSON answer.
pub(super) fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// A revoke request's answer: any 2xx is done.
pub(super) fn revoked(
    sent: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<(), String> {
    let answer = sent.map_err(|e| http::describe(&e)).and_then(http::read)?;
    if (200..300).contains(&answer.status) {
        Ok(())
    } else {
        Err(format!("revoke answered HTTP {}", answer.status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQUARE: PlaceNames = PlaceNames {
        setting: PlaceSetting::Location,
        counted: "active locations",
        listed: "locations",
        choose: "choose one",
    };

    #[test]
    fn only_one_active_place_is_picked_else_the_seller_is_told_how_to_choose() {
        let place = |id: &str, active: bool| (id.to_string(), active);
        for (places, picked) in [
            (Ok(vec![place("L1", true)]), Ok("L1")),
            (Ok(vec![place("L1", false), place("L2", true)]), Ok("L2")),
            (
                Ok(vec![place("L1", true), place("L2", true)]),
                Err(
                    "The Square account has 2 active locations: choose one; orders wait until then.",
                ),
            ),
            (
                Ok(vec![place("L1", false)]),
                Err(
                    "The Square account has 0 active locations: choose one; orders wait until then.",
                ),
            ),
            (
                Err("HTTP 503".to_string()),
                Err(
                    "possync could not list the Square locations (HTTP 503); set location_id with PATCH.",
                ),
            ),
        ] {
            let want = picked.map(str::to_string).map_err(str::to_string);
            assert_eq!(
                only_active(ProviderKind::Square, SQUARE, places.clone()),
                want,
                "{places:?}"
            );
        }
    }
}
