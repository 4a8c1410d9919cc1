//! OAuth connect flows: an authorize URL for the seller's browser, and the callback the provider
//! sends it back to (no bearer there: the single-use state authenticates it).

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Html, Json};
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::ApiTags;
use super::auth::BearerAuth;
use super::envelope::{ApiError, ApiResult, Envelope, ok};
use super::formats::Timestamp;
use super::params::OAuthProviderName;
use crate::Error;
use crate::app::App;
use crate::crypto::{hash_token, new_token};
use crate::domain::{BusinessId, ProviderKind, now_millis};
use crate::providers::oauth::{OAuthError, PlaceSetting};
use crate::store::integrations::{self, Integration, NewIntegration};
use crate::store::oauth_states::{self, OAuthState};
use crate::store::{blocking, businesses};

/// `data` of authorize.
#[derive(Debug, Object)]
pub struct AuthorizeData {
    /// Send the seller's browser here.
    pub authorize_url: String,
    /// The single-use state in the URL.
    pub state: String,
    /// When the state stops working.
    pub expires_at: Timestamp,
}

/// What the callback answers.
#[derive(ApiResponse)]
pub enum CallbackAnswer {
    /// Connected: a page saying so.
    #[oai(status = 200)]
    Connected(Html<String>),
    /// The flow failed (denied, unknown/replayed/expired state, failed exchange); nothing changed.
    #[oai(status = 400)]
    Failed(Html<String>),
    /// With `--oauth-return-url`: back to it with `status=connected` or `error=...`.
    #[oai(status = 303)]
    Redirect(#[oai(header = "Location")] String),
}

fn page(title: &str, body: &str) -> String {
    let escape = |t: &str| {
        t.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body style=\"font-family: sans-serif; max-width: 40em; margin: 3em auto\">\
         <h1>{t}</h1><p>{b}</p><p>You can close this window.</p></body></html>",
        t = escape(title),
        b = escape(body)
    )
}

/// The finished flow: the integration and a note for the seller.
struct Connected {
    integration: Integration,
    note: String,
}

/// Exchange the code and connect. Blocking. Errors are messages for the seller.
fn complete(
    app: &App,
    provider: ProviderKind,
    code: &str,
    state: &str,
) -> Result<Connected, String> {
    let hash = hash_token(state);
    let taken = app
        .store
        .write(move |tx| oauth_states::take_state(tx, &hash))
        .map_err(|e| format!("possync could not read the request: {e}"))?
        .ok_or(
            "This link is unknown or was already used. Start the connection again from possync.",
        )?;
    if taken.provider != provider {
        return Err("This link was made for another POS. Start the connection again.".into());
    }
    if taken.expires_at <= now_millis() {
        return Err("This link expired. Start the connection again from possync.".into());
    }
    let oauth = app.sync.oauth();
    let grant = oauth.exchange(provider, code).map_err(|e| match e {
        OAuthError::Refused(why) => format!(
            "{} did not accept the authorization ({why}).",
            provider.display_name()
        ),
        other => other.to_string(),
    })?;
    let existing = app
        .store
        .read(|c| integrations::integration_of_business(c, &taken.business_id))
        .map_err(|e| e.to_string())?;
    let same = existing.as_ref().filter(|i| i.provider == provider);
    let mut note = String::new();

    let mut location_id = taken
        .location_id
        .clone()
        .or_else(|| same.and_then(|i| i.location_id.clone()));
    let mut merchant_id = grant
        .merchant_id
        .clone()
        .or_else(|| same.and_then(|i| i.merchant_id.clone()));
    // Each POS names its own place (a Square location, a Zoho organization): pick the only
    // usable one, else leave the integration waiting with a note saying how to choose.
    let names = oauth.place_names(provider).map_err(|e| e.to_string())?;
    let place = match names.setting {
        PlaceSetting::Location => &mut location_id,
        PlaceSetting::Merchant => &mut merchant_id,
    };
    if place.is_none() {
        match oauth.only_place(provider, &grant) {
            Ok(only) => *place = Some(only),
            Err(why) => note = why,
        }
    }
    let activate = place.is_some();
    let new = NewIntegration {
        business_id: taken.business_id.clone(),
        provider,
        access_token: grant.access_token,
        refresh_token: grant.refresh_token,
        token_expires_at: grant.expires_at,
        location_id,
        merchant_id,
        default_customer_id: same.and_then(|i| i.default_customer_id.clone()),
        auto_sync_orders: same.is_none_or(|i| i.auto_sync_orders),
        sync_customer_info: same.is_none_or(|i| i.sync_customer_info),
        record_payment: same.is_none_or(|i| i.record_payment),
        item_mapping: same.map(|i| i.item_mapping.clone()).unwrap_or_default(),
        api_domain: grant.api_domain,
        activate,
    };
    let keyring = app.keyring.clone();
    let integration = app
        .store
        .write(move |tx| integrations::connect(tx, &keyring, &taken.seller_id, &new, now_millis()))
        .map_err(|e| format!("possync could not save the connection: {e}"))?;
    Ok(Connected { integration, note })
}

fn redirect(return_url: &str, pairs: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        query.append_pair(k, v);
    }
    let sep = if return_url.contains('?') { '&' } else { '?' };
    format!("{return_url}{sep}{}", query.finish())
}

/// The OAuth connect flows. The app comes to each operation as request data.
#[derive(Default)]
pub struct OAuthApi;

#[OpenApi(prefix_path = "/api/v1/pos/oauth", tag = "ApiTags::Pos")]
impl OAuthApi {
    /// Start connecting a POS with OAuth
    ///
    /// Answers the provider's consent URL for the seller's browser, with a random single-use
    /// `state` bound to this seller, business and provider (valid `--oauth-state-ttl`, 10 minutes
    /// by default). 409 when that provider's OAuth client is not configured on the server (or
    /// for Dine POS, which has no OAuth).
    #[oai(
        path = "/:provider/authorize",
        method = "get",
        operation_id = "oauthAuthorize"
    )]
    async fn authorize(
        &self,
        app: Data<&App>,
        auth: BearerAuth,
        provider: Path<OAuthProviderName>,
        /// The business to connect.
        business_id: Query<Uuid>,
        /// Square location (or Zoho warehouse) to use; else possync picks the only active one.
        #[oai(validator(max_length = 192, pattern = r"^[^\x00]*$"))]
        location_id: Query<Option<String>>,
    ) -> ApiResult<Json<Envelope<AuthorizeData>>> {
        let provider = provider
            .kind()
            .ok_or_else(|| ApiError::invalid("provider", "must be one of square, zoho"))?;
        if !app.sync.oauth().configured(provider) {
            return Err(Error::Conflict(match provider {
                ProviderKind::Dine => "Dine POS has no OAuth; connect it with its webhook secret".into(),
                p => format!(
                    "this server has no {} OAuth client; its operator sets the client id and secret",
                    p.display_name()
                ),
            })
            .into());
        }
        let business_id = BusinessId::from(business_id.0);
        let location_id = location_id.0.filter(|l| !l.trim().is_empty());
        let ttl =
            i64::try_from(app.settings.sync.oauth.oauth_state_ttl.as_millis()).unwrap_or(i64::MAX);
        let engine = app.sync.clone();
        let (url, state, expires_at) = app
            .as_seller(&auth)
            .run(move |store, seller| {
                let (state, hash) = new_token()?;
                let now = now_millis();
                let expires_at = now.saturating_add(ttl);
                let (seller_id, business) = (seller.to_string(), business_id.clone());
                store.write(move |tx| {
                    businesses::owned_business(tx, &seller_id, &business)?;
                    oauth_states::insert_state(
                        tx,
                        &hash,
                        &OAuthState {
                            seller_id: seller_id.clone(),
                            business_id: business.clone(),
                            provider,
                            location_id,
                            expires_at,
                        },
                        now,
                    )
                })?;
                let url = engine
                    .oauth()
                    .authorize_url(provider, state.expose())
                    .map_err(|e| Error::Conflict(e.to_string()))?;
                Ok((url, state, expires_at))
            })
            .await?;
        Ok(ok(AuthorizeData {
            authorize_url: url,
            state: state.expose().to_string(),
            expires_at: expires_at.into(),
        }))
    }

    /// OAuth callback (the provider redirects the browser here)
    ///
    /// Exchanges the code, seals the tokens, connects the integration and answers a small page
    /// (or a 303 to `--oauth-return-url`). A denied consent, an unknown, replayed or expired
    /// state, or a failed exchange answers 400 and changes nothing.
    #[oai(
        path = "/:provider/callback",
        method = "get",
        operation_id = "oauthCallback"
    )]
    async fn callback(
        &self,
        app: Data<&App>,
        /// A wrong value gets a page too, not JSON.
        provider: Path<OAuthProviderName>,
        code: Query<Option<String>>,
        state: Query<Option<String>>,
        /// Set by the provider when the seller denied access.
        error: Query<Option<String>>,
    ) -> CallbackAnswer {
        // Answers are pages (or a redirect), never the JSON envelope: a browser shows them.
        let Some(provider) = provider.kind() else {
            return CallbackAnswer::Failed(Html(page(
                "Not connected",
                "This link names a POS possync does not know. Start the connection again from possync.",
            )));
        };
        let return_url = app.settings.sync.oauth.oauth_return_url.clone();
        let result = match (error.0, code.0, state.0) {
            (Some(error), _, state) => {
                // Spend the state so it cannot be replayed.
                if let Some(state) = state {
                    let store = app.store.clone();
                    let _ = blocking(move || {
                        store.write(move |tx| oauth_states::take_state(tx, &hash_token(&state)))
                    })
                    .await;
                }
                Err(match error.as_str() {
                    "access_denied" => format!(
                        "Access to {} was denied; nothing was connected.",
                        provider.display_name()
                    ),
                    other => format!(
                        "{} answered with an error ({other}); nothing was connected.",
                        provider.display_name()
                    ),
                })
            }
            (None, Some(code), Some(state)) => {
                let app = App::clone(&app);
                blocking(move || Ok(complete(&app, provider, &code, &state)))
                    .await
                    .unwrap_or_else(|e| {
                        Err(format!("possync failed to finish the connection: {e}"))
                    })
            }
            _ => Err(
                "The link is missing its code or state. Start the connection again from possync."
                    .into(),
            ),
        };
        match (result, return_url) {
            (Ok(done), Some(url)) => CallbackAnswer::Redirect(redirect(
                &url,
                &[
                    (
                        "status",
                        if done.integration.is_active {
                            "connected"
                        } else {
                            "needs_location"
                        },
                    ),
                    ("provider", provider.as_str()),
                    ("business_id", done.integration.business_id.as_str()),
                ],
            )),
            (Ok(done), None) => CallbackAnswer::Connected(Html(page(
                &format!("{} connected", provider.display_name()),
                &if done.note.is_empty() {
                    "possync will push new orders to it from now on.".to_string()
                } else {
                    done.note
                },
            ))),
            (Err(why), Some(url)) => CallbackAnswer::Redirect(redirect(
                &url,
                &[("error", &why), ("provider", provider.as_str())],
            )),
            (Err(why), None) => CallbackAnswer::Failed(Html(page("Not connected", &why))),
        }
    }
}
