//! Zoho Accounts OAuth (providers/README.md §B5): the consent page, code exchange and refresh
//! (a form to `/oauth/v2/token`), revoke, and the organizations a token can see.

use serde_json::Value;

use super::client::{api_base, id_text};
use crate::config::SyncArgs;
use crate::crypto::Secret;
use crate::domain::{Millis, ProviderKind, now_millis};
use crate::providers::http;
use crate::providers::oauth::{
    OAuthClient, OAuthError, PlaceNames, PlaceSetting, PosOAuth, TokenGrant, revoked, text,
};

/// The scopes possync asks Zoho for (comma-separated, as Zoho wants). `salesorders.UPDATE`
/// lets a cancellation void the sales order (§F6).
pub const SCOPES: &str = "ZohoInventory.salesorders.CREATE,ZohoInventory.salesorders.READ,\
ZohoInventory.salesorders.UPDATE,ZohoInventory.contacts.READ,ZohoInventory.contacts.CREATE,ZohoInventory.items.READ,\
ZohoInventory.settings.READ";

/// Zoho access tokens live an hour: refresh one with under 5 minutes left.
pub fn refresh_due(expires_at: Option<Millis>, now: Millis) -> bool {
    const MINUTE: Millis = 60_000;
    expires_at.is_some_and(|e| e - now < 5 * MINUTE)
}

/// Zoho Accounts with possync's client.
pub struct ZohoOAuth {
    agent: http::PosAgent,
    accounts: String,
    /// `--zoho-api-base-url`: where the organizations are listed instead of the account's data
    /// centre.
    api_base: Option<String>,
    client: OAuthClient,
}

impl ZohoOAuth {
    /// Zoho's OAuth side, when its client id and secret are set.
    pub fn from_args(args: &SyncArgs) -> Option<ZohoOAuth> {
        let client =
            OAuthClient::from_flags(&args.oauth.zoho_client_id, &args.oauth.zoho_client_secret)?;
        Some(ZohoOAuth {
            agent: http::pos_agent(args.provider_timeout, ProviderKind::Zoho),
            accounts: args
                .oauth
                .zoho_accounts_base_url
                .trim_end_matches('/')
                .to_string(),
            api_base: args.zoho_api_base_url.clone(),
            client,
        })
    }

    fn token(&self, form: &[(&str, &str)]) -> Result<TokenGrant, OAuthError> {
        let answer = self
            .agent
            .shard()
            .post(format!("{}/oauth/v2/token", self.accounts))
            .send_form(form.iter().copied())
            .map_err(|e| http::describe(&e))
            .and_then(http::read)
            .map_err(OAuthError::Unreachable)?;
        let parsed: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
        // Zoho answers HTTP 200 with {"error": ...} for a bad code or refresh token.
        if let Some(error) = text(&parsed, "error") {
            return Err(OAuthError::Refused(format!("Zoho: {error}")));
        }
        if !(200..300).contains(&answer.status) {
            return Err(OAuthError::Unreachable(format!(
                "Zoho Accounts answered HTTP {}",
                answer.status
            )));
        }
        let access = text(&parsed, "access_token").ok_or_else(|| {
            OAuthError::Unreachable("Zoho answered without an access_token".into())
        })?;
        let expires_in = parsed
            .get("expires_in")
            .and_then(Value::as_i64)
            .unwrap_or(3600);
        Ok(TokenGrant {
            access_token: Secret::new(access),
            refresh_token: text(&parsed, "refresh_token").map(Secret::new),
            expires_at: Some(now_millis() + expires_in * 1000),
            merchant_id: None,
            api_domain: text(&parsed, "api_domain"),
        })
    }
}

impl PosOAuth for ZohoOAuth {
    fn authorize_url(&self, redirect_uri: &str, state: &str) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client.id)
            .append_pair("scope", SCOPES)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("access_type", "offline")
            .append_pair("prompt", "consent")
            .append_pair("state", state);
        format!("{}/oauth/v2/auth?{}", self.accounts, query.finish())
    }

    fn exchange(&self, code: &str, redirect_uri: &str) -> Result<TokenGrant, OAuthError> {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", &self.client.id),
            ("client_secret", self.client.secret.expose()),
            ("redirect_uri", redirect_uri),
        ])
    }

    fn refresh(&self, refresh_token: &Secret) -> Result<TokenGrant, OAuthError> {
        self.token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
            ("client_id", &self.client.id),
            ("client_secret", self.client.secret.expose()),
        ])
    }

    fn revoke(
        &self,
        access_token: Option<&Secret>,
        refresh_token: Option<&Secret>,
    ) -> Result<(), String> {
        let token = refresh_token.or(access_token).ok_or("no token to revoke")?;
        revoked(
            self.agent
                .shard()
                .post(format!("{}/oauth/v2/token/revoke", self.accounts))
                .query("token", token.expose())
                .send_empty(),
        )
    }

    fn refresh_due(
        &self,
        expires_at: Option<Millis>,
        _refreshed_at: Option<Millis>,
        now: Millis,
    ) -> bool {
        refresh_due(expires_at, now)
    }

    fn place_names(&self) -> PlaceNames {
        PlaceNames {
            setting: PlaceSetting::Merchant,
            counted: "organizations",
            listed: "organizations",
            choose: "set merchant_id (the organization_id) with PATCH \
                     /api/v1/pos/integration/{businessId}",
        }
    }

    /// The organizations the token can see, from `{api_base}/organizations` (all active).
    fn places(
        &self,
        access_token: &Secret,
        api_domain: Option<&str>,
    ) -> Result<Vec<(String, bool)>, String> {
        let api_base = api_base(self.api_base.as_deref(), api_domain);
        let answer = self
            .agent
            .shard()
            .get(format!("{api_base}/organizations"))
            .header(
                "Authorization",
                format!("Zoho-oauthtoken {}", access_token.expose()),
            )
            .call()
            .map_err(|e| http::describe(&e))
            .and_then(http::read)?;
        let parsed: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
        if !(200..300).contains(&answer.status)
            || parsed.get("code").and_then(Value::as_i64) != Some(0)
        {
            return Err(format!(
                "Zoho answered HTTP {} listing organizations",
                answer.status
            ));
        }
        Ok(parsed
            .get("organizations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|o| o.get("organization_id"))
            .map(|v| (id_text(v), true))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_refreshed_with_under_five_minutes_left() {
        let now = 100 * 24 * 3_600_000;
        for (expires, due) in [
            (Some(now + 4 * 60_000), true),
            (Some(now + 50 * 60_000), false),
            (None, false),
        ] {
            assert_eq!(refresh_due(expires, now), due, "{expires:?}");
        }
    }
}
