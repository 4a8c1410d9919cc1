//! Accounts: register, login, logout, me; and the bearer security scheme.

use poem::Request;
use poem::web::Data;
use poem_openapi::auth::Bearer;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{Object, OpenApi, SecurityScheme};

use super::ApiTags;
use super::envelope::{ApiError, ApiResult, Created, Envelope, created, ok, ok_with};
use super::models::{Empty, LoginData, SellerData};
use super::text::{EmailText, Text};
use crate::accounts;
use crate::app::App;
use crate::config::Registration;
use crate::domain::{Email, Password, limits, optional_bounded};
use crate::store::AuthedSeller;

/// `Authorization: Bearer <token>`: a login token or an API token from `possync token create`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", checker = "check_bearer")]
pub struct BearerAuth(pub AuthedSeller);

async fn check_bearer(req: &Request, bearer: Bearer) -> poem::Result<AuthedSeller> {
    let app = req.data::<App>().ok_or_else(|| {
        poem::Error::from(ApiError::from(crate::Error::Internal(
            "no app state".into(),
        )))
    })?;
    match accounts::authenticate(&app.store, bearer.token).await {
        Ok(Some(seller)) => Ok(seller),
        Ok(None) => Err(ApiError::unauthorized(
            "the bearer token is invalid or expired; log in again",
        )
        .into()),
        Err(e) => Err(ApiError::from(e).into()),
    }
}

/// A new account.
#[derive(Debug, Object)]
#[oai(example)]
pub struct RegisterRequest {
    /// Login email (trimmed, compared case-insensitively; at most 254 characters).
    #[oai(validator(max_length = 254))]
    pub email: EmailText,
    /// 8 to 128 characters.
    #[oai(validator(min_length = 8, max_length = 128))]
    pub password: Text,
    /// Display name, at most 200 characters.
    #[oai(nullable, validator(max_length = 200))]
    pub name: Option<Text>,
}

impl Example for RegisterRequest {
    fn example() -> Self {
        RegisterRequest {
            email: EmailText("owner@spicegarden.in".into()),
            password: Text("correct horse battery staple".into()),
            name: Some(Text("Asha Rao".into())),
        }
    }
}

impl Example for LoginRequest {
    fn example() -> Self {
        LoginRequest {
            email: EmailText("owner@spicegarden.in".into()),
            password: Text("correct horse battery staple".into()),
        }
    }
}

/// Credentials.
#[derive(Debug, Object)]
#[oai(example)]
pub struct LoginRequest {
    #[oai(validator(max_length = 254))]
    pub email: EmailText,
    #[oai(validator(min_length = 8, max_length = 128))]
    pub password: Text,
}

/// Accounts: register, login, logout, me. The app comes to each operation as request data.
#[derive(Default)]
pub struct AuthApi;

#[OpenApi(prefix_path = "/api/v1/auth", tag = "ApiTags::Auth")]
impl AuthApi {
    /// Create a seller account
    ///
    /// 403 when the server runs with `--registration closed` (then use `possync seller create`).
    #[oai(path = "/register", method = "post", operation_id = "register")]
    async fn register(
        &self,
        app: Data<&App>,
        body: Json<RegisterRequest>,
    ) -> ApiResult<Created<SellerData>> {
        if app.settings.registration == Registration::Closed {
            return Err(crate::Error::Forbidden(
                "registration is closed on this server; ask its operator for an account".into(),
            )
            .into());
        }
        let email = Email::parse("email", body.email.as_str())?;
        let password = Password::parse(body.password.as_str())?;
        let name = optional_bounded("name", body.name.as_ref().map(Text::as_str), limits::NAME)?;
        let seller = accounts::register(&app.store, email, password, name).await?;
        Ok(created(SellerData {
            seller: seller.into(),
        }))
    }

    /// Log in
    ///
    /// Answers a bearer token valid for `--session-ttl` (30 days by default). A wrong password
    /// and an unknown email get the same 401.
    #[oai(path = "/login", method = "post", operation_id = "login")]
    async fn login(
        &self,
        app: Data<&App>,
        body: Json<LoginRequest>,
    ) -> ApiResult<Json<Envelope<LoginData>>> {
        // A malformed email is a 400 naming it, as its declared pattern says.
        let email = Email::parse("email", body.email.as_str())?;
        let login = accounts::login(
            &app.store,
            email,
            body.0.password.0,
            app.settings.session_ttl,
        )
        .await?;
        Ok(ok(LoginData {
            token: login.token.expose().to_string(),
            expires_at: login.expires_at.into(),
            seller: login.seller.into(),
        }))
    }

    /// Log out
    ///
    /// The presented token stops working.
    #[oai(path = "/logout", method = "post", operation_id = "logout")]
    async fn logout(&self, app: Data<&App>, auth: BearerAuth) -> ApiResult<Json<Envelope<Empty>>> {
        accounts::logout(&app.store, auth.0.token_id).await?;
        Ok(ok_with(Empty {}, "logged out"))
    }

    /// The logged-in seller
    #[oai(path = "/me", method = "get", operation_id = "getMe")]
    async fn me(&self, auth: BearerAuth) -> ApiResult<Json<Envelope<SellerData>>> {
        Ok(ok(SellerData {
            seller: auth.0.seller.into(),
        }))
    }
}
