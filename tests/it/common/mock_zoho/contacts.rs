//! `POST /contacts` and `GET /contacts`, and the self-check of the mock's own answers.

use serde_json::{Value, json};

use super::dispatch::{zoho_error, zoho_json};
use super::helpers::{page_context, unknown_keys};
use super::schemas::CONTACT_REQUEST;
use super::state::{Inner, State};
use crate::common::mock_http::{Request, Response};

impl Inner {
    pub(super) fn create_contact(&self, st: &mut State, ctx: &str, req: &Request) -> Response {
        let body = match self.checked_body(st, ctx, req, CONTACT_REQUEST) {
            Ok(body) => body,
            Err(resp) => return resp,
        };
        let mut bad = Vec::new();
        let unknown = unknown_keys(&body, &self.schemas.contact_fields);
        if !unknown.is_empty() {
            bad.push(format!("unknown fields {unknown:?}"));
        }
        let name = body["contact_name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if name.trim().is_empty() || name.chars().count() > 200 {
            bad.push(format!(
                "contact_name {name:?} is blank or over 200 characters"
            ));
        }
        if let Some(kind) = body.get("contact_type")
            && kind != "customer"
            && kind != "vendor"
        {
            bad.push(format!(
                "contact_type {kind} is neither customer nor vendor"
            ));
        }
        for (i, person) in body["contact_persons"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let unknown = unknown_keys(person, &self.schemas.person_fields);
            if !unknown.is_empty() {
                bad.push(format!("contact_persons[{i}]: unknown fields {unknown:?}"));
            }
        }
        for b in &bad {
            st.problem(ctx, b);
        }
        if !bad.is_empty() {
            return zoho_error(400, 4, &format!("Invalid value passed: {}", bad[0]));
        }
        let clash = st.contacts.iter().any(|c| {
            c["contact_name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(&name))
        });
        if clash {
            return zoho_error(
                400,
                3062,
                &format!(
                    "The contact name \"{name}\" already exists. Please specify a different name."
                ),
            );
        }
        let contact = st.make_contact(&body);
        self.self_check(st, "contact-response", &contact);
        st.contacts.push(contact.clone());
        zoho_json(
            201,
            &json!({"code": 0, "message": "The contact has been created", "contact": contact}),
        )
    }

    pub(super) fn list_contacts(&self, st: &mut State, ctx: &str, req: &Request) -> Response {
        let q = |name: &str| {
            req.query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let known = [
            "organization_id",
            "phone_contains",
            "phone",
            "contact_name",
            "contact_name_contains",
            "contact_name_startswith",
            "search_text",
            "filter_by",
            "page",
            "per_page",
            "email",
            "sort_column",
        ];
        for (k, _) in &req.query {
            if !known.contains(&k.as_str()) {
                st.problem(ctx, format!("unknown contacts filter {k:?}"));
            }
        }
        let lower = |s: &str| s.to_lowercase();
        let phones = |c: &Value| -> Vec<String> {
            let mut all = vec![
                c["phone"].as_str().unwrap_or_default().to_string(),
                c["mobile"].as_str().unwrap_or_default().to_string(),
            ];
            for p in c["contact_persons"].as_array().into_iter().flatten() {
                all.push(p["phone"].as_str().unwrap_or_default().to_string());
                all.push(p["mobile"].as_str().unwrap_or_default().to_string());
            }
            all.retain(|p| !p.is_empty());
            all
        };
        let found: Vec<Value> = st
            .contacts
            .iter()
            .filter(|c| {
                let name = lower(c["contact_name"].as_str().unwrap_or_default());
                q("phone_contains").is_none_or(|p| phones(c).iter().any(|x| x.contains(&p)))
                    && q("phone").is_none_or(|p| phones(c).contains(&p))
                    && q("contact_name").is_none_or(|n| name == lower(&n))
                    && q("contact_name_contains").is_none_or(|n| name.contains(&lower(&n)))
                    && q("contact_name_startswith").is_none_or(|n| name.starts_with(&lower(&n)))
                    && q("search_text").is_none_or(|t| {
                        name.contains(&lower(&t)) || phones(c).iter().any(|x| x.contains(&t))
                    })
            })
            .map(|c| {
                let mut summary = c.clone();
                if let Some(m) = summary.as_object_mut() {
                    m.remove("contact_persons");
                    m.remove("primary_contact_id");
                }
                summary
            })
            .collect();
        let answer = json!({
            "code": 0, "message": "success", "contacts": found,
            "page_context": page_context(found.len(), "Contacts"),
        });
        self.self_check(st, "list-contacts-response", &answer);
        zoho_json(200, &answer)
    }

    /// The mock's own answers must fit the schemas too.
    pub(super) fn self_check(&self, st: &mut State, root: &str, instance: &Value) {
        if let Some(validator) = self.schemas.validators.get(root) {
            let errors: Vec<String> = validator
                .iter_errors(instance)
                .map(|e| format!("{}: {e}", e.instance_path()))
                .collect();
            for e in errors {
                st.problem("mock self-check", format!("{root}: {e}"));
            }
        }
    }
}
