//! The first day and fixing things without a developer: a test order that shows the POS
//! connection works end to end, and the replay of failed orders once their cause is fixed.

use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::param::Path;
use uuid::Uuid;

use super::ApiTags;
use super::auth::BearerAuth;
use super::envelope::{Accepted, ApiResult, accepted};
use super::models::TestOrderData;
use crate::app::App;
use crate::domain::{BusinessId, now_millis};
use crate::store::test_orders;

/// Test orders and bulk replay. The app comes to each operation as request data.
#[derive(Default)]
pub struct OnboardingApi;

#[OpenApi(prefix_path = "/api/v1/pos", tag = "ApiTags::Pos")]
impl OnboardingApi {
    /// Send a test order to the POS
    ///
    /// An order marked `is_test` for "possync test order", one line "possync test item" at 100
    /// minor units, paid, pickup as soon as possible, pushed at once whatever
    /// `auto_sync_orders` says. Watch its `syncLog` (or `GET /orders/{orderId}`) reach
    /// `success`. Test orders appear in history (the log shows `is_test`), are left out of
    /// stats, and can be canceled like any order. 409 without an active integration.
    #[oai(
        path = "/test-order/:businessId",
        method = "post",
        operation_id = "sendTestOrder"
    )]
    async fn test_order(
        &self,
        app: Data<&App>,
        auth: BearerAuth,
        #[oai(name = "businessId")] business_id: Path<Uuid>,
    ) -> ApiResult<Accepted<TestOrderData>> {
        let id = BusinessId::from(business_id.0);
        let max_retries = app.sync.settings().max_retries;
        let (order, log) = app
            .as_seller(&auth)
            .write(move |tx, seller| {
                test_orders::insert_test_order(tx, seller, &id, max_retries, now_millis())
            })
            .await?;
        app.sync.wake_one();
        Ok(accepted(
            TestOrderData {
                order: order.into(),
                sync_log: log.into(),
            },
            "Test order sent",
        ))
    }
}
