//! The status page at `/` (API.md Part two "Status page"): its files and headers over HTTP, and
//! the page itself in headless Chromium against the real service and a mock Square.

use serde_json::json;

use crate::catalog::square_item;
use crate::common::browser::{Browser, screenshot_dir};
use crate::common::mock_square::{Fault, MockSquare};
use crate::common::provider_env::DISH;
use crate::common::provider_env::{LOCATION, ProviderEnv, SELLER_EMAIL, SQ_TOKEN, requests_for};
use crate::common::{TestApp, wait::PATIENCE, wait::wait_until};

const JS: &str = "text/javascript; charset=utf-8";
const PAGE_FILES: &[(&str, &str)] = &[
    ("/", "text/html; charset=utf-8"),
    ("/web/status.css", "text/css; charset=utf-8"),
    ("/web/icon.svg", "image/svg+xml"),
    ("/web/main.js", JS),
    ("/web/api.js", JS),
    ("/web/app.js", JS),
    ("/web/dom.js", JS),
    ("/web/load.js", JS),
    ("/web/overview.js", JS),
    ("/web/failures.js", JS),
    ("/web/mapping.js", JS),
    ("/web/notifications.js", JS),
    ("/web/test_order.js", JS),
];

#[test]
fn the_page_and_its_files_are_served_with_a_policy_that_allows_only_this_origin() {
    let app = TestApp::start_offline(&[]);
    for (path, content_type) in PAGE_FILES {
        let resp = app.get(path, None);
        resp.expect(200);
        assert_eq!(resp.header("content-type"), Some(*content_type), "{path}");
        let csp = resp.header("content-security-policy").unwrap_or_default();
        for rule in [
            "default-src 'none'",
            "script-src 'self'",
            "connect-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(rule), "{path}: {rule} not in {csp:?}");
        }
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("http"),
            "{csp}"
        );
        assert_eq!(resp.header("x-content-type-options"), Some("nosniff"));
        let head = app.raw("HEAD", path, None, None);
        head.expect(200);
        assert!(head.text.is_empty(), "HEAD {path} has a body");
    }
    // Swagger UI needs its inline script: /docs keeps answering without the page's policy.
    let docs = app.get("/docs", None);
    docs.expect(200);
    assert!(docs.text.contains("swagger"), "{}", docs.text);
    assert_eq!(docs.header("content-security-policy"), None);
}

#[test]
fn the_page_takes_only_get() {
    let app = TestApp::start_offline(&[]);
    let resp = app.post("/", None, json!({}));
    resp.expect_error(405, "METHOD_NOT_ALLOWED");
    assert_eq!(resp.header("allow"), Some("GET, HEAD"));
    app.get("/web/nothing.js", None)
        .expect_error(404, "NOT_FOUND");
}

/// The page's own files, as the binary embeds them.
fn page_source() -> Vec<(&'static str, &'static str)> {
    vec![
        ("index.html", include_str!("../../web/index.html")),
        ("status.css", include_str!("../../web/status.css")),
        ("icon.svg", include_str!("../../web/icon.svg")),
        ("main.js", include_str!("../../web/main.js")),
        ("api.js", include_str!("../../web/api.js")),
        ("app.js", include_str!("../../web/app.js")),
        ("dom.js", include_str!("../../web/dom.js")),
        ("load.js", include_str!("../../web/load.js")),
        ("overview.js", include_str!("../../web/overview.js")),
        ("failures.js", include_str!("../../web/failures.js")),
        ("mapping.js", include_str!("../../web/mapping.js")),
        (
            "notifications.js",
            include_str!("../../web/notifications.js"),
        ),
        ("test_order.js", include_str!("../../web/test_order.js")),
    ]
}

#[test]
fn the_page_loads_nothing_from_elsewhere_and_never_inserts_html() {
    for (name, text) in page_source() {
        // The SVG namespace is a name, not an address anything is fetched from.
        let fetched = text.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        for outside in ["http://", "https://", "//cdn", "@import", "url("] {
            assert!(!fetched.contains(outside), "{name} refers to {outside}");
        }
        // Every file the page is made of is served: a module that imports one not listed in
        // status_page.rs would 404 in the browser.
        for import in text.split("from \"./").skip(1) {
            let file = import.split('"').next().unwrap();
            assert!(
                page_source().iter().any(|(n, _)| *n == file),
                "{name} imports {file}, which is not served"
            );
        }
        if !name.ends_with(".js") {
            continue;
        }
        // API strings go in as text: none of the ways to parse a string as HTML is used.
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
        ] {
            assert!(!text.contains(sink), "{name} uses {sink}");
        }
    }
    let html = include_str!("../../web/index.html");
    // One script, a module file of this origin; no inline handlers or styles (the policy would
    // refuse them anyway, and the page would break quietly).
    assert_eq!(html.matches("<script").count(), 1);
    assert!(html.contains("<script type=\"module\" src=\"/web/main.js\">"));
    for inline in [" onclick=", " onload=", " onsubmit=", " style="] {
        assert!(!html.contains(inline), "index.html has{inline}");
    }
}

/// A name that would run script if the page ever treated an API string as HTML.
const HOSTILE: &str = "<script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\">";

/// What `GET /` shows a restaurant, in a real browser: sign in, the integration, a failed order
/// with the POS's reason (its hostile customer name as text) and "Sync now" that gets it into
/// the POS, the policy refusing inline script, screenshots, Swagger UI still working, sign out.
#[test]
fn the_status_page_in_a_browser() {
    let test = "status_page::the_status_page_in_a_browser";
    let Some(browser) = Browser::start(test, 1280, 900) else {
        return;
    };
    let env = ProviderEnv::square(&[]);
    let mock: &MockSquare = &env.mock;

    // An order the POS refuses once, for a reason the seller can act on.
    mock.push_fault(Fault::BadRequest {
        code: "INVALID_VALUE".into(),
        detail: "Item variation ZZ9 is not in this location's catalog.".into(),
        field: Some("order.line_items[0].catalog_object_id".into()),
    });
    let (refused, _) = env.place(json!({
        "customer_name": HOSTILE,
        "items": [{"dish_id": env.dish, "quantity": 1}],
    }));
    env.wait_status(&refused, "failed");

    // The Square token expires in two days: the page warns.
    let soon = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(48);
    env.app
        .post(
            "/api/v1/pos/connect",
            Some(&env.token),
            json!({"business_id": env.business, "provider": "square", "access_token": SQ_TOKEN,
                   "location_id": LOCATION, "token_expires_at": format!("{soon:.0}")}),
        )
        .expect(200);

    // The POS's catalog has the dish, and an item named like a second, hostile dish: both
    // dishes are unmapped, each with an exact suggestion.
    mock.set_catalog(vec![
        square_item("ITEM-PBM", DISH, &[("VAR-PBM", "Regular", 30000)]),
        square_item(
            "ITEM-HOSTILE",
            HOSTILE,
            &[("VAR-HOSTILE", "Regular", 15000)],
        ),
    ]);
    let hostile_dish = env.app.dish(&env.token, &env.business, HOSTILE, 15000);

    // A second business, not connected, whose name would be markup if the page parsed it.
    env.app.business(&env.token, HOSTILE);

    // Sign in: a wrong password first, then the right one.
    browser.goto(&format!("{}/", env.app.base));
    browser.type_into("#email", SELLER_EMAIL);
    browser.type_into("#password", "wrong horse");
    browser.click("#login-submit");
    browser.wait_text("#login-error", "email or password is incorrect");
    browser.script("document.getElementById('password').value = ''; return null;");
    browser.type_into("#password", "correct horse");
    browser.click("#login-submit");
    browser.wait_text("#who", SELLER_EMAIL);
    assert_eq!(
        browser.script("return sessionStorage.getItem('possync.token') !== null;"),
        json!(true),
        "the token lives in sessionStorage"
    );
    assert_eq!(
        browser.script("return document.cookie;"),
        json!(""),
        "no cookie"
    );

    // The integration, healthy: the refused order was the POS's answer, not a POS down.
    let integration = browser.wait_text("#card-integration", "Square");
    assert!(integration.contains("Active"), "{integration}");
    assert!(integration.contains("Expires soon"), "{integration}");
    let health = browser.wait_text("#card-health", "orders go straight through");
    assert!(health.contains("OK"), "{health}");
    assert!(health.contains("0\nwaiting to be sent"), "{health}");

    // "Send test order": its way to the POS, each step done with its milliseconds, and the
    // mock Square has the order the page names.
    browser.click("#send-test");
    let steps = browser.wait_text("#card-test", "POS order ");
    assert_eq!(
        browser.script(
            "return [...document.querySelectorAll('#card-test .step')].map(s => s.dataset.done);"
        ),
        json!(["yes", "yes", "yes"]),
        "{steps}"
    );
    for step in [
        "Queued in possync at ",
        "Sent to the POS after ",
        " ms in all (the POS took ",
    ] {
        assert!(steps.contains(step), "{step:?} in {steps}");
    }
    assert!(!steps.contains("null"), "{steps}");
    let pos_order = steps.split("POS order ").nth(1).unwrap().trim();
    let pushed = mock.orders();
    let test_order = pushed
        .iter()
        .find(|o| o["id"] == pos_order)
        .unwrap_or_else(|| panic!("{pos_order} not in the mock: {pushed:#?}"));
    assert_eq!(test_order["line_items"][0]["name"], "possync test item");

    // The picker lists both businesses, the hostile name as text; the other one is not
    // connected; back to Spice Garden.
    let options = browser.script(
        "return [...document.querySelectorAll('#business option')].map(o => o.textContent);",
    );
    assert_eq!(options, json!(["Spice Garden", HOSTILE]));
    let other = browser.script("return document.querySelectorAll('#business option')[1].value;");
    browser.select("#business", other.as_str().unwrap());
    browser.wait_text("#summary", "Not connected to a POS yet");
    browser.select("#business", &env.business);
    browser.wait_text("#card-integration", "Active");

    // The failed order: the POS's reason, the hostile name as text, and the page unharmed.
    let failures = browser.wait_text("#card-failures", "is not in this location's catalog");
    assert!(failures.contains("Failed"), "{failures}");
    assert!(
        failures.contains(HOSTILE),
        "the name shows as text: {failures}"
    );
    assert_eq!(
        browser.script("return window.pwned === undefined;"),
        json!(true)
    );
    assert_eq!(
        browser.script(
            "return document.querySelectorAll('#card-failures img, #card-failures script').length;"
        ),
        json!(0)
    );
    assert!(
        browser
            .text("#summary")
            .contains("did not reach the POS today")
    );

    // Screenshots for a person to look at, at desktop and phone width, with the failure shown.
    let dir = screenshot_dir();
    browser.screenshot(390, &dir.join("phone.png"));
    assert_eq!(
        browser.overflowing(),
        Vec::<String>::new(),
        "everything fits at phone width"
    );
    browser.screenshot(1280, &dir.join("desktop.png"));

    // "Sync now": the order goes again and reaches the mock; the row goes away.
    browser.click(&format!("button.sync-now[data-order='{refused}']"));
    wait_until(PATIENCE, "the re-sent order reaches the mock", || {
        env.mock_orders_for(&refused).len() == 1
    });
    env.wait_status(&refused, "success");
    browser.wait_text("#card-failures", "Every order reached the POS");
    assert_eq!(
        requests_for(mock, &refused).len(),
        2,
        "refused once, then sent once"
    );

    // Nothing went wrong in the page: no script error, no refused resource. The failed requests
    // were the wrong password's 401 and the unconnected business's integration (404).
    let other_integration = format!("/api/v1/pos/integration/{}", other.as_str().unwrap());
    let errors: Vec<String> = browser
        .console_errors()
        .into_iter()
        .filter(|e| !(e.contains("/api/v1/auth/login") && e.contains("401")))
        .filter(|e| !(e.contains(&other_integration) && e.contains("404")))
        .collect();
    assert_eq!(errors, Vec::<String>::new(), "the browser's console");

    // Mapping: the unmapped dishes with their suggestions (the hostile name as text), then
    // "Apply suggestions" maps both.
    let mapping = browser.wait_text("#card-mapping", "0 of 2 dishes mapped");
    assert!(mapping.contains("Not mapped"), "{mapping}");
    assert!(mapping.contains(&format!("{DISH} (Regular)")), "{mapping}");
    assert!(mapping.contains(HOSTILE), "{mapping}");
    assert!(mapping.contains("100 % match"), "{mapping}");
    assert_eq!(
        browser.script("return window.pwned === undefined;"),
        json!(true)
    );
    browser.click("#apply-suggestions");
    browser.wait_text("#card-mapping", "2 of 2 dishes mapped");
    let item_mapping = env.integration()["item_mapping"].clone();
    assert_eq!(item_mapping[&env.dish], "VAR-PBM", "{item_mapping}");
    assert_eq!(item_mapping[&hostile_dish], "VAR-HOSTILE", "{item_mapping}");

    // The policy holds in the browser: an inline script added to the page does not run.
    assert_eq!(
        browser.script(
            "const s = document.createElement('script'); s.textContent = 'window.inline = 1'; \
             document.body.append(s); return window.inline === undefined;"
        ),
        json!(true),
        "the Content-Security-Policy refuses inline script"
    );
    let refused = browser.console_errors();
    assert!(
        refused
            .iter()
            .any(|e| e.contains("Content Security Policy")),
        "the browser says why: {refused:?}"
    );

    // Swagger UI still works beside the page (its inline script is not under the policy).
    browser.goto(&format!("{}/docs", env.app.base));
    browser.wait_text(".swagger-ui", "possync");
    browser.wait_text(".swagger-ui", "/api/v1/pos/sync/{orderId}");

    // Back to the page: still signed in in this tab; signing out forgets the token.
    browser.goto(&format!("{}/", env.app.base));
    browser.wait_text("#who", SELLER_EMAIL);
    browser.click("#logout");
    browser.wait_visible("#login-form");
    assert_eq!(
        browser.script("return sessionStorage.getItem('possync.token');"),
        json!(null)
    );
    env.assert_no_problems();
}
