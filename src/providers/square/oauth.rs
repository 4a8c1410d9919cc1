//! Square OAuth (providers/README.md §A5): the consent page, code exchange and refresh (JSON to
//! `/oauth2/token`), revoke, and the seller's locations.

use serde_json::{Value, json};

use super::classify::describe_errors;
use crate::config::SyncArgs;
use crate::crypto::Secret;
use crate::domain::{Millis, ProviderKind, parse_rfc3339};
use crate::providers::http;
use crate::providers::oauth::{
    OAuthClient, OAuthError, PlaceNames, PlaceSetting, PosOAuth, TokenGrant, revoked, text,
};

/// The scopes possync asks Square for.
/// `PAYMENTS_WRITE` records each order's payment, without which Square shows the order nowhere.
pub const SCOPES: &str = "ORDERS_WRITE ORDERS_READ ITEMS_READ MERCHANT_PROFILE_READ PAYMENTS_WRITE";

/// Square tokens last 30 days; refresh them weekly, and when one has under 7 days left.
pub fn refresh_due(expires_at: Option<Millis>, refreshed_at: Option<Millis>, now: Millis) -> bool {
    const DAY: Millis = 24 * 60 * 60_000;
    expires_at.is_some_and(|e| e - now < 7 * DAY) || refreshed_at.is_some_and(|r| now - r > 7 * DAY)
}

/// Square's OAuth endpoints with possync's application.
pub struct SquareOAuth {
    agent: http::PosAgent,
    base: String,
    version: String,
    client: OAuthClient,
}

impl SquareOAuth {
    /// Square's OAuth side, when its application id and secret are set.
    pub fn from_args(args: &SyncArgs) -> Option<SquareOAuth> {
        let client = OAuthClient::from_flags(
            &args.oauth.square_client_id,
            &args.oauth.square_client_secret,
        )?;
        Some(SquareOAuth {
            agent: http::pos_agent(args.provider_timeout, ProviderKind::Square),
            base: args.square_base_url.trim_end_matches('/').to_string(),
            version: args.square_version.clone(),
            client,
        })
    }

    fn token(&self, body: Value) -> Result<TokenGrant, OAuthError> {
        let answer = self
            .agent
            .shard()
            .post(format!("{}/oauth2/token", self.base))
            .header("Square-Version", &self.version)
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .map_err(|e| http::describe(&e))
            .and_then(http::read)
            .map_err(OAuthError::Unreachable)?;
        let parsed: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
        if !(200..300).contains(&answer.status) {
            let (why, _) = describe_errors(answer.status, &answer.body);
            return Err(if answer.status >= 500 || answer.status == 429 {
                OAuthError::Unreachable(why)
            } else {
                OAuthError::Refused(why)
            });
        }
        let access = text(&parsed, "access_token").ok_or_else(|| {
            OAuthError::Unreachable("Square answered without an access_token".into())
        })?;
        Ok(TokenGrant {
            access_token: Secret::new(access),
            refresh_token: text(&parsed, "refresh_token").map(Secret::new),
            expires_at: text(&parsed, "expires_at")
                .and_then(|t| parse_rfc3339("expires_at", &t).ok()),
            merchant_id: text(&parsed, "merchant_id"),
            api_domain: None,
        })
    }
}

impl PosOAuth for SquareOAuth {
    fn authorize_url(&self, redirect_uri: &str, state: &str) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("client_id", &self.client.id)
            .append_pair("scope", SCOPES)
            .append_pair("session", "false")
            .append_pair("state", state)
            .append_pair("redirect_uri", redirect_uri);
        format!("{}/oauth2/authorize?{}", self.base, query.finish())
    }

    fn exchange(&self, code: &str, redirect_uri: &str) -> Result<TokenGrant, OAuthError> {
        self.token(json!({
            "client_id": self.client.id,
            "client_secret": self.client.secret.expose(),
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
        }))
    }

    fn refresh(&self, refresh_token: &Secret) -> Result<TokenGrant, OAuthError> {
        self.token(json!({
            "client_id": self.client.id,
            "client_secret": self.client.secret.expose(),
            "grant_type": "refresh_token",
            "refresh_token": refresh_token.expose(),
        }))
    }

    fn revoke(
        &self,
        access_token: Option<&Secret>,
        _refresh_token: Option<&Secret>,
    ) -> Result<(), String> {
        let token = access_token.ok_or("no access token to revoke")?;
        revoked(
            self.agent
                .shard()
                .post(format!("{}/oauth2/revoke", self.base))
                .header(
                    "Authorization",
                    format!("Client {}", self.client.secret.expose()),
                )
                .header("Square-Version", &self.version)
                .header("Content-Type", "application/json")
                .send(
                    json!({"client_id": self.client.id, "access_token": token.expose()})
                        .to_string(),
                ),
        )
    }

    fn refresh_due(
        &self,
        expires_at: Option<Millis>,
        refreshed_at: Option<Millis>,
        now: Millis,
    ) -> bool {
        refresh_due(expires_at, refreshed_at, now)
    }

    fn place_names(&self) -> PlaceNames {
        PlaceNames {
            setting: PlaceSetting::Location,
            counted: "active locations",
            listed: "locations",
            choose: "choose one with PATCH /api/v1/pos/integration/{businessId} and location_id",
        }
    }

    /// The seller's locations, `(id, status is ACTIVE)`.
    fn places(
        &self,
        access_token: &Secret,
        _api_domain: Option<&str>,
    ) -> Result<Vec<(String, bool)>, String> {
        let answer = self
            .agent
            .shard()
            .get(format!("{}/v2/locations", self.base))
            .header("Authorization", format!("Bearer {}", access_token.expose()))
            .header("Square-Version", &self.version)
            .call()
            .map_err(|e| http::describe(&e))
            .and_then(http::read)?;
        if !(200..300).contains(&answer.status) {
            return Err(describe_errors(answer.status, &answer.body).0);
        }
        let parsed: Value = serde_json::from_str(&answer.body).map_err(|e| e.to_string())?;
        Ok(parsed
            .get("locations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|l| {
                Some((
                    text(l, "id")?,
                    text(l, "status").as_deref() == Some("ACTIVE"),
                ))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_refreshed_weekly_or_a_week_before_they_expire() {
        let day = 24 * 3_600_000;
        let now = 100 * day;
        for (expires, refreshed, due) in [
            (Some(now + 30 * day), Some(now - day), false),
            (Some(now + 6 * day), Some(now - day), true),
            (Some(now + 30 * day), Some(now - 8 * day), true),
            (None, None, false),
        ] {
            assert_eq!(
                refresh_due(expires, refreshed, now),
                due,
                "{expires:?} {refreshed:?}"
            );
        }
    }
}
