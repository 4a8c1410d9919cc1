//! The mock Zoho itself: its rules catch what they should (else "no problems" in the sync
//! tests proves nothing).

use super::*;

#[test]
fn the_mock_zoho_enforces_section_b6() {
    let mock = MockZoho::start();
    let api = mock.api_base_url();
    let org = mock.organization_id();
    let auth = format!("Zoho-oauthtoken {}", mock.current_access_token());
    let json_ct = "application/json";
    let problems = || mock.problems().len();

    // organization_id is required.
    let (status, body, _) = raw(
        "GET",
        &format!("{api}/contacts"),
        &[("authorization", &auth)],
        None,
    );
    assert_eq!(status, 400);
    assert_ne!(body["code"], json!(0));
    assert_eq!(problems(), 1);
    // Only `Zoho-oauthtoken`; a Bearer is a protocol problem, an unknown token is not.
    let bearer = format!("Bearer {}", mock.current_access_token());
    let (status, body, _) = raw(
        "GET",
        &format!("{api}/contacts?organization_id={org}"),
        &[("authorization", &bearer)],
        None,
    );
    assert_eq!((status, body["code"].clone()), (401, json!(57)));
    assert_eq!(problems(), 2);
    let (status, body, _) = raw(
        "GET",
        &format!("{api}/contacts?organization_id={org}"),
        &[("authorization", "Zoho-oauthtoken 1000.nope")],
        None,
    );
    assert_eq!((status, body["code"].clone()), (401, json!(57)));
    assert_eq!(problems(), 2);

    // A valid sales order (no salesorder_number: relaxed), then the lookup.
    let customer = mock.add_contact("Walk-in", None);
    let so = |body: Value| {
        raw(
            "POST",
            &format!("{api}/salesorders?organization_id={org}"),
            &[("authorization", &auth)],
            Some((json_ct, body.to_string())),
        )
    };
    let (status, body, _) = so(json!({
        "customer_id": customer, "reference_number": "ref-1", "date": "2026-11-25",
        "line_items": [{"name": "Paneer", "rate": 300.5, "quantity": 2}],
    }));
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["code"], json!(0));
    assert_eq!(body["salesorder"]["status"], "draft");
    assert_eq!(body["salesorder"]["salesorder_number"], "SO-00001");
    assert_eq!(body["salesorder"]["total"], json!(601.0));
    assert!(is_19_digits(&body["salesorder"]["salesorder_id"]));
    assert_eq!(problems(), 2, "{:#?}", mock.problems());
    let (_, found, _) = raw(
        "GET",
        &format!("{api}/salesorders?organization_id={org}&reference_number=ref-1"),
        &[("authorization", &auth)],
        None,
    );
    assert_eq!(found["salesorders"].as_array().unwrap().len(), 1);
    let (_, none, _) = raw(
        "GET",
        &format!("{api}/salesorders?organization_id={org}&reference_number=ref-2"),
        &[("authorization", &auth)],
        None,
    );
    assert_eq!(none["salesorders"], json!([]));

    // Rates finer than the currency (paise sent as rupees × 100 would pass; 300.505 does not),
    // name-less lines, unknown fields, bad dates.
    for bad in [
        json!({"customer_id": customer, "line_items": [{"name": "P", "rate": 300.505, "quantity": 1}]}),
        json!({"customer_id": customer, "line_items": [{"rate": 3.0, "quantity": 1}]}),
        json!({"customer_id": customer, "line_items": [{"name": "P", "rate": 3.0, "quantity": 0}]}),
        json!({"customer_id": customer, "date": "25/11/2026", "line_items": [{"name": "P", "rate": 3.0, "quantity": 1}]}),
        json!({"customer_id": customer, "total_money": 5, "line_items": [{"name": "P", "rate": 3.0, "quantity": 1}]}),
    ] {
        let before = problems();
        let (status, body, _) = so(bad.clone());
        assert_eq!(status, 400, "{bad}: {body}");
        assert_ne!(body["code"], json!(0));
        assert_eq!(problems(), before + 1, "{bad}");
    }
    if mock.schemas_loaded() {
        let before = problems();
        let (status, _, _) = so(json!({"customer_id": customer,
            "line_items": [{"name": "P", "rate": "3.00", "quantity": 1}]}));
        assert_eq!(status, 400);
        assert!(problems() > before, "the schema catches a string rate");
        let before = problems();
        let (status, _, _) = so(json!({"line_items": [{"name": "P", "rate": 3.0, "quantity": 1}]}));
        assert_eq!(status, 400);
        assert!(problems() > before, "customer_id is required");
    } else {
        eprintln!("the Zoho schemas were not found: schema rules not self-tested");
    }

    // A duplicate contact name is refused with "exists".
    let contact = |name: &str| {
        raw(
            "POST",
            &format!("{api}/contacts?organization_id={org}"),
            &[("authorization", &auth)],
            Some((
                json_ct,
                json!({"contact_name": name, "contact_type": "customer"}).to_string(),
            )),
        )
    };
    let (status, body, _) = contact("Asha R");
    assert_eq!((status, body["code"].clone()), (201, json!(0)));
    let (status, body, _) = contact("asha r");
    assert_ne!(body["code"], json!(0), "{status} {body}");
    assert!(body["message"].as_str().unwrap().contains("exists"));

    // Accounts: failures are HTTP 200 with `error`; a refresh keeps the refresh token.
    let token_url = format!("{}/oauth/v2/token", mock.base_url());
    let form = |pairs: &[(&str, &str)]| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            s.append_pair(k, v);
        }
        Some(("application/x-www-form-urlencoded", s.finish()))
    };
    let refresh = mock.refresh_token();
    let (status, body, _) = raw(
        "POST",
        &token_url,
        &[],
        form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "1000.unknown"),
            ("client_id", common::mock_zoho::CLIENT_ID),
            ("client_secret", common::mock_zoho::CLIENT_SECRET),
        ]),
    );
    assert_eq!((status, body), (200, json!({"error": "invalid_code"})));
    let (status, body, _) = raw(
        "POST",
        &token_url,
        &[],
        form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", common::mock_zoho::CLIENT_ID),
            ("client_secret", common::mock_zoho::CLIENT_SECRET),
        ]),
    );
    assert_eq!(status, 200);
    assert_eq!(body["expires_in"], json!(3600));
    assert_eq!(body["api_domain"], json!(mock.base_url()));
    assert!(body.get("refresh_token").is_none(), "never rotated");
    assert_eq!(body["access_token"], json!(mock.current_access_token()));
    assert_eq!(mock.refreshes(), 1);
    let code = mock.issue_code();
    let (_, body, _) = raw(
        "POST",
        &token_url,
        &[],
        form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", common::mock_zoho::CLIENT_ID),
            ("client_secret", "wrong"),
        ]),
    );
    assert_eq!(body, json!({"error": "invalid_client"}));
    let before = problems();
    let (_, body, _) = raw(
        "POST",
        &token_url,
        &[],
        Some((json_ct, json!({"grant_type": "refresh_token"}).to_string())),
    );
    assert!(body.get("error").is_some());
    assert_eq!(problems(), before + 1, "a JSON token request is a problem");

    // 100 a minute per organisation (here 2), then 429 with Retry-After.
    mock.set_rate_limit(2, Duration::from_secs(60));
    let list = || {
        raw(
            "GET",
            &format!("{api}/items?organization_id={org}"),
            &[(
                "authorization",
                &format!("Zoho-oauthtoken {}", mock.current_access_token()),
            )],
            None,
        )
    };
    assert_eq!(list().0, 200);
    assert_eq!(list().0, 200);
    let (status, body, headers) = list();
    assert_eq!(status, 429);
    assert_ne!(body["code"], json!(0));
    assert!(
        headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("retry-after"))
    );
}

#[test]
fn the_mock_zoho_without_schemas_warns_and_keeps_the_other_rules() {
    let mock = MockZoho::start_with_providers_dir("/nonexistent/providers");
    assert!(!mock.schemas_loaded());
    let api = mock.api_base_url();
    let auth = format!("Zoho-oauthtoken {}", mock.current_access_token());
    let (status, _, _) = raw(
        "GET",
        &format!("{api}/contacts"),
        &[("authorization", &auth)],
        None,
    );
    assert_eq!(status, 400, "organization_id is still required");
    assert_eq!(mock.problems().len(), 1);
}
