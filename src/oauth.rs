//! OAuth 2.0 with Square (providers/README.md §A5) and Zoho Accounts (§B5): authorize URLs,
//! code exchange, refresh, revoke, and Square's location list. Blocking (ureq): call from a
//! worker or blocking thread.

use std::time::Duration;

use serde_json::{Value, json};

use crate::config::{OAuthArgs, SyncArgs};
use crate::crypto::Secret;
use crate::domain::{Millis, ProviderKind, now_millis, parse_rfc3339};
use crate::providers::http;

/// The scopes possync asks Square for.
pub const SQUARE_SCOPES: &str = "ORDERS_WRITE ORDERS_READ ITEMS_READ MERCHANT_PROFILE_READ";
/// The scopes possync asks Zoho for (comma-separated, as Zoho wants).
pub const ZOHO_SCOPES: &str = "ZohoInventory.salesorders.CREATE,ZohoInventory.salesorders.READ,\
ZohoInventory.contacts.READ,ZohoInventory.contacts.CREATE,ZohoInventory.items.READ,\
ZohoInventory.settings.READ";

/// Tokens from an exchange or a refresh.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    pub access_token: Secret,
    /// `None` when the provider keeps the old one (a Zoho refresh).
    pub refresh_token: Option<Secret>,
    pub expires_at: Option<Millis>,
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

struct Client {
    id: String,
    secret: Secret,
}

/// The OAuth side of every provider.
pub struct OAuth {
    agent: ureq::Agent,
    public_url: String,
    square_base: String,
    square_version: String,
    square: Option<Client>,
    zoho_accounts: String,
    zoho: Option<Client>,
}

impl std::fmt::Debug for OAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth")
            .field("square", &self.square.is_some())
            .field("zoho", &self.zoho.is_some())
            .finish_non_exhaustive()
    }
}

fn client(id: &Option<String>, secret: &Option<String>) -> Option<Client> {
    match (id, secret) {
        (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => Some(Client {
            id: id.clone(),
            secret: Secret::new(secret.clone()),
        }),
        _ => None,
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

impl OAuth {
    /// The OAuth clients configured by the flags.
    pub fn from_args(args: &SyncArgs) -> OAuth {
        let o: &OAuthArgs = &args.oauth;
        OAuth {
            agent: http::agent(args.provider_timeout),
            public_url: o.public_url.trim_end_matches('/').to_string(),
            square_base: args.square_base_url.trim_end_matches('/').to_string(),
            square_version: args.square_version.clone(),
            square: client(&o.square_client_id, &o.square_client_secret),
            zoho_accounts: o.zoho_accounts_base_url.trim_end_matches('/').to_string(),
            zoho: client(&o.zoho_client_id, &o.zoho_client_secret),
        }
    }

    fn client(&self, provider: ProviderKind) -> Result<&Client, OAuthError> {
        match provider {
            ProviderKind::Square => self.square.as_ref(),
            ProviderKind::Zoho => self.zoho.as_ref(),
            ProviderKind::Dine => None,
        }
        .ok_or(OAuthError::NotConfigured(provider))
    }

    /// Whether this provider's OAuth client is configured.
    pub fn configured(&self, provider: ProviderKind) -> bool {
        self.client(provider).is_ok()
    }

    /// Where the provider sends the browser back.
    pub fn redirect_uri(&self, provider: ProviderKind) -> String {
        format!(
            "{}/api/v1/pos/oauth/{}/callback",
            self.public_url,
            provider.as_str()
        )
    }

    /// The provider's consent page for `state`.
    pub fn authorize_url(&self, provider: ProviderKind, state: &str) -> Result<String, OAuthError> {
        let client = self.client(provider)?;
        let redirect = self.redirect_uri(provider);
        let mut query = form_urlencoded::Serializer::new(String::new());
        let url = match provider {
            ProviderKind::Square => {
                query
                    .append_pair("client_id", &client.id)
                    .append_pair("scope", SQUARE_SCOPES)
                    .append_pair("session", "false")
                    .append_pair("state", state)
                    .append_pair("redirect_uri", &redirect);
                format!("{}/oauth2/authorize?{}", self.square_base, query.finish())
            }
            _ => {
                query
                    .append_pair("response_type", "code")
                    .append_pair("client_id", &client.id)
                    .append_pair("scope", ZOHO_SCOPES)
                    .append_pair("redirect_uri", &redirect)
                    .append_pair("access_type", "offline")
                    .append_pair("prompt", "consent")
                    .append_pair("state", state);
                format!("{}/oauth/v2/auth?{}", self.zoho_accounts, query.finish())
            }
        };
        Ok(url)
    }

    /// Exchange an authorization code.
    pub fn exchange(&self, provider: ProviderKind, code: &str) -> Result<TokenGrant, OAuthError> {
        let client = self.client(provider)?;
        let redirect = self.redirect_uri(provider);
        match provider {
            ProviderKind::Square => self.square_token(json!({
                "client_id": client.id,
                "client_secret": client.secret.expose(),
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect,
            })),
            _ => self.zoho_token(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("client_id", &client.id),
                ("client_secret", client.secret.expose()),
                ("redirect_uri", &redirect),
            ]),
        }
    }

    /// New tokens from a refresh token. Square and Zoho both keep the refresh token the same;
    /// the grant then carries the old one.
    pub fn refresh(
        &self,
        provider: ProviderKind,
        refresh_token: &Secret,
    ) -> Result<TokenGrant, OAuthError> {
        let client = self.client(provider)?;
        let mut grant = match provider {
            ProviderKind::Square => self.square_token(json!({
                "client_id": client.id,
                "client_secret": client.secret.expose(),
                "grant_type": "refresh_token",
                "refresh_token": refresh_token.expose(),
            }))?,
            _ => self.zoho_token(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.expose()),
                ("client_id", &client.id),
                ("client_secret", client.secret.expose()),
            ])?,
        };
        if grant.refresh_token.is_none() {
            grant.refresh_token = Some(refresh_token.clone());
        }
        Ok(grant)
    }

    fn square_token(&self, body: Value) -> Result<TokenGrant, OAuthError> {
        let answer = self
            .agent
            .post(format!("{}/oauth2/token", self.square_base))
            .header("Square-Version", &self.square_version)
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .map_err(|e| http::describe(&e))
            .and_then(http::read)
            .map_err(OAuthError::Unreachable)?;
        let parsed: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
        if !(200..300).contains(&answer.status) {
            let (why, _) = crate::providers::square::describe_errors(answer.status, &answer.body);
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

    fn zoho_token(&self, form: &[(&str, &str)]) -> Result<TokenGrant, OAuthError> {
        let answer = self
            .agent
            .post(format!("{}/oauth/v2/token", self.zoho_accounts))
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

    /// Revoke a seller's tokens at the provider (best effort: errors are for the log).
    pub fn revoke(
        &self,
        provider: ProviderKind,
        access_token: Option<&Secret>,
        refresh_token: Option<&Secret>,
    ) -> Result<(), String> {
        let client = self.client(provider).map_err(|e| e.to_string())?;
        let sent = match provider {
            ProviderKind::Square => {
                let token = access_token.ok_or("no access token to revoke")?;
                self.agent
                    .post(format!("{}/oauth2/revoke", self.square_base))
                    .header(
                        "Authorization",
                        format!("Client {}", client.secret.expose()),
                    )
                    .header("Square-Version", &self.square_version)
                    .header("Content-Type", "application/json")
                    .send(
                        json!({"client_id": client.id, "access_token": token.expose()}).to_string(),
                    )
            }
            _ => {
                let token = refresh_token.or(access_token).ok_or("no token to revoke")?;
                self.agent
                    .post(format!("{}/oauth/v2/token/revoke", self.zoho_accounts))
                    .query("token", token.expose())
                    .send_empty()
            }
        };
        let answer = sent.map_err(|e| http::describe(&e)).and_then(http::read)?;
        if (200..300).contains(&answer.status) {
            Ok(())
        } else {
            Err(format!("revoke answered HTTP {}", answer.status))
        }
    }

    /// Square's locations: `(id, active)`.
    pub fn square_locations(&self, access_token: &Secret) -> Result<Vec<(String, bool)>, String> {
        let answer = self
            .agent
            .get(format!("{}/v2/locations", self.square_base))
            .header("Authorization", format!("Bearer {}", access_token.expose()))
            .header("Square-Version", &self.square_version)
            .call()
            .map_err(|e| http::describe(&e))
            .and_then(http::read)?;
        if !(200..300).contains(&answer.status) {
            return Err(crate::providers::square::describe_errors(answer.status, &answer.body).0);
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

impl OAuth {
    /// The Zoho organizations the token can see (ids), from `{api_base}/organizations`.
    pub fn zoho_organizations(
        &self,
        api_base: &str,
        access_token: &Secret,
    ) -> Result<Vec<String>, String> {
        let answer = self
            .agent
            .get(format!("{}/organizations", api_base.trim_end_matches('/')))
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
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect())
    }
}

/// Whether a token should be refreshed now: Square tokens last refreshed over 7 days ago or
/// expiring within 7 days; Zoho tokens with under 5 minutes left.
pub fn refresh_due(
    provider: ProviderKind,
    expires_at: Option<Millis>,
    refreshed_at: Option<Millis>,
    now: Millis,
) -> bool {
    const MINUTE: Millis = 60_000;
    const DAY: Millis = 24 * 60 * MINUTE;
    match provider {
        ProviderKind::Square => {
            expires_at.is_some_and(|e| e - now < 7 * DAY)
                || refreshed_at.is_some_and(|r| now - r > 7 * DAY)
        }
        ProviderKind::Zoho => expires_at.is_some_and(|e| e - now < 5 * MINUTE),
        ProviderKind::Dine => false,
    }
}

/// How long the state of an authorize request lives.
pub fn state_ttl(args: &OAuthArgs) -> Duration {
    args.oauth_state_ttl
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_is_due_as_the_providers_want() {
        let day = 24 * 3_600_000;
        let now = 100 * day;
        for (provider, expires, refreshed, due) in [
            (
                ProviderKind::Square,
                Some(now + 30 * day),
                Some(now - day),
                false,
            ),
            (
                ProviderKind::Square,
                Some(now + 6 * day),
                Some(now - day),
                true,
            ),
            (
                ProviderKind::Square,
                Some(now + 30 * day),
                Some(now - 8 * day),
                true,
            ),
            (ProviderKind::Square, None, None, false),
            (ProviderKind::Zoho, Some(now + 4 * 60_000), None, true),
            (ProviderKind::Zoho, Some(now + 50 * 60_000), None, false),
            (ProviderKind::Dine, Some(now), None, false),
        ] {
            assert_eq!(
                refresh_due(provider, expires, refreshed, now),
                due,
                "{provider} {expires:?} {refreshed:?}"
            );
        }
    }
}
