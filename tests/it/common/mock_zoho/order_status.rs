//! `GET /salesorders/{id}` (the sales order with its `status`, checked against the schema's
//! `retrieve-a-sales-order-response`) and `POST /salesorders/{id}/status/void`; and what the
//! restaurant does in Zoho meanwhile ([`MockZoho::set_sales_order_status`]).

use serde_json::{Value, json};

use super::MockZoho;
use super::dispatch::{zoho_error, zoho_json};
use super::helpers::now_zoho;
use super::state::{Inner, State};
use crate::common::mock_http::{Request, Response};

/// The id in `/inventory/v1/salesorders/{id}[/…]`.
pub(super) fn sales_order_id(path: &str) -> &str {
    path.trim_start_matches("/inventory/v1/salesorders/")
        .split('/')
        .next()
        .unwrap_or_default()
}

fn not_found(st: &mut State, ctx: &str, id: &str) -> Response {
    st.problem(ctx, format!("no sales order {id}"));
    zoho_error(404, 1002, "Sales Order does not exist.")
}

impl Inner {
    pub(super) fn get_sales_order(&self, st: &mut State, ctx: &str, req: &Request) -> Response {
        let id = sales_order_id(&req.path);
        match st
            .sales_orders
            .iter()
            .find(|so| so["salesorder_id"] == json!(id))
        {
            Some(so) => {
                let answer = json!({"code": 0, "message": "success", "salesorder": so});
                self.self_check(st, "retrieve-a-sales-order-response", &answer);
                zoho_json(200, &answer)
            }
            None => not_found(st, ctx, id),
        }
    }

    pub(super) fn void_sales_order(&self, st: &mut State, ctx: &str, req: &Request) -> Response {
        let id = sales_order_id(&req.path).to_string();
        let Some(so) = st
            .sales_orders
            .iter_mut()
            .find(|so| so["salesorder_id"] == json!(id))
        else {
            return not_found(st, ctx, &id);
        };
        so["status"] = json!("void");
        so["last_modified_time"] = json!(now_zoho());
        st.voids.push(id);
        zoho_json(
            200,
            &json!({"code": 0, "message": "The Sales Order has been voided."}),
        )
    }
}

impl MockZoho {
    /// What the restaurant does in Zoho: set a sales order's `status` (`confirmed`,
    /// `fulfilled`, `void`…).
    pub fn set_sales_order_status(&self, salesorder_id: &str, status: &str) {
        let mut st = self.inner.lock();
        let so: &mut Value = st
            .sales_orders
            .iter_mut()
            .find(|so| so["salesorder_id"] == json!(salesorder_id))
            .expect("no such sales order");
        so["status"] = json!(status);
        so["last_modified_time"] = json!(now_zoho());
    }

    /// The sales orders voided through the API, one entry per void call, in order.
    pub fn voids(&self) -> Vec<String> {
        self.inner.lock().voids.clone()
    }
}
