use crate::common;

use common::TestApp;
use serde_json::{Value, json};

const TABLES: [&str; 6] = [
    "businesses",
    "dishes",
    "orders",
    "order_items",
    "pos_integrations",
    "sync_logs",
];

fn counts(app: &TestApp) -> Vec<(String, i64)> {
    let conn = rusqlite::Connection::open_with_flags(
        app.db_path(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    TABLES
        .iter()
        .map(|t| {
            let n: i64 = conn
                .query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))
                .unwrap();
            (t.to_string(), n)
        })
        .collect()
}

struct World {
    app: TestApp,
    a: String,
    biz_a: String,
    dish_a: String,
    biz_b: String,
    dish_b: String,
}

fn world() -> World {
    // Square at a closed local port: an accepted order never reaches the real Square.
    let app = TestApp::start_with(&["--square-base-url", "http://127.0.0.1:9"]);
    let a = app.login_new_seller("a@example.com");
    let b = app.login_new_seller("b@example.com");
    let biz_a = app.business(&a, "A's Kitchen");
    let dish_a = app.dish(&a, &biz_a, "Dal", 15000);
    let biz_b = app.business(&b, "B's Kitchen");
    let dish_b = app.dish(&b, &biz_b, "Naan", 4000);
    // A connected integration, so failing connects / patches have a row they could touch.
    app.connect_square(&a, &biz_a, "sq-token-validation-0001");
    World {
        app,
        a,
        biz_a,
        dish_a,
        biz_b,
        dish_b,
    }
}

/// One refused request.
struct Case {
    name: &'static str,
    method: &'static str,
    path: String,
    body: Option<(&'static str, Vec<u8>)>,
    status: u16,
    code: &'static str,
    /// Text the message must contain (the field name), when there is a field.
    field: Option<&'static str>,
}

fn json_case(
    name: &'static str,
    method: &'static str,
    path: impl Into<String>,
    body: Value,
    status: u16,
    code: &'static str,
    field: Option<&'static str>,
) -> Case {
    Case {
        name,
        method,
        path: path.into(),
        body: Some(("application/json", body.to_string().into_bytes())),
        status,
        code,
        field,
    }
}

fn run(w: &World, cases: Vec<Case>) {
    let mut failures = Vec::new();
    for case in cases {
        let before = counts(&w.app);
        let resp = w
            .app
            .raw(case.method, &case.path, Some(&w.a), case.body.clone());
        let after = counts(&w.app);
        let code_ok =
            resp.body["success"] == json!(false) && resp.body["error"]["code"] == case.code;
        let message = resp.body["error"]["message"].as_str().unwrap_or("");
        let field_ok = case.field.is_none_or(|f| message.contains(f));
        if resp.status != case.status || !code_ok || message.is_empty() || !field_ok {
            failures.push(format!(
                "{}: {} {} -> expected {} {} naming {:?}; got {} {}",
                case.name,
                case.method,
                case.path,
                case.status,
                case.code,
                case.field,
                resp.status,
                resp.text
            ));
        }
        if before != after {
            failures.push(format!(
                "{}: rows changed: {before:?} -> {after:?}",
                case.name
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

fn order_body(business: &str, items: Value) -> Value {
    json!({"business_id": business, "customer_name": "Rahul", "items": items})
}

#[test]
fn bodies_that_do_not_parse_or_type_check() {
    let w = world();
    let biz = format!("/api/v1/businesses/{}", w.biz_a);
    let dishes = format!("{biz}/dishes");
    let cases = vec![
        Case {
            name: "malformed JSON business",
            method: "POST",
            path: "/api/v1/businesses".into(),
            body: Some(("application/json", b"{\"name\": \"x\",".to_vec())),
            status: 400,
            code: "VALIDATION_ERROR",
            field: None,
        },
        Case {
            name: "malformed JSON order",
            method: "POST",
            path: "/api/v1/orders".into(),
            body: Some(("application/json", b"{not json}".to_vec())),
            status: 400,
            code: "VALIDATION_ERROR",
            field: None,
        },
        Case {
            name: "empty body order",
            method: "POST",
            path: "/api/v1/orders".into(),
            body: Some(("application/json", Vec::new())),
            status: 400,
            code: "VALIDATION_ERROR",
            field: None,
        },
        json_case(
            "number where string (business name)",
            "POST",
            "/api/v1/businesses",
            json!({"name": 5}),
            400,
            "VALIDATION_ERROR",
            Some("name"),
        ),
        json_case(
            "number where string (dish name)",
            "POST",
            &dishes,
            json!({"name": 5, "price": 100}),
            400,
            "VALIDATION_ERROR",
            Some("name"),
        ),
        json_case(
            "string where integer (price)",
            "POST",
            &dishes,
            json!({"name": "Dal", "price": "10"}),
            400,
            "VALIDATION_ERROR",
            Some("price"),
        ),
        json_case(
            "fractional price",
            "POST",
            &dishes,
            json!({"name": "Dal", "price": 10.5}),
            400,
            "VALIDATION_ERROR",
            Some("price"),
        ),
        json_case(
            "negative price",
            "POST",
            &dishes,
            json!({"name": "Dal", "price": -1}),
            400,
            "VALIDATION_ERROR",
            Some("price"),
        ),
        json_case(
            "missing dish price",
            "POST",
            &dishes,
            json!({"name": "Dal"}),
            400,
            "VALIDATION_ERROR",
            Some("price"),
        ),
        json_case(
            "missing business name",
            "POST",
            "/api/v1/businesses",
            json!({}),
            400,
            "VALIDATION_ERROR",
            Some("name"),
        ),
        json_case(
            "blank business name",
            "POST",
            "/api/v1/businesses",
            json!({"name": "   "}),
            400,
            "VALIDATION_ERROR",
            Some("name"),
        ),
        json_case(
            "business name of 201 chars",
            "POST",
            "/api/v1/businesses",
            json!({"name": "x".repeat(201)}),
            400,
            "VALIDATION_ERROR",
            Some("name"),
        ),
        json_case(
            "order without items",
            "POST",
            "/api/v1/orders",
            json!({"business_id": w.biz_a, "customer_name": "Rahul"}),
            400,
            "VALIDATION_ERROR",
            Some("items"),
        ),
        json_case(
            "order without customer_name",
            "POST",
            "/api/v1/orders",
            json!({"business_id": w.biz_a, "items": [{"dish_id": w.dish_a, "quantity": 1}]}),
            400,
            "VALIDATION_ERROR",
            Some("customer_name"),
        ),
        json_case(
            "order with a non-UUID business_id",
            "POST",
            "/api/v1/orders",
            order_body("not-a-uuid", json!([{"dish_id": w.dish_a, "quantity": 1}])),
            400,
            "VALIDATION_ERROR",
            Some("business_id"),
        ),
        json_case(
            "connect without access_token",
            "POST",
            "/api/v1/pos/connect",
            json!({"business_id": w.biz_a, "provider": "square", "location_id": "L1"}),
            400,
            "VALIDATION_ERROR",
            Some("access_token"),
        ),
        json_case(
            "connect with blank access_token",
            "POST",
            "/api/v1/pos/connect",
            json!({"business_id": w.biz_a, "provider": "square", "access_token": "  ", "location_id": "L1"}),
            400,
            "VALIDATION_ERROR",
            Some("access_token"),
        ),
        json_case(
            "connect with unknown provider",
            "POST",
            "/api/v1/pos/connect",
            json!({"business_id": w.biz_a, "provider": "clover", "access_token": "t", "location_id": "L1"}),
            400,
            "VALIDATION_ERROR",
            Some("provider"),
        ),
        json_case(
            "patch business with number name",
            "PATCH",
            &biz,
            json!({"name": 5}),
            400,
            "VALIDATION_ERROR",
            Some("name"),
        ),
        json_case(
            "patch integration with string auto_sync_orders",
            "PATCH",
            format!("/api/v1/pos/integration/{}", w.biz_a),
            json!({"auto_sync_orders": "yes"}),
            400,
            "VALIDATION_ERROR",
            Some("auto_sync_orders"),
        ),
    ];
    run(&w, cases);
}

#[test]
fn order_lines_are_bounded() {
    let w = world();
    let line = |q: i64| json!({"dish_id": w.dish_a, "quantity": q});
    let many: Vec<Value> = (0..101).map(|_| line(1)).collect();
    let cases = vec![
        json_case(
            "quantity 0",
            "POST",
            "/api/v1/orders",
            order_body(&w.biz_a, json!([line(0)])),
            400,
            "VALIDATION_ERROR",
            Some("quantity"),
        ),
        json_case(
            "quantity 1000",
            "POST",
            "/api/v1/orders",
            order_body(&w.biz_a, json!([line(1000)])),
            400,
            "VALIDATION_ERROR",
            Some("quantity"),
        ),
        json_case(
            "quantity -1 in the second line",
            "POST",
            "/api/v1/orders",
            order_body(&w.biz_a, json!([line(1), line(-1)])),
            400,
            "VALIDATION_ERROR",
            Some("quantity"),
        ),
        json_case(
            "0 items",
            "POST",
            "/api/v1/orders",
            order_body(&w.biz_a, json!([])),
            400,
            "VALIDATION_ERROR",
            Some("items"),
        ),
        json_case(
            "101 items",
            "POST",
            "/api/v1/orders",
            order_body(&w.biz_a, Value::Array(many)),
            400,
            "VALIDATION_ERROR",
            Some("items"),
        ),
        json_case(
            "dish of another seller's business",
            "POST",
            "/api/v1/orders",
            order_body(&w.biz_a, json!([{"dish_id": w.dish_b, "quantity": 1}])),
            400,
            "VALIDATION_ERROR",
            Some("items[0].dish_id"),
        ),
        json_case(
            "unknown dish in the second line",
            "POST",
            "/api/v1/orders",
            order_body(
                &w.biz_a,
                json!([line(1), {"dish_id": "0193a1b2-8d4e-7f50-9b0c-1d2e3f4a5b6c", "quantity": 1}]),
            ),
            400,
            "VALIDATION_ERROR",
            Some("items[1].dish_id"),
        ),
        json_case(
            "another seller's business",
            "POST",
            "/api/v1/orders",
            order_body(&w.biz_b, json!([{"dish_id": w.dish_b, "quantity": 1}])),
            404,
            "NOT_FOUND",
            None,
        ),
        json_case(
            "customer_phone of 33 chars",
            "POST",
            "/api/v1/orders",
            json!({"business_id": w.biz_a, "customer_name": "R", "customer_phone": "1".repeat(33),
                   "items": [line(1)]}),
            400,
            "VALIDATION_ERROR",
            Some("customer_phone"),
        ),
        json_case(
            "note of 501 chars",
            "POST",
            "/api/v1/orders",
            order_body(
                &w.biz_a,
                json!([{"dish_id": w.dish_a, "quantity": 1, "note": "n".repeat(501)}]),
            ),
            400,
            "VALIDATION_ERROR",
            Some("note"),
        ),
    ];
    run(&w, cases);
    // The bounds themselves are accepted.
    let max: Vec<Value> = (0..100).map(|_| line(999)).collect();
    w.app
        .post(
            "/api/v1/orders",
            Some(&w.a),
            order_body(&w.biz_a, Value::Array(max)),
        )
        .expect(201);
}

#[test]
fn size_media_type_routes_methods_and_path_ids() {
    let w = world();
    let cases = vec![
        Case {
            name: "text/plain body",
            method: "POST",
            path: "/api/v1/businesses".into(),
            body: Some(("text/plain", br#"{"name": "Plain"}"#.to_vec())),
            status: 415,
            code: "UNSUPPORTED_MEDIA_TYPE",
            field: None,
        },
        Case {
            name: "unknown route",
            method: "GET",
            path: "/api/v1/nope".into(),
            body: None,
            status: 404,
            code: "NOT_FOUND",
            field: None,
        },
        Case {
            name: "unknown root route",
            method: "GET",
            path: "/definitely/not/here".into(),
            body: None,
            status: 404,
            code: "NOT_FOUND",
            field: None,
        },
        Case {
            name: "non-UUID business id",
            method: "GET",
            path: "/api/v1/businesses/not-a-uuid".into(),
            body: None,
            status: 400,
            code: "VALIDATION_ERROR",
            field: Some("businessId"),
        },
        Case {
            name: "non-UUID order id",
            method: "GET",
            path: "/api/v1/orders/12345".into(),
            body: None,
            status: 400,
            code: "VALIDATION_ERROR",
            field: Some("orderId"),
        },
        Case {
            name: "non-UUID dishes business id",
            method: "POST",
            path: "/api/v1/businesses/xyz/dishes".into(),
            body: Some((
                "application/json",
                json!({"name": "Dal", "price": 1}).to_string().into_bytes(),
            )),
            status: 400,
            code: "VALIDATION_ERROR",
            field: Some("businessId"),
        },
        Case {
            name: "non-UUID integration id",
            method: "GET",
            path: "/api/v1/pos/integration/abc".into(),
            body: None,
            status: 400,
            code: "VALIDATION_ERROR",
            field: Some("businessId"),
        },
    ];
    run(&w, cases);

    // Wrong method: 405 with Allow.
    let before = counts(&w.app);
    for (method, path, must_allow) in [
        ("DELETE", "/api/v1/businesses".to_string(), "GET"),
        ("PUT", format!("/api/v1/businesses/{}", w.biz_a), "PATCH"),
        ("GET", "/api/v1/pos/connect".to_string(), "POST"),
        ("GET", "/api/v1/auth/login".to_string(), "POST"),
    ] {
        let resp = w.app.raw(method, &path, Some(&w.a), None);
        resp.expect_error(405, "METHOD_NOT_ALLOWED");
        let allow = resp
            .header("allow")
            .unwrap_or_else(|| panic!("{method} {path}: no Allow header: {:?}", resp.headers));
        assert!(
            allow.contains(must_allow),
            "{method} {path}: Allow = {allow}"
        );
        assert!(!allow.contains(method), "{method} {path}: Allow = {allow}");
    }
    assert_eq!(before, counts(&w.app));
}

/// Send `head` (request line and headers, without the blank line) and then `body` in pieces,
/// stopping at the first write error (the server may answer early and stop reading); read the
/// answer.
fn raw_http(app: &TestApp, head: &str, pieces: impl Iterator<Item = Vec<u8>>) -> (u16, Value) {
    use std::io::{Read, Write};
    let addr = app.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    stream
        .write_all(format!("{head}\r\nconnection: close\r\n\r\n").as_bytes())
        .unwrap();
    for piece in pieces {
        if stream.write_all(&piece).is_err() {
            break;
        }
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).to_string();
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    // A chunked answer: take the JSON object out of it.
    let json = match (body.find('{'), body.rfind('}')) {
        (Some(a), Some(b)) => serde_json::from_str(&body[a..=b]).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    (status, json)
}

#[test]
fn oversized_bodies_are_413_with_or_without_content_length() {
    let w = world();
    let before = counts(&w.app);
    let host = w.app.base.trim_start_matches("http://").to_string();
    let auth = format!("authorization: Bearer {}", w.a);

    // Declared 2 MiB: refused on the header, before the body is read.
    for path in ["/api/v1/businesses", "/api/v1/orders"] {
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: {host}\r\n{auth}\r\ncontent-type: application/json\r\ncontent-length: {}",
            2 * 1024 * 1024
        );
        let (status, body) = raw_http(&w.app, &head, std::iter::empty());
        assert_eq!(status, 413, "{path}: {body}");
        assert_eq!(body["success"], false, "{path}: {body}");
        assert_eq!(body["error"]["code"], "PAYLOAD_TOO_LARGE", "{path}: {body}");
    }

    // Chunked, no content-length: a little over 1 MiB of a JSON string.
    let head = format!(
        "POST /api/v1/businesses HTTP/1.1\r\nhost: {host}\r\n{auth}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked"
    );
    let piece = 64 * 1024;
    let mut pieces = vec![b"{\"name\": \"".to_vec()];
    pieces.extend((0..18).map(|_| vec![b'x'; piece]));
    pieces.push(b"\"}".to_vec());
    let chunks = pieces
        .into_iter()
        .map(|p| {
            let mut c = format!("{:x}\r\n", p.len()).into_bytes();
            c.extend(p);
            c.extend(b"\r\n");
            c
        })
        .chain(std::iter::once(b"0\r\n\r\n".to_vec()));
    let (status, body) = raw_http(&w.app, &head, chunks);
    assert_eq!(status, 413, "chunked: {body}");
    assert_eq!(
        body["error"]["code"], "PAYLOAD_TOO_LARGE",
        "chunked: {body}"
    );

    assert_eq!(before, counts(&w.app));
    // The service still answers.
    w.app.get("/api/v1/businesses", Some(&w.a)).expect(200);
    // And just under the limit is not a 413 (a name that long is a 400).
    let resp = w.app.post(
        "/api/v1/businesses",
        Some(&w.a),
        json!({"name": "x".repeat(1024 * 1024 - 64)}),
    );
    resp.expect_error(400, "VALIDATION_ERROR");
}

#[test]
fn bad_limit_and_offset_name_the_parameter() {
    let w = world();
    let mut cases = Vec::new();
    for base in [
        "/api/v1/businesses".to_string(),
        format!("/api/v1/businesses/{}/dishes", w.biz_a),
        format!("/api/v1/pos/history/{}", w.biz_a),
        "/api/v1/notifications".to_string(),
    ] {
        for bad in ["0", "201", "-1", "abc"] {
            cases.push(Case {
                name: "bad limit",
                method: "GET",
                path: format!("{base}?limit={bad}"),
                body: None,
                status: 400,
                code: "VALIDATION_ERROR",
                field: Some("limit"),
            });
        }
        for bad in ["-1", "abc"] {
            cases.push(Case {
                name: "bad offset",
                method: "GET",
                path: format!("{base}?offset={bad}"),
                body: None,
                status: 400,
                code: "VALIDATION_ERROR",
                field: Some("offset"),
            });
        }
    }
    cases.push(Case {
        name: "bad history status",
        method: "GET",
        path: format!("/api/v1/pos/history/{}?status=done", w.biz_a),
        body: None,
        status: 400,
        code: "VALIDATION_ERROR",
        field: Some("status"),
    });
    run(&w, cases);
    for ok in ["1", "200"] {
        let resp = w
            .app
            .get(&format!("/api/v1/businesses?limit={ok}"), Some(&w.a));
        resp.expect(200);
        assert_eq!(resp.data()["limit"], ok.parse::<i64>().unwrap());
    }
}
