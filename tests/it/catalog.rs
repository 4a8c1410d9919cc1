//! The POS catalog and the mapping assistant against the mocks: every page read (Square's
//! cursor, Zoho's page_context), inactive and deleted items left out, the cache and its TTL,
//! the POS down with and without a cache, Dine's refusal, statuses and suggestions.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::mock_square::MockSquare;
use crate::common::mock_zoho::{MockZoho, ZohoEndpoint, ZohoFault};
use crate::common::provider_env::ProviderEnv;
use crate::common::{OFFLINE, TestApp};

/// A Square ITEM with one variation per `(id, name, price)`.
pub fn square_item(id: &str, name: &str, variations: &[(&str, &str, i64)]) -> Value {
    let variations: Vec<Value> = variations
        .iter()
        .map(|(vid, vname, price)| {
            json!({"type": "ITEM_VARIATION", "id": vid, "version": 1, "is_deleted": false,
                   "present_at_all_locations": true,
                   "item_variation_data": {"item_id": id, "name": vname, "sku": format!("SKU-{vid}"),
                       "pricing_type": "FIXED_PRICING",
                       "price_money": {"amount": price, "currency": "INR"}}})
        })
        .collect();
    json!({"type": "ITEM", "id": id, "version": 1, "is_deleted": false,
           "present_at_all_locations": true,
           "item_data": {"name": name, "variations": variations}})
}

/// How many times the mock was asked for its catalog.
pub fn catalog_reads(mock: &MockSquare) -> usize {
    mock.requests()
        .iter()
        .filter(|r| r.path == "/v2/catalog/list")
        .count()
}

impl<M> ProviderEnv<M> {
    /// `GET /pos/catalog/{business}?{query}`.
    pub fn catalog(&self, query: &str) -> crate::common::Resp {
        self.app.get(
            &format!("/api/v1/pos/catalog/{}?{query}", self.business),
            Some(&self.token),
        )
    }

    /// `GET /pos/mapping/{business}` → `data`.
    pub fn mapping(&self) -> Value {
        let resp = self.app.get(
            &format!("/api/v1/pos/mapping/{}", self.business),
            Some(&self.token),
        );
        resp.expect(200);
        resp.data().clone()
    }

    /// `POST /pos/mapping/{business}/apply-suggestions`.
    pub fn apply_suggestions(&self, body: Value) -> crate::common::Resp {
        self.app.post(
            &format!("/api/v1/pos/mapping/{}/apply-suggestions", self.business),
            Some(&self.token),
            body,
        )
    }
}

fn ids(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["pos_item_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn square_catalog_is_every_page_one_entry_per_variation_and_cached() {
    let env = ProviderEnv::square(&[]);
    // 130 items (two pages of Square's 100) with two variations each, and one deleted item.
    let mut objects: Vec<Value> = (0..130)
        .map(|i| {
            square_item(
                &format!("ITEM{i:03}"),
                &format!("Dish {i:03}"),
                &[
                    (&format!("V{i:03}R"), "Regular", 10000 + i),
                    (&format!("V{i:03}L"), "Large", 15000 + i),
                ],
            )
        })
        .collect();
    let mut gone = square_item("ITEMGONE", "Gone Dish", &[("VGONE", "Regular", 100)]);
    gone["is_deleted"] = json!(true);
    objects.push(gone);
    env.mock.set_catalog(objects);

    let resp = env.catalog("limit=200");
    resp.expect(200);
    let data = resp.data();
    assert_eq!(data["total"], 260, "{}", resp.text);
    assert_eq!(catalog_reads(&env.mock), 2, "both pages read");
    let first = ids(&data["items"]);
    assert_eq!(first.len(), 200);
    let rest = ids(&env.catalog("limit=200&offset=200").data()["items"]);
    let mut all: Vec<String> = first.into_iter().chain(rest).collect();
    all.sort();
    all.dedup();
    assert_eq!(
        all.len(),
        260,
        "the cursor was followed, no page read twice"
    );
    assert!(
        !all.contains(&"VGONE".to_string()),
        "deleted items are not listed"
    );
    assert_eq!(
        data["items"][1],
        json!({"pos_item_id": "V000L", "name": "Dish 000", "variation_name": "Large",
               "price": 15000, "currency": "INR", "sku": "SKU-V000L"})
    );
    assert!(data["fetched_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        catalog_reads(&env.mock),
        2,
        "later pages come from the cache"
    );

    // q: case-insensitive, in the name or the variation name.
    let found = env.catalog("q=dISH%20007");
    assert_eq!(ids(&found.data()["items"]), ["V007R", "V007L"]);
    assert_eq!(env.catalog("q=large&limit=1").data()["total"], 130);

    // refresh=true reads the POS again, and sees what changed.
    env.mock.set_catalog(vec![square_item(
        "ITEMX",
        "Masala Dosa",
        &[("VX", "Regular", 12000)],
    )]);
    assert_eq!(
        env.catalog("").data()["total"],
        260,
        "still the cached catalog"
    );
    let fresh = env.catalog("refresh=true");
    assert_eq!(ids(&fresh.data()["items"]), ["VX"]);
    assert_eq!(catalog_reads(&env.mock), 3);
    assert!(env.mock.problems().is_empty(), "{:?}", env.mock.problems());
}

#[test]
fn a_catalog_older_than_the_ttl_is_read_again() {
    let env = ProviderEnv::square(&["--catalog-ttl", "3s"]);
    env.mock
        .set_catalog(vec![square_item("I1", "Lassi", &[("V1", "Sweet", 8000)])]);
    env.catalog("").expect(200);
    env.catalog("").expect(200);
    assert_eq!(catalog_reads(&env.mock), 1, "within the TTL: the cache");
    std::thread::sleep(Duration::from_millis(3500));
    env.catalog("").expect(200);
    assert_eq!(catalog_reads(&env.mock), 2, "past the TTL: the POS");
}

#[test]
fn without_a_cache_a_failing_pos_is_a_502_with_its_message_and_with_one_the_cache_is_served() {
    let env = ProviderEnv::square(&[]);
    env.mock
        .set_catalog(vec![square_item("I1", "Lassi", &[("V1", "Sweet", 8000)])]);
    // Square refuses the token: nothing cached yet, so nothing to show.
    env.mock.set_access_token("sq-access-rotated");
    let message = env.catalog("").expect_error(502, "UPSTREAM_ERROR");
    assert!(message.contains("Square answered HTTP 401"), "{message}");
    assert!(message.contains("UNAUTHORIZED"), "{message}");
    env.mock
        .set_access_token(crate::common::provider_env::SQ_TOKEN);
    let fetched_at = env.catalog("").data()["fetched_at"].clone();

    // Square goes away entirely (the service comes back pointed at a closed port).
    let ProviderEnv {
        app,
        token,
        business,
        ..
    } = env;
    let app = TestApp::start_in(app.stop(), OFFLINE);
    let resp = app.get(
        &format!("/api/v1/pos/catalog/{business}?refresh=true"),
        Some(&token),
    );
    resp.expect(200);
    assert_eq!(ids(&resp.data()["items"]), ["V1"]);
    assert_eq!(resp.data()["fetched_at"], fetched_at);
    let message = resp.body["message"].as_str().unwrap();
    assert!(message.contains("could not be read"), "{message}");
    assert!(message.contains("Square could not be reached"), "{message}");
    // The mapping view still has its catalog.
    let mapping = app.get(&format!("/api/v1/pos/mapping/{business}"), Some(&token));
    assert_eq!(mapping.data()["catalog_fetched_at"], fetched_at);
}

#[test]
fn zoho_catalog_is_every_page_of_active_items() {
    let env = ProviderEnv::zoho(&[]);
    let mut made = Vec::new();
    for i in 0..450 {
        made.push(
            env.mock
                .add_item(&format!("Item {i:03}"), 100.0 + f64::from(i) / 4.0),
        );
    }
    for id in [&made[0], &made[222], &made[449]] {
        env.mock.deactivate_item(id);
    }
    let resp = env.catalog("limit=200&offset=0");
    resp.expect(200);
    assert_eq!(resp.data()["total"], 447, "{}", resp.text);
    let pages: Vec<(Option<String>, Option<String>)> = env
        .mock
        .requests_to(ZohoEndpoint::Items)
        .iter()
        .map(|r| {
            (
                r.query_value("page").map(str::to_string),
                r.query_value("per_page").map(str::to_string),
            )
        })
        .collect();
    let want: Vec<(Option<String>, Option<String>)> = ["1", "2", "3"]
        .iter()
        .map(|p| (Some(p.to_string()), Some("200".to_string())))
        .collect();
    assert_eq!(pages, want, "pages until has_more_page is false");
    let first = &resp.data()["items"][0];
    assert_eq!(first["pos_item_id"], json!(made[1]));
    assert_eq!(first["name"], "Item 001");
    assert_eq!(first["price"], 10025, "rate 100.25 in paise");
    assert_eq!(first["variation_name"], Value::Null);
    let all = env.catalog("q=item%20222").data()["total"].clone();
    assert_eq!(all, 0, "an inactive item is left out");
    env.assert_no_problems();
}

#[test]
fn zoho_down_with_nothing_cached_is_a_502_naming_what_zoho_said() {
    let env = ProviderEnv::zoho(&[]);
    env.mock
        .push_fault_on(ZohoEndpoint::Items, ZohoFault::internal_error());
    let message = env.catalog("").expect_error(502, "UPSTREAM_ERROR");
    assert!(message.contains("code 1000: Internal Error"), "{message}");
    // Without a catalog the mapping view still answers, statuses only mapped/unmapped.
    env.mock
        .push_fault_on(ZohoEndpoint::Items, ZohoFault::internal_error());
    let mapping = env.mapping();
    assert_eq!(mapping["catalog_fetched_at"], Value::Null);
    assert_eq!(mapping["dishes"][0]["status"], "unmapped");
    assert_eq!(mapping["dishes"][0]["suggestion"], Value::Null);
}

#[test]
fn dine_has_no_catalog() {
    let env = ProviderEnv::dine(&[]);
    let message = env.catalog("").expect_error(409, "CONFLICT");
    assert_eq!(
        message,
        "Dine POS offers no catalog: map by name or by its product ids"
    );
    let mapping = env.mapping();
    assert_eq!(
        mapping["coverage"],
        json!({"total": 1, "mapped": 0, "unmapped": 1,
                                           "missing": 0, "price_differs": 0})
    );
    assert_eq!(mapping["catalog_fetched_at"], Value::Null);
    env.apply_suggestions(json!({}))
        .expect_error(409, "CONFLICT");
}

#[test]
fn without_an_integration_there_is_no_catalog_and_another_sellers_business_is_not_found() {
    let env = ProviderEnv::start(MockZoho::start(), &[], "INR", 30000);
    env.catalog("").expect_error(404, "NOT_FOUND");
    let other = env.app.login_new_seller("someone@else.in");
    let resp = env.app.get(
        &format!("/api/v1/pos/mapping/{}", env.business),
        Some(&other),
    );
    resp.expect_error(404, "NOT_FOUND");
    let square = ProviderEnv::square(&[]);
    square.disconnect();
    square.catalog("").expect_error(409, "CONFLICT");
}

/// Dish statuses, coverage and suggestions, then the suggestions applied.
#[test]
fn the_mapping_view_suggests_and_apply_writes_the_suggestions() {
    let env = ProviderEnv::square(&[]);
    let dish = |name, price| env.app.dish(&env.token, &env.business, name, price);
    let naan = dish("Garlic Naan", 6000);
    let dal = dish("Dal Makhani", 25000);
    let dosa = dish("Masala Dosa", 12000);
    let hindi = dish("पनीर टिक्का", 28000);
    let chole = dish("Chole Bhature", 15000);
    let mut catalog = vec![
        square_item("I1", "Paneer Butter Masala", &[("V-PBM", "Regular", 30000)]),
        square_item("I2", "Garlic Naan", &[("V-NAAN", "Regular", 6500)]),
        square_item("I3", "Dal Makhni", &[("V-DAL", "Regular", 25000)]),
        square_item("I4", "Masala Dosa", &[("V-DOSA", "Regular", 12000)]),
        square_item("I5", "पनीर टिक्का", &[("V-HINDI", "Full", 28000)]),
    ];
    env.mock.set_catalog(catalog.clone());
    env.patch_integration(
        json!({"item_mapping": {naan.clone(): "V-NAAN", dosa.clone(): "V-DOSA"}}),
    );
    // The POS replaces the dosa's item: the mapping now points at an id it no longer has.
    catalog[3] = square_item("I6", "Masala Dosa", &[("V-DOSA2", "Regular", 12000)]);
    env.mock.set_catalog(catalog);
    env.catalog("refresh=true").expect(200);

    let view = env.mapping();
    let row = |id: &str| {
        view["dishes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["dish_id"] == json!(id))
            .unwrap()
            .clone()
    };
    let brief = |id: &str| {
        let r = row(id);
        (
            r["status"].as_str().unwrap().to_string(),
            r["suggestion"]["pos_item_id"].as_str().map(str::to_string),
            r["suggestion"]["score"].as_f64(),
        )
    };
    let s = |x: &str| Some(x.to_string());
    assert_eq!(brief(&env.dish), ("unmapped".into(), s("V-PBM"), Some(1.0)));
    assert_eq!(brief(&naan), ("price_differs".into(), None, None));
    assert_eq!(brief(&dal), ("unmapped".into(), s("V-DAL"), Some(0.982)));
    assert_eq!(brief(&dosa), ("missing".into(), s("V-DOSA2"), Some(1.0)));
    assert_eq!(brief(&hindi), ("unmapped".into(), s("V-HINDI"), Some(1.0)));
    assert_eq!(brief(&chole), ("unmapped".into(), None, None));
    assert_eq!(row(&naan)["pos_item_name"], "Garlic Naan (Regular)");
    assert_eq!(row(&hindi)["suggestion"]["variation_name"], "Full");
    assert_eq!(row(&env.dish)["price"], 30000);
    assert_eq!(
        view["coverage"],
        json!({"total": 6, "mapped": 0, "unmapped": 4, "missing": 1, "price_differs": 1})
    );
    assert!(view["catalog_fetched_at"].is_string());

    // Refusals change nothing.
    env.apply_suggestions(json!({"min_score": 0.5}))
        .expect_error(400, "VALIDATION_ERROR");
    let unknown = "0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b";
    let message = env
        .apply_suggestions(json!({"dish_ids": [unknown]}))
        .expect_error(400, "VALIDATION_ERROR");
    assert!(message.starts_with("dish_ids"), "{message}");

    // Default: exact matches only.
    let resp = env.apply_suggestions(json!({}));
    resp.expect(200);
    assert_eq!(resp.data()["applied"], 3);
    let mapping = &resp.data()["integration"]["item_mapping"];
    assert_eq!(mapping[&env.dish], "V-PBM");
    assert_eq!(mapping[&dosa], "V-DOSA2");
    assert_eq!(mapping[&hindi], "V-HINDI");
    assert_eq!(mapping[&naan], "V-NAAN", "a mapped dish keeps its item");
    assert_eq!(mapping.get(&dal), None, "0.982 is under the default 1.0");

    // A lower bar, for one dish.
    let resp = env.apply_suggestions(json!({"min_score": 0.9, "dish_ids": [dal]}));
    assert_eq!(resp.data()["applied"], 1);
    let view = env.mapping();
    assert_eq!(
        view["coverage"],
        json!({"total": 6, "mapped": 4, "unmapped": 1, "missing": 0, "price_differs": 1})
    );
    assert_eq!(
        env.apply_suggestions(json!({"min_score": 0.8})).data()["applied"],
        0
    );
}
