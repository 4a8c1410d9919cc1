//! Zoho Accounts (§B5): the token endpoint (both grants), revoke and the authorize page.

use std::collections::VecDeque;
use std::time::Instant;

use serde_json::json;

use super::dispatch::zoho_json;
use super::state::{Inner, REFRESH_LIMIT, REFRESH_WINDOW, State};
use super::{CLIENT_ID, CLIENT_SECRET, TOKEN_LIFETIME, ZohoEndpoint, ZohoFault};
use crate::common::mock_http::{Action, Request, Response};

impl Inner {
    pub(super) fn token(&self, st: &mut State, ctx: &str, req: &Request) -> Action {
        let mut params: Vec<(String, String)> = req.query.clone();
        let content_type = req.header("content-type").unwrap_or_default().to_string();
        if !req.body.is_empty() {
            if content_type.starts_with("application/x-www-form-urlencoded") {
                params.extend(
                    form_urlencoded::parse(&req.body)
                        .map(|(k, v)| (k.into_owned(), v.into_owned())),
                );
            } else {
                st.problem(
                    ctx,
                    format!(
                        "the token endpoint takes form or query parameters, not a {content_type:?} body"
                    ),
                );
            }
        }
        let p = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let fault = st
            .faults
            .get_mut(&ZohoEndpoint::Token)
            .and_then(VecDeque::pop_front);
        match fault {
            Some(ZohoFault::Status(status)) => {
                return Action::Respond(Response::text(
                    status,
                    "text/html; charset=UTF-8",
                    &format!("<html><body>{status}</body></html>"),
                ));
            }
            Some(ZohoFault::Code { status, .. }) => {
                return Action::Respond(zoho_json(status, &json!({"error": "Access Denied"})));
            }
            Some(ZohoFault::ConnectionReset) => return Action::Reset,
            _ => {}
        }
        let error = |e: &str| zoho_json(200, &json!({"error": e}));
        let grant = p("grant_type").unwrap_or_default();
        if p("client_id").as_deref() != Some(CLIENT_ID)
            || p("client_secret").as_deref() != Some(CLIENT_SECRET)
        {
            return Action::Respond(error("invalid_client"));
        }
        let api_domain = self.base();
        let resp = match grant.as_str() {
            "authorization_code" => {
                let code = p("code").unwrap_or_default();
                let redirect = p("redirect_uri");
                let usable = st.codes.get(&code).is_some_and(|c| {
                    !c.used
                        && c.expires > Instant::now()
                        && c.redirect_uri
                            .as_ref()
                            .is_none_or(|want| Some(want) == redirect.as_ref())
                });
                if !usable {
                    error("invalid_code")
                } else {
                    if let Some(c) = st.codes.get_mut(&code) {
                        c.used = true;
                    }
                    st.exchanges += 1;
                    let refresh = st.new_refresh();
                    let access = st.new_access(Some(refresh.clone()));
                    zoho_json(
                        200,
                        &json!({
                            "access_token": access,
                            "refresh_token": refresh,
                            "scope": "ZohoInventory.salesorders.CREATE ZohoInventory.contacts.READ",
                            "api_domain": api_domain,
                            "token_type": "Bearer",
                            "expires_in": TOKEN_LIFETIME.as_secs(),
                        }),
                    )
                }
            }
            "refresh_token" => {
                let refresh = p("refresh_token").unwrap_or_default();
                let known = st.refresh.get(&refresh).is_some_and(|r| !r.revoked);
                if st.refuse_refresh || !known {
                    error("invalid_code")
                } else {
                    let now = Instant::now();
                    let grants = {
                        let entry = st.refresh.get_mut(&refresh).unwrap();
                        entry
                            .grants
                            .retain(|at| now.duration_since(*at) < REFRESH_WINDOW);
                        entry.grants.len()
                    };
                    if grants >= REFRESH_LIMIT {
                        st.problem(
                            ctx,
                            format!(
                                "more than {REFRESH_LIMIT} refreshes of one refresh token in 10 minutes"
                            ),
                        );
                        zoho_json(
                            400,
                            &json!({
                                "error_description": "You have made too many requests continuously. Please try again after some time.",
                                "error": "Access Denied",
                                "status": "failure",
                            }),
                        )
                    } else {
                        st.refresh.get_mut(&refresh).unwrap().grants.push(now);
                        st.refreshes += 1;
                        let access = st.new_access(Some(refresh));
                        zoho_json(
                            200,
                            &json!({
                                "access_token": access,
                                "scope": "ZohoInventory.salesorders.CREATE ZohoInventory.contacts.READ",
                                "api_domain": api_domain,
                                "token_type": "Bearer",
                                "expires_in": TOKEN_LIFETIME.as_secs(),
                            }),
                        )
                    }
                }
            }
            other => {
                st.problem(ctx, format!("grant_type {other:?}"));
                error("unsupported_grant_type")
            }
        };
        match fault {
            Some(ZohoFault::TimeoutAfterCommit(d) | ZohoFault::Delay(d)) => {
                Action::Delayed(d, resp)
            }
            Some(ZohoFault::ResetAfterCommit) => Action::Reset,
            _ => Action::Respond(resp),
        }
    }

    pub(super) fn revoke(&self, st: &mut State, ctx: &str, req: &Request) -> Response {
        let token = req
            .query
            .iter()
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.clone());
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            st.problem(ctx, "no token query parameter");
            return zoho_json(200, &json!({"error": "invalid_token"}));
        };
        if let Some(r) = st.refresh.get_mut(&token) {
            r.revoked = true;
            for a in st.access.values_mut() {
                if a.refresh.as_deref() == Some(token.as_str()) {
                    a.revoked = true;
                }
            }
        } else if let Some(a) = st.access.get_mut(&token) {
            a.revoked = true;
        } else {
            return zoho_json(200, &json!({"error": "invalid_token"}));
        }
        st.revoked.push(token);
        zoho_json(200, &json!({"status": "success"}))
    }

    pub(super) fn authorize(&self, st: &mut State, ctx: &str, req: &Request) -> Response {
        let q = |name: &str| {
            req.query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let Some(redirect) = q("redirect_uri") else {
            st.problem(ctx, "no redirect_uri");
            return Response::text(400, "text/plain", "Invalid Redirect Uri");
        };
        if q("client_id").as_deref() != Some(CLIENT_ID) {
            return Response::text(400, "text/plain", "Invalid Client");
        }
        if q("response_type").as_deref() != Some("code") {
            st.problem(ctx, "response_type is not code");
        }
        if q("access_type").as_deref() != Some("offline") {
            st.problem(
                ctx,
                "access_type is not offline (no refresh token would be issued)",
            );
        }
        match q("scope") {
            Some(scope) if !scope.contains(' ') && scope.contains("ZohoInventory.") => {}
            other => st.problem(
                ctx,
                format!("scope {other:?} is not a comma-separated list of ZohoInventory scopes"),
            ),
        }
        let code = st.new_code(Some(&redirect));
        let mut query = form_urlencoded::Serializer::new(String::new());
        if let Some(state) = q("state") {
            query.append_pair("state", &state);
        }
        query
            .append_pair("code", &code)
            .append_pair("location", "in")
            .append_pair("accounts-server", &self.base());
        let sep = if redirect.contains('?') { '&' } else { '?' };
        Response::text(302, "text/plain", "")
            .with_header("Location", &format!("{redirect}{sep}{}", query.finish()))
    }
}
