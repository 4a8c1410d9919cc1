//! Businesses and dishes.

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::{Example, MaybeUndefined};
use poem_openapi::{Object, OpenApi};
use uuid::Uuid;

use super::ApiTags;
use super::auth::BearerAuth;
use super::envelope::{ApiResult, Created, Envelope, created, ok};
use super::models::{BusinessData, BusinessList, DishData, DishList, listed};
use super::params;
use super::text::{CurrencyText, EmailText, NonBlank, PhoneText, Text, e164};
use crate::app::App;
use crate::domain::{BusinessId, Currency, Email, bounded, limits, now_millis};
use crate::store::{BusinessPatch, NewBusiness, businesses};
use crate::{Error, Result};

/// A new business.
#[derive(Debug, Object)]
#[oai(example)]
pub struct CreateBusinessRequest {
    /// At most 200 characters.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub name: NonBlank,
    /// ISO 4217 code (default `INR`). Prices are integers in its minor unit.
    #[oai(nullable)]
    pub currency: Option<CurrencyText>,
    /// IANA time zone (default `Asia/Kolkata`).
    #[oai(nullable)]
    pub timezone: Option<Text>,
}

impl Example for CreateBusinessRequest {
    fn example() -> Self {
        CreateBusinessRequest {
            name: NonBlank("Spice Garden".into()),
            currency: Some(CurrencyText("INR".into())),
            timezone: Some(Text("Asia/Kolkata".into())),
        }
    }
}

/// Changes to a business; absent fields stay, `null` clears an optional one.
#[derive(Debug, Object)]
#[oai(example)]
pub struct UpdateBusinessRequest {
    /// At most 200 characters.
    #[oai(nullable, validator(min_length = 1, max_length = 200))]
    pub name: Option<NonBlank>,
    /// Where failure emails go (else the seller's email).
    #[oai(nullable, validator(max_length = 254))]
    pub notification_email: MaybeUndefined<EmailText>,
    /// WhatsApp number for alerts, E.164 (`+919876543210`).
    #[oai(nullable)]
    pub whatsapp_number: MaybeUndefined<PhoneText>,
    #[oai(nullable)]
    pub whatsapp_enabled: Option<bool>,
}

impl Example for UpdateBusinessRequest {
    fn example() -> Self {
        UpdateBusinessRequest {
            name: Some(NonBlank("Spice Garden Koramangala".into())),
            notification_email: MaybeUndefined::Value(EmailText("alerts@spicegarden.in".into())),
            whatsapp_number: MaybeUndefined::Value(PhoneText("+919876543210".into())),
            whatsapp_enabled: Some(true),
        }
    }
}

/// A new dish.
#[derive(Debug, Object)]
#[oai(example)]
pub struct CreateDishRequest {
    /// At most 200 characters.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub name: NonBlank,
    /// Minor units of the business currency (30000 = ₹300.00).
    #[oai(validator(minimum(value = "0")))]
    pub price: i64,
}

impl Example for CreateDishRequest {
    fn example() -> Self {
        CreateDishRequest {
            name: NonBlank("Paneer Butter Masala".into()),
            price: 30000,
        }
    }
}

fn new_business(body: &CreateBusinessRequest) -> Result<NewBusiness> {
    let name = bounded("name", body.name.as_str(), limits::NAME)?;
    let currency = match &body.currency {
        None => Currency::INR,
        Some(code) => Currency::parse(code.as_str())
            .ok_or_else(|| Error::invalid("currency", "must be an ISO 4217 code such as INR"))?,
    };
    let timezone = match &body.timezone {
        None => "Asia/Kolkata".to_string(),
        Some(tz) => {
            let tz = tz.as_str().trim();
            jiff::tz::TimeZone::get(tz).map_err(|_| {
                Error::invalid("timezone", "must be an IANA time zone such as Asia/Kolkata")
            })?;
            tz.to_string()
        }
    };
    Ok(NewBusiness {
        name,
        currency,
        timezone,
    })
}

/// A WhatsApp number in E.164: `+` then 8 to 15 digits.
fn whatsapp_number(raw: &str) -> Result<String> {
    e164(raw).map(str::to_string).ok_or_else(|| {
        Error::invalid(
            "whatsapp_number",
            "must be in E.164 form, like +919876543210",
        )
    })
}

fn business_patch(body: &UpdateBusinessRequest) -> Result<BusinessPatch> {
    fn clearable<T>(
        v: &MaybeUndefined<T>,
        text: fn(&T) -> &str,
        parse: &dyn Fn(&str) -> Result<String>,
    ) -> Result<Option<Option<String>>> {
        match v {
            MaybeUndefined::Undefined => Ok(None),
            MaybeUndefined::Null => Ok(Some(None)),
            MaybeUndefined::Value(t) => parse(text(t)).map(|v| Some(Some(v))),
        }
    }
    Ok(BusinessPatch {
        name: body
            .name
            .as_ref()
            .map(|n| bounded("name", n.as_str(), limits::NAME))
            .transpose()?,
        notification_email: clearable(&body.notification_email, EmailText::as_str, &|s| {
            Ok(Email::parse("notification_email", s)?.as_str().to_string())
        })?,
        whatsapp_number: clearable(&body.whatsapp_number, PhoneText::as_str, &whatsapp_number)?,
        whatsapp_enabled: body.whatsapp_enabled,
    })
}

/// Businesses and their dishes. The app comes to each operation as request data.
#[derive(Default)]
pub struct BusinessesApi;

#[OpenApi(prefix_path = "/api/v1/businesses", tag = "ApiTags::Businesses")]
impl BusinessesApi {
    /// Create a business
    #[oai(path = "/", method = "post", operation_id = "createBusiness")]
    async fn create(
        &self,
        app: Data<&App>,
        auth: BearerAuth,
        body: Json<CreateBusinessRequest>,
    ) -> ApiResult<Created<BusinessData>> {
        let new = new_business(&body)?;
        let business = app
            .as_seller(&auth)
            .write(move |tx, seller| businesses::insert_business(tx, seller, &new, now_millis()))
            .await?;
        Ok(created(BusinessData {
            business: business.into(),
        }))
    }

    /// List your businesses
    ///
    /// Oldest first.
    #[oai(path = "/", method = "get", operation_id = "listBusinesses")]
    async fn list(
        &self,
        app: Data<&App>,
        auth: BearerAuth,
        /// 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<i64>>,
        /// 0 or more (default 0).
        #[oai(validator(minimum(value = "0")))]
        offset: Query<Option<i64>>,
    ) -> ApiResult<Json<Envelope<BusinessList>>> {
        let page = params::page(limit.0, offset.0)?;
        let found = app
            .as_seller(&auth)
            .read(move |c, seller| businesses::list_businesses(c, seller, page))
            .await?;
        let (businesses, page) = listed(found, page);
        Ok(ok(BusinessList { businesses, page }))
    }

    /// Get a business
    #[oai(path = "/:businessId", method = "get", operation_id = "getBusiness")]
    async fn get(
        &self,
        app: Data<&App>,
        auth: BearerAuth,
        #[oai(name = "businessId")] business_id: Path<Uuid>,
    ) -> ApiResult<Json<Envelope<BusinessData>>> {
        let id = BusinessId::from(business_id.0);
        let business = app
            .as_seller(&auth)
            .read(move |c, seller| businesses::owned_business(c, seller, &id))
            .await?;
        Ok(ok(BusinessData {
            business: business.into(),
        }))
    }

    /// Update a business
    ///
    /// Absent fields stay as they are; `null` clears `notification_email` or `whatsapp_number`.
    #[oai(
        path = "/:businessId",
        method = "patch",
        operation_id = "updateBusiness"
    )]
    async fn update(
        &self,
        app: Data<&App>,
        auth: BearerAuth,
        #[oai(name = "businessId")] business_id: Path<Uuid>,
        body: Json<UpdateBusinessRequest>,
    ) -> ApiResult<Json<Envelope<BusinessData>>> {
        let id = BusinessId::from(business_id.0);
        let patch = business_patch(&body)?;
        let business = app
            .as_seller(&auth)
            .write(move |tx, seller| businesses::update_business(tx, seller, &id, &patch))
            .await?;
        Ok(ok(BusinessData {
            business: business.into(),
        }))
    }

    /// Add a dish to a business's menu
    #[oai(
        path = "/:businessId/dishes",
        method = "post",
        operation_id = "createDish"
    )]
    async fn create_dish(
        &self,
        app: Data<&App>,
        auth: BearerAuth,
        #[oai(name = "businessId")] business_id: Path<Uuid>,
        body: Json<CreateDishRequest>,
    ) -> ApiResult<Created<DishData>> {
        let id = BusinessId::from(business_id.0);
        let name = bounded("name", body.name.as_str(), limits::NAME)?;
        if body.price < 0 {
            return Err(Error::invalid("price", "must be 0 or more (minor units)").into());
        }
        let price = body.price;
        let dish = app
            .as_seller(&auth)
            .write(move |tx, seller| {
                businesses::insert_dish(tx, seller, &id, &name, price, now_millis())
            })
            .await?;
        Ok(created(DishData { dish: dish.into() }))
    }

    /// List a business's dishes
    ///
    /// Oldest first.
    #[oai(
        path = "/:businessId/dishes",
        method = "get",
        operation_id = "listDishes"
    )]
    async fn list_dishes(
        &self,
        app: Data<&App>,
        auth: BearerAuth,
        #[oai(name = "businessId")] business_id: Path<Uuid>,
        /// 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<i64>>,
        /// 0 or more (default 0).
        #[oai(validator(minimum(value = "0")))]
        offset: Query<Option<i64>>,
    ) -> ApiResult<Json<Envelope<DishList>>> {
        let id = BusinessId::from(business_id.0);
        let page = params::page(limit.0, offset.0)?;
        let found = app
            .as_seller(&auth)
            .read(move |c, seller| businesses::list_dishes(c, seller, &id, page))
            .await?;
        let (dishes, page) = listed(found, page);
        Ok(ok(DishList { dishes, page }))
    }
}
