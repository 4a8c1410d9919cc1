//! OAuth (§A5) besides the grants: RevokeToken, RetrieveTokenStatus and the authorize page.

use std::time::Instant;

use serde_json::{Value, json};

use super::helpers::{random_string, rfc3339_seconds};
use super::oauth_grant::oauth_error;
use super::prose::{Violation, dedupe, or_root, present};
use super::routes::{check_content_type, check_square_version, record};
use super::state::{AuthCode, Inner};
use super::{AUTHORIZE_DEFAULT_SCOPES, MERCHANT_ID, UNAUTHORIZED_DETAIL};
use crate::common::mock_http::{Action, Request, Response};

impl Inner {
    pub(super) fn revoke_token(&self, req: &Request) -> Action {
        let mut st = self.lock();
        st.requests.push(record(req));
        let ctx = "POST /oauth2/revoke";
        let version = check_square_version(&mut st, ctx, req);
        let content = check_content_type(&mut st, ctx, req);
        let auth = match req.header("authorization") {
            Some(v) if v.starts_with("Client ") => Some(v["Client ".len()..].trim().to_string()),
            Some(v) => {
                let scheme = v.split_whitespace().next().unwrap_or_default().to_string();
                st.problem(
                    ctx,
                    format!(
                        "Authorization scheme {scheme:?}: RevokeToken takes `Client <secret>` (§A5)"
                    ),
                );
                None
            }
            None => {
                st.problem(
                    ctx,
                    "no Authorization header: RevokeToken takes `Client <secret>` (§A5)",
                );
                None
            }
        };
        let body = match req.json() {
            Ok(body @ Value::Object(_)) => body,
            other => {
                st.problem(ctx, format!("the body is not a JSON object: {other:?}"));
                return Action::Respond(oauth_error(
                    400,
                    "EXPECTED_JSON_BODY",
                    "The body must be a JSON object.",
                    None,
                ));
            }
        };
        let mut violations = dedupe(self.schema_violations("RevokeTokenRequest", &body));
        let access_token = present(&body, "access_token")
            .and_then(Value::as_str)
            .map(str::to_string);
        let merchant = present(&body, "merchant_id")
            .and_then(Value::as_str)
            .map(str::to_string);
        if present(&body, "client_id").is_none() {
            violations.push(Violation::reject(
                "client_id",
                "MISSING_REQUIRED_PARAMETER",
                "RevokeToken needs client_id (§A5).",
            ));
        }
        match (&access_token, &merchant) {
            (Some(_), Some(_)) => violations.push(Violation::reject(
                "access_token",
                "CONFLICTING_PARAMETERS",
                "Send access_token or merchant_id, never both.",
            )),
            (None, None) => violations.push(Violation::reject(
                "access_token",
                "MISSING_REQUIRED_PARAMETER",
                "Send access_token or merchant_id.",
            )),
            _ => {}
        }
        for v in &violations {
            st.problem(
                ctx,
                format!("{}: {}: {}", or_root(&v.field), v.code, v.detail),
            );
        }
        if let Err(resp) = version.and(content) {
            return Action::Respond(resp);
        }
        let Some(secret) = auth else {
            return Action::Respond(oauth_error(401, "UNAUTHORIZED", "Not Authorized.", None));
        };
        if let Some(v) = violations.first() {
            return Action::Respond(oauth_error(400, v.code, &v.detail, Some(v.field.as_str())));
        }
        if secret != st.client_secret || body["client_id"].as_str() != Some(st.client_id.as_str()) {
            return Action::Respond(oauth_error(
                401,
                "UNAUTHORIZED",
                "Not Authorized: invalid client credentials.",
                None,
            ));
        }
        let named = match (&access_token, &merchant) {
            (Some(token), _) => {
                if !st.tokens.contains_key(token) {
                    return Action::Respond(oauth_error(
                        404,
                        "NOT_FOUND",
                        "Access token not found.",
                        Some("access_token"),
                    ));
                }
                token.clone()
            }
            (None, Some(m)) => {
                if m != MERCHANT_ID {
                    return Action::Respond(oauth_error(
                        404,
                        "NOT_FOUND",
                        "Merchant not found.",
                        Some("merchant_id"),
                    ));
                }
                m.clone()
            }
            (None, None) => unreachable!("checked above"),
        };
        // Every token of the merchant for this application dies (the mock has one merchant).
        for t in st.tokens.values_mut() {
            t.revoked = true;
        }
        if body["revoke_only_access_token"] != json!(true) {
            for r in st.refresh_tokens.values_mut() {
                r.revoked = true;
            }
        }
        st.revoked.push(named);
        Action::Respond(Response::json(200, &json!({"success": true})))
    }

    pub(super) fn token_status(&self, req: &Request) -> Action {
        let mut st = self.lock();
        st.requests.push(record(req));
        let ctx = "POST /oauth2/token/status";
        let version = check_square_version(&mut st, ctx, req);
        let token = req
            .header("authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .map(str::to_string);
        if token.is_none() {
            st.problem(ctx, "no `Authorization: Bearer <token>` header");
        }
        if let Err(resp) = version {
            return Action::Respond(resp);
        }
        let info = token.as_ref().and_then(|t| st.tokens.get(t));
        match info {
            Some(info) if info.usable().is_ok() => Action::Respond(Response::json(
                200,
                &json!({
                    "scopes": info.scopes,
                    "expires_at": rfc3339_seconds(info.expires_at),
                    "client_id": st.client_id,
                    "merchant_id": MERCHANT_ID,
                }),
            )),
            _ => Action::Respond(oauth_error(401, "UNAUTHORIZED", UNAUTHORIZED_DETAIL, None)),
        }
    }

    /// The consent page, answered at once as if the seller pressed Allow (or Deny).
    pub(super) fn authorize(&self, req: &Request) -> Action {
        let mut st = self.lock();
        st.requests.push(record(req));
        let ctx = "GET /oauth2/authorize";
        let client_id = req.query("client_id");
        if client_id != Some(st.client_id.as_str()) {
            if client_id.is_none() {
                st.problem(ctx, "no client_id");
            }
            return Action::Respond(oauth_error(
                400,
                "BAD_REQUEST",
                "Invalid client_id.",
                Some("client_id"),
            ));
        }
        let Some(redirect) = req.query("redirect_uri").map(str::to_string) else {
            return Action::Respond(oauth_error(
                400,
                "BAD_REQUEST",
                "The mock has no registered redirect URL: send redirect_uri.",
                Some("redirect_uri"),
            ));
        };
        let state = req.query("state").unwrap_or_default().to_string();
        if state.is_empty() {
            st.problem(ctx, "no state parameter (the CSRF value, §A5)");
        }
        let scopes: Vec<String> = match req.query("scope") {
            Some(s) => s
                .split([' ', '+'])
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            None => AUTHORIZE_DEFAULT_SCOPES
                .iter()
                .map(|s| s.to_string())
                .collect(),
        };
        let mut query = form_urlencoded::Serializer::new(String::new());
        if st.authorize_denies {
            query
                .append_pair("error", "access_denied")
                .append_pair("error_description", "user_denied")
                .append_pair("state", &state);
        } else {
            let code = format!("sq0cgb-{}", random_string(22));
            st.codes.insert(
                code.clone(),
                AuthCode {
                    scopes,
                    redirect_uri: Some(redirect.clone()),
                    issued: Instant::now(),
                    used: false,
                },
            );
            query
                .append_pair("code", &code)
                .append_pair("response_type", "code")
                .append_pair("state", &state);
        }
        let separator = if redirect.contains('?') { '&' } else { '?' };
        let location = format!("{redirect}{separator}{}", query.finish());
        Action::Respond(Response {
            status: 302,
            headers: vec![("Location".into(), location)],
            body: Vec::new(),
        })
    }
}
