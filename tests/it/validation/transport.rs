//! The transport side of the validation matrix: bodies over 1 MiB (413), bodies that are not
//! JSON (415), unknown routes and wrong methods (404, 405), missing tokens (401), and path or
//! query values of the wrong kind.

use super::*;

#[test]
fn bodies_over_1_mib_get_413_and_write_nothing() {
    let w = world();
    let two_mib = |field: &str| {
        let mut body = json!({"name": "Spice Garden", "price": 100,
                              "email": "big@spicegarden.in", "password": "correct horse"});
        body[field] = json!("x".repeat(2 * 1024 * 1024));
        body.to_string().into_bytes()
    };
    let dishes = format!("/api/v1/businesses/{}/dishes", w.business);
    let mut cases = vec![
        bytes(
            "a 2 MiB business",
            "POST",
            "/api/v1/businesses",
            "application/json",
            two_mib("name"),
        )
        .answers(413, "PAYLOAD_TOO_LARGE"),
        bytes(
            "a 2 MiB dish",
            "POST",
            &dishes,
            "application/json",
            two_mib("padding"),
        )
        .answers(413, "PAYLOAD_TOO_LARGE"),
        bytes(
            "a 2 MiB order",
            "POST",
            "/api/v1/orders",
            "application/json",
            two_mib("special_instructions"),
        )
        .answers(413, "PAYLOAD_TOO_LARGE"),
        bytes(
            "2 MiB of garbage",
            "POST",
            "/api/v1/pos/connect",
            "application/json",
            vec![b'{'; 2 * 1024 * 1024],
        )
        .answers(413, "PAYLOAD_TOO_LARGE"),
    ];
    cases.push(
        bytes(
            "a 2 MiB registration",
            "POST",
            "/api/v1/auth/register",
            "application/json",
            two_mib("name"),
        )
        .answers(413, "PAYLOAD_TOO_LARGE")
        .without_auth(),
    );
    run(&w.app, &w.token, cases);

    // Also when the body is sent chunked, without a Content-Length to go by.
    let before = w.app.snapshot();
    let resp = w.app.raw_tcp(
        "POST",
        "/api/v1/businesses",
        Some(&w.token),
        "application/json",
        &two_mib("padding"),
        true,
    );
    resp.expect_error(413, "PAYLOAD_TOO_LARGE");

    // And on the declared length alone, before a byte of the body is sent.
    for path in ["/api/v1/businesses", "/api/v1/orders"] {
        let resp = w.app.raw_tcp_head(
            "POST",
            path,
            Some(&w.token),
            "application/json",
            2 * ONE_MIB,
        );
        resp.expect_error(413, "PAYLOAD_TOO_LARGE");
    }
    assert_eq!(
        snapshot_changes(&before, &w.app.snapshot()),
        Vec::<String>::new()
    );
    // The service still answers.
    w.app.get("/api/v1/businesses", Some(&w.token)).expect(200);
}

#[test]
fn a_body_of_exactly_1_mib_is_read_and_one_byte_more_is_413() {
    let app = TestApp::start();
    let token = app.login_new_seller("owner@spicegarden.in");
    let sized = |len: usize| {
        let head = br#"{"name": "Spice Garden", "padding": ""#;
        let tail = br#""}"#;
        let mut body = head.to_vec();
        body.resize(len - tail.len(), b'x');
        body.extend_from_slice(tail);
        assert_eq!(body.len(), len);
        body
    };
    let resp = app.raw(
        "POST",
        "/api/v1/businesses",
        Some(&token),
        Some(("application/json", sized(ONE_MIB))),
    );
    resp.expect(201);
    let resp = app.raw_tcp(
        "POST",
        "/api/v1/businesses",
        Some(&token),
        "application/json",
        &sized(ONE_MIB + 1),
        false,
    );
    resp.expect_error(413, "PAYLOAD_TOO_LARGE");
}

#[test]
fn a_body_that_is_not_json_gets_415_and_writes_nothing() {
    let w = world();
    let business = json!({"name": "Spice Garden"}).to_string().into_bytes();
    let mut cases = Vec::new();
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
        "multipart/form-data; boundary=x",
        "",
    ] {
        cases.push(
            bytes(
                &format!("content type {content_type:?}"),
                "POST",
                "/api/v1/businesses",
                content_type,
                business.clone(),
            )
            .answers(415, "UNSUPPORTED_MEDIA_TYPE"),
        );
    }
    cases.push(
        bytes(
            "a form-encoded registration",
            "POST",
            "/api/v1/auth/register",
            "application/x-www-form-urlencoded",
            b"email=new%40spicegarden.in&password=correct+horse".to_vec(),
        )
        .answers(415, "UNSUPPORTED_MEDIA_TYPE")
        .without_auth(),
    );
    run(&w.app, &w.token, cases);

    // A charset parameter is still JSON.
    let resp = w.app.raw(
        "POST",
        "/api/v1/businesses",
        Some(&w.token),
        Some(("application/json; charset=utf-8", business)),
    );
    resp.expect(201);
}

#[test]
fn unknown_routes_get_404_and_wrong_methods_get_405_in_the_envelope() {
    let w = world();
    let business = format!("/api/v1/businesses/{}", w.business);
    let mut cases = Vec::new();
    for path in [
        "/api/v1/nope".to_string(),
        "/api/v2/businesses".to_string(),
        "/nope".to_string(),
        format!("{business}/menu"),
        "/api/v1/pos/integration".to_string(),
    ] {
        cases.push(bare("an unknown route", "GET", &path, 404, "NOT_FOUND"));
        cases.push(
            bare(
                "an unknown route without a token",
                "GET",
                &path,
                404,
                "NOT_FOUND",
            )
            .without_auth(),
        );
    }
    cases.push(
        bytes(
            "POST to an unknown route",
            "POST",
            "/api/v1/menus",
            "application/json",
            b"{}".to_vec(),
        )
        .answers(404, "NOT_FOUND"),
    );
    for (method, path) in [
        ("DELETE", business.clone()),
        ("PUT", business.clone()),
        ("DELETE", format!("{business}/dishes")),
        ("PUT", "/api/v1/orders".to_string()),
        ("GET", "/api/v1/auth/login".to_string()),
        ("DELETE", "/api/v1/auth/me".to_string()),
        ("GET", "/api/v1/pos/connect".to_string()),
        ("DELETE", format!("/api/v1/pos/integration/{}", w.connected)),
    ] {
        cases.push(bare(
            "a wrong method",
            method,
            &path,
            405,
            "METHOD_NOT_ALLOWED",
        ));
    }
    run(&w.app, &w.token, cases);

    // 405 says what the path does take, and not the method that was refused.
    let resp = w.app.delete(&business, Some(&w.token));
    resp.expect_error(405, "METHOD_NOT_ALLOWED");
    let allow = resp.header("allow").unwrap_or_default().replace(' ', "");
    assert_eq!(allow, "GET,PATCH", "Allow header: {:?}", resp.headers);
    for (method, path, allowed) in [
        ("DELETE", "/api/v1/businesses".to_string(), "GET"),
        ("PUT", business.clone(), "PATCH"),
        ("GET", "/api/v1/pos/connect".to_string(), "POST"),
        ("GET", "/api/v1/auth/login".to_string(), "POST"),
    ] {
        let resp = w.app.raw(method, &path, Some(&w.token), None);
        resp.expect_error(405, "METHOD_NOT_ALLOWED");
        let allow = resp
            .header("allow")
            .unwrap_or_else(|| panic!("{method} {path}: no Allow header: {:?}", resp.headers));
        assert!(allow.contains(allowed), "{method} {path}: Allow = {allow}");
        assert!(!allow.contains(method), "{method} {path}: Allow = {allow}");
    }
}

#[test]
fn a_write_without_a_valid_token_gets_401_and_writes_nothing() {
    let w = world();
    let json_body = |v: Value| Some(("application/json", v.to_string().into_bytes()));
    let writes = vec![
        (
            "POST",
            "/api/v1/businesses".to_string(),
            json_body(json!({"name": "Sneaky"})),
        ),
        (
            "PATCH",
            format!("/api/v1/businesses/{}", w.business),
            json_body(json!({"name": "Sneaky"})),
        ),
        (
            "POST",
            format!("/api/v1/businesses/{}/dishes", w.business),
            json_body(json!({"name": "Free food", "price": 0})),
        ),
        (
            "POST",
            "/api/v1/orders".to_string(),
            json_body(
                json!({"business_id": w.business, "customer_name": "Mallory",
                             "items": [{"dish_id": w.dish, "quantity": 1}]}),
            ),
        ),
        (
            "POST",
            "/api/v1/pos/connect".to_string(),
            json_body(json!({"business_id": w.business, "provider": "square",
                             "access_token": "EAAAl-x", "location_id": "L1"})),
        ),
        (
            "POST",
            "/api/v1/pos/disconnect".to_string(),
            json_body(json!({"business_id": w.connected})),
        ),
        (
            "PATCH",
            format!("/api/v1/pos/integration/{}", w.connected),
            json_body(json!({"auto_sync_orders": false})),
        ),
        ("POST", "/api/v1/auth/logout".to_string(), None),
    ];
    let mut cases = Vec::new();
    for (method, path, body) in writes {
        cases.push(Case {
            what: "no token".into(),
            method,
            path: path.clone(),
            auth: false,
            body: body.clone(),
            status: 401,
            code: "UNAUTHORIZED",
            mentions: None,
        });
        cases.push(Case {
            what: "a made-up token".into(),
            method,
            path,
            auth: true,
            body,
            status: 401,
            code: "UNAUTHORIZED",
            mentions: None,
        });
    }
    // `run` sends the token it is given with every case that asks for one.
    run(&w.app, "pss_made-up-token", cases);
}

#[test]
fn a_path_or_query_value_of_the_wrong_kind_is_a_400_naming_it() {
    let w = world();
    let cases = vec![
        bare(
            "a business id that is not a UUID",
            "GET",
            "/api/v1/businesses/spice-garden",
            400,
            "VALIDATION_ERROR",
        )
        .mentioning("businessId"),
        bare(
            "an order id that is not a UUID",
            "GET",
            "/api/v1/orders/42",
            400,
            "VALIDATION_ERROR",
        )
        .mentioning("orderId"),
        bare(
            "an integration business id that is not a UUID",
            "GET",
            "/api/v1/pos/integration/curry-house",
            400,
            "VALIDATION_ERROR",
        )
        .mentioning("businessId"),
        bytes(
            "a business id that is not a UUID, on a new dish",
            "POST",
            "/api/v1/businesses/xyz/dishes",
            "application/json",
            br#"{"name": "Dal", "price": 1}"#.to_vec(),
        )
        .mentioning("businessId"),
        bytes(
            "a business id that is not a UUID, on PATCH",
            "PATCH",
            "/api/v1/businesses/spice-garden",
            "application/json",
            br#"{"name": "Renamed"}"#.to_vec(),
        )
        .mentioning("businessId"),
        bare(
            "limit 0",
            "GET",
            "/api/v1/businesses?limit=0",
            400,
            "VALIDATION_ERROR",
        )
        .mentioning("limit"),
        bare(
            "limit 201",
            "GET",
            &format!("/api/v1/businesses/{}/dishes?limit=201", w.business),
            400,
            "VALIDATION_ERROR",
        )
        .mentioning("limit"),
        bare(
            "limit -1",
            "GET",
            "/api/v1/businesses?limit=-1",
            400,
            "VALIDATION_ERROR",
        )
        .mentioning("limit"),
        bare(
            "limit abc",
            "GET",
            "/api/v1/businesses?limit=abc",
            400,
            "VALIDATION_ERROR",
        )
        .mentioning("limit"),
        bare(
            "offset -1",
            "GET",
            "/api/v1/businesses?offset=-1",
            400,
            "VALIDATION_ERROR",
        )
        .mentioning("offset"),
    ];
    run(&w.app, &w.token, cases);
}
