//! OAuth ObtainToken (§A5): the authorization-code and refresh-token grants.

use serde_json::{Value, json};

use super::errors::{SqError, fault_action};
use super::helpers::{random_string, rfc3339_seconds};
use super::prose::{dedupe, or_root};
use super::routes::{check_content_type, check_square_version, record};
use super::state::{AccessToken, Inner, RefreshToken, State};
use super::{CODE_LIFETIME, Fault, MERCHANT_ID};
use crate::common::mock_http::{Action, Request, Response};

/// An OAuth failure: Square's `errors` envelope plus the legacy `message`/`type` members.
pub(super) fn oauth_error(status: u16, code: &str, detail: &str, field: Option<&str>) -> Response {
    let mut e = SqError::new(code, detail);
    e.field = field.map(str::to_string);
    let legacy_type = match status {
        401 => "service.unauthorized",
        _ => "bad_request",
    };
    Response::json(
        status,
        &json!({"message": detail, "type": legacy_type, "errors": [e.to_json()]}),
    )
}

impl Inner {
    pub(super) fn obtain_token(&self, req: &Request) -> Action {
        let mut st = self.lock();
        st.requests.push(record(req));
        let ctx = "POST /oauth2/token";
        let fault = st.token_faults.pop_front();
        let version = check_square_version(&mut st, ctx, req);
        let content = check_content_type(&mut st, ctx, req);
        let parsed = req.json();
        let mut violations = Vec::new();
        match &parsed {
            Ok(body) => {
                violations = dedupe(self.schema_violations("ObtainTokenRequest", body));
                for v in &violations {
                    st.problem(
                        ctx,
                        format!("{}: {}: {}", or_root(&v.field), v.code, v.detail),
                    );
                }
            }
            Err(e) => st.problem(ctx, format!("the body is not JSON: {e}")),
        }
        let delay = match fault {
            Some(Fault::TimeoutAfterCommit(d)) => Some(d),
            Some(other) => return fault_action(&other),
            None => None,
        };
        let resp = (|| {
            version?;
            content?;
            let body = match parsed {
                Ok(body @ Value::Object(_)) => body,
                _ => {
                    return Err(oauth_error(
                        400,
                        "EXPECTED_JSON_BODY",
                        "The body must be a JSON object.",
                        None,
                    ));
                }
            };
            if let Some(v) = violations.first() {
                return Err(oauth_error(400, v.code, &v.detail, Some(v.field.as_str())));
            }
            self.grant(&mut st, ctx, &body)
        })()
        .unwrap_or_else(|e| e);
        match delay {
            Some(d) => Action::Delayed(d, resp),
            None => Action::Respond(resp),
        }
    }

    /// The grant itself, once the request is well formed.
    pub(super) fn grant(
        &self,
        st: &mut State,
        ctx: &str,
        body: &Value,
    ) -> Result<Response, Response> {
        let text = |k: &str| body.get(k).and_then(Value::as_str);
        let missing = |st: &mut State, field: &str, why: &str| {
            st.problem(ctx, format!("{field}: MISSING_REQUIRED_PARAMETER: {why}"));
            oauth_error(
                400,
                "MISSING_REQUIRED_PARAMETER",
                &format!("Missing required parameter `{field}`."),
                Some(field),
            )
        };
        // §A5: `client_id` and `grant_type` are required (also a schema rule; checked here so
        // that it holds without the schemas).
        for field in ["client_id", "grant_type"] {
            if text(field).is_none() {
                return Err(missing(st, field, "ObtainToken requires it (§A5)"));
            }
        }
        let grant_type = text("grant_type").unwrap_or_default();
        if !["authorization_code", "refresh_token"].contains(&grant_type) {
            st.problem(
                ctx,
                format!("grant_type {grant_type:?}: possync uses authorization_code and refresh_token only"),
            );
            return Err(oauth_error(
                400,
                "INVALID_VALUE",
                "Unsupported grant_type.",
                Some("grant_type"),
            ));
        }
        if text("client_secret").is_none() {
            if text("code_verifier").is_some() {
                st.problem(ctx, "a PKCE exchange (code_verifier): possync is a confidential client and sends client_secret");
                return Err(oauth_error(
                    400,
                    "BAD_REQUEST",
                    "The mock does not support PKCE.",
                    None,
                ));
            }
            return Err(missing(
                st,
                "client_secret",
                "the code flow sends client_secret (§A5)",
            ));
        }
        if text("client_id") != Some(st.client_id.as_str())
            || text("client_secret") != Some(st.client_secret.as_str())
        {
            return Err(oauth_error(
                401,
                "UNAUTHORIZED",
                "Not Authorized: invalid client_id or client_secret.",
                None,
            ));
        }
        let short_lived = body["short_lived"] == json!(true);
        let (refresh_token, scopes) = if grant_type == "authorization_code" {
            let Some(code) = text("code") else {
                return Err(missing(
                    st,
                    "code",
                    "the authorization_code grant needs the code",
                ));
            };
            let redirect = text("redirect_uri").map(str::to_string);
            let Some(entry) = st.codes.get(code) else {
                return Err(oauth_error(
                    401,
                    "UNAUTHORIZED",
                    "Authorization code not found.",
                    Some("code"),
                ));
            };
            let (used, expired, want, scopes) = (
                entry.used,
                entry.issued.elapsed() > CODE_LIFETIME,
                entry.redirect_uri.clone(),
                entry.scopes.clone(),
            );
            if used {
                return Err(oauth_error(
                    401,
                    "UNAUTHORIZED",
                    "Authorization code is already redeemed.",
                    Some("code"),
                ));
            }
            if expired {
                return Err(oauth_error(
                    401,
                    "UNAUTHORIZED",
                    "Authorization code is expired.",
                    Some("code"),
                ));
            }
            if let Some(want) = want
                && redirect.as_deref() != Some(want.as_str())
            {
                st.problem(
                        ctx,
                        format!("redirect_uri {redirect:?} differs from the authorize request's {want:?} (§A5)"),
                    );
                return Err(oauth_error(
                    400,
                    "INVALID_VALUE",
                    "redirect_uri does not match the authorize request.",
                    Some("redirect_uri"),
                ));
            }
            if let Some(entry) = st.codes.get_mut(code) {
                entry.used = true;
            }
            let refresh = format!("EQAA{}", random_string(60));
            st.refresh_tokens.insert(
                refresh.clone(),
                RefreshToken {
                    scopes: scopes.clone(),
                    revoked: false,
                },
            );
            (refresh, scopes)
        } else {
            let Some(refresh) = text("refresh_token") else {
                return Err(missing(
                    st,
                    "refresh_token",
                    "the refresh_token grant needs the refresh token",
                ));
            };
            let Some(entry) = st.refresh_tokens.get(refresh) else {
                return Err(oauth_error(
                    401,
                    "UNAUTHORIZED",
                    "Refresh token not found.",
                    Some("refresh_token"),
                ));
            };
            if entry.revoked {
                return Err(oauth_error(
                    401,
                    "UNAUTHORIZED",
                    "The refresh token has been revoked.",
                    Some("refresh_token"),
                ));
            }
            let mut scopes = entry.scopes.clone();
            if let Some(narrow) = body["scopes"].as_array() {
                let narrow: Vec<&str> = narrow.iter().filter_map(Value::as_str).collect();
                scopes.retain(|s| narrow.contains(&s.as_str()));
            }
            (refresh.to_string(), scopes)
        };
        let access = format!("EAAA{}", random_string(60));
        let mut info = AccessToken::fresh(&scopes);
        if short_lived {
            info.expires_at = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24);
        }
        let expires_at = rfc3339_seconds(info.expires_at);
        st.tokens.insert(access.clone(), info);
        st.tokens_issued.push(access.clone());
        Ok(Response::json(
            200,
            &json!({
                "access_token": access,
                "token_type": "bearer",
                "expires_at": expires_at,
                "merchant_id": MERCHANT_ID,
                "refresh_token": refresh_token,
                "short_lived": short_lived,
            }),
        ))
    }
}
