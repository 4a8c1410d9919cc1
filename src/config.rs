//! Settings. Every flag also reads `POSSYNC_<FLAG>` from the environment.

mod checks;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// How hard SQLite syncs to disk on commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Durability {
    /// `synchronous=FULL`: a committed transaction survives a power cut (the default).
    Full,
    /// `synchronous=NORMAL`: faster; a power cut may lose the last commits (never corrupts).
    Normal,
}

/// Where the data lives and how it is protected. Shared by every command that opens the store.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreArgs {
    /// Directory for the database and the master key file.
    #[arg(long, env = "POSSYNC_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// The SQLite database file [default: <data-dir>/possync.db].
    #[arg(long, env = "POSSYNC_DATABASE")]
    pub database: Option<PathBuf>,

    /// `full` survives a power cut with every acknowledged order; `normal` is faster.
    #[arg(long, env = "POSSYNC_DURABILITY", value_enum, default_value = "full")]
    pub durability: Durability,

    /// File holding the master key (base64 of 32 bytes, one per line, last one current);
    /// created with mode 0600 on first start [default: <data-dir>/master.key].
    #[arg(long, env = "POSSYNC_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,

    /// The master key itself (base64 of 32 bytes); overrides the key file. Prefer the
    /// environment variable to the flag, which other users of the machine can see.
    #[arg(long, env = "POSSYNC_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<String>,
}

impl StoreArgs {
    /// The database file.
    pub fn database_path(&self) -> PathBuf {
        self.database
            .clone()
            .unwrap_or_else(|| self.data_dir.join("possync.db"))
    }

    /// The master key file.
    pub fn master_key_path(&self) -> PathBuf {
        self.master_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("master.key"))
    }
}

/// Whether anyone may create an account over the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Registration {
    Open,
    Closed,
}

/// Settings of `possync serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,

    #[command(flatten)]
    pub sync: SyncArgs,

    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "POSSYNC_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// `open`: anyone can register over the API; `closed`: only `possync seller create`.
    #[arg(long, env = "POSSYNC_REGISTRATION", value_enum, default_value = "open")]
    pub registration: Registration,

    /// Lifetime of a login token (e.g. `30d`, `12h`).
    #[arg(long, env = "POSSYNC_SESSION_TTL", default_value = "30d", value_parser = checks::positive_duration)]
    pub session_ttl: Duration,

    /// Connections in the database pool.
    #[arg(long, env = "POSSYNC_DB_CONNECTIONS", default_value_t = 8)]
    pub db_connections: u32,

    #[command(flatten)]
    pub connections: ConnectionArgs,
}

/// Limits on client connections, so idle or slow clients cannot use up the descriptors the
/// service needs for its database, its POS calls and new requests.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct ConnectionArgs {
    /// A client must send a request's headers within this long of starting it (or of
    /// connecting); otherwise the connection is closed.
    #[arg(long, env = "POSSYNC_HEADER_TIMEOUT", default_value = "10s", value_parser = checks::positive_duration)]
    pub header_timeout: Duration,

    /// A kept-alive connection with no new request for this long is closed.
    #[arg(long, env = "POSSYNC_IDLE_TIMEOUT", default_value = "60s", value_parser = checks::positive_duration)]
    pub idle_timeout: Duration,

    /// Most client connections open at once; further clients wait in the listen queue until
    /// one closes [default: the open-file limit less room for the database and POS calls].
    #[arg(long, env = "POSSYNC_MAX_CONNECTIONS", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: Option<u32>,
}

/// How orders are pushed: retries, workers, provider endpoints. Shared by `serve` and
/// `retries run`.
#[derive(Debug, Clone, clap::Args)]
pub struct SyncArgs {
    /// Wait between retries after a network error, timeout or 5xx (e.g. `5m`, `2s`, `500ms`).
    #[arg(long, env = "POSSYNC_RETRY_INTERVAL", default_value = "5m", value_parser = checks::positive_duration)]
    pub retry_interval: Duration,

    /// Retries after the first attempt before a log fails (so at most this + 1 attempts).
    #[arg(long, env = "POSSYNC_MAX_RETRIES", default_value_t = 12, value_parser = clap::value_parser!(u16))]
    pub max_retries: u16,

    /// First back-off after a 429 without Retry-After; doubles with each retry.
    #[arg(long, env = "POSSYNC_RATE_LIMIT_BACKOFF", default_value = "10s", value_parser = checks::positive_duration)]
    pub rate_limit_backoff: Duration,

    /// The longest a 429 back-off grows (a Retry-After from the POS is honoured even beyond it).
    #[arg(long, env = "POSSYNC_MAX_BACKOFF", default_value = "1h", value_parser = checks::positive_duration)]
    pub max_backoff: Duration,

    /// Worker threads pushing orders in parallel.
    #[arg(long, env = "POSSYNC_SYNC_WORKERS", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub sync_workers: u16,

    /// Attempts in flight at once to one integration (its lane). 1 keeps each restaurant's
    /// orders in the order they were placed; workers serve the lanes with due work in turn.
    #[arg(long, env = "POSSYNC_LANE_CONCURRENCY", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub lane_concurrency: u16,

    /// Attempts of one integration in a row that get no answer (network, timeout, 5xx) before
    /// its lane's circuit opens: its orders are held and one probe goes out per retry interval.
    /// 0: never open.
    #[arg(long, env = "POSSYNC_BREAKER_AFTER", default_value_t = 5, value_parser = clap::value_parser!(u16))]
    pub breaker_after: u16,

    /// Requests a minute to one Zoho organisation, every Inventory call counted (pushes,
    /// contacts, lookups, catalog pages, state reads); more wait their turn instead of meeting
    /// Zoho's 429 (Zoho allows 100 a minute per organisation).
    #[arg(long, env = "POSSYNC_ZOHO_REQUESTS_PER_MINUTE", default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..))]
    pub zoho_requests_per_minute: u32,

    /// Timeout of one request to a POS, connect to last byte.
    #[arg(long, env = "POSSYNC_PROVIDER_TIMEOUT", default_value = "10s", value_parser = checks::positive_duration)]
    pub provider_timeout: Duration,

    /// How long a POS catalog read for item mapping is served from the database before it is
    /// read from the POS again (e.g. `10m`, `1h`).
    #[arg(long, env = "POSSYNC_CATALOG_TTL", default_value = "10m", value_parser = checks::positive_duration)]
    pub catalog_ttl: Duration,

    /// Square API host (sandbox: `https://connect.squareupsandbox.com`).
    #[arg(
        long,
        env = "POSSYNC_SQUARE_BASE_URL",
        value_parser = checks::http_url,
        default_value = "https://connect.squareup.com"
    )]
    pub square_base_url: String,

    /// The `Square-Version` header sent with every Square call.
    #[arg(long, env = "POSSYNC_SQUARE_VERSION", default_value = "2025-08-20")]
    pub square_version: String,

    /// Zoho Inventory API base. Unset: the `api_domain` Zoho's token exchange returned (plus
    /// `/inventory/v1`), else `https://www.zohoapis.com/inventory/v1`. Set: it wins (mocks, proxies).
    #[arg(long, env = "POSSYNC_ZOHO_API_BASE_URL", value_parser = checks::http_url)]
    pub zoho_api_base_url: Option<String>,

    /// Dine POS base URL (its aggregator webhook is `{url}/api/aggregator/order`); a Dine
    /// integration cannot push without it.
    #[arg(long, env = "POSSYNC_DINE_BASE_URL", value_parser = checks::http_url)]
    pub dine_base_url: Option<String>,

    #[command(flatten)]
    pub oauth: OAuthArgs,

    #[command(flatten)]
    pub notify: NotifyArgs,

    /// Cron expression (6 fields with seconds, or 5) for the sweep that pushes every due retry,
    /// as the integration guide's cron job does; retries also fire on their own time. Blank: off.
    #[arg(
        long,
        env = "POSSYNC_RETRY_SWEEP_SCHEDULE",
        default_value = "0 */5 * * * *",
        value_parser = Cron::parse
    )]
    pub retry_sweep_schedule: Cron,

    /// Cron expression for deleting expired and revoked login tokens. Blank: off.
    #[arg(long, env = "POSSYNC_CLEANUP_SCHEDULE", default_value = "0 30 3 * * *", value_parser = Cron::parse)]
    pub cleanup_schedule: Cron,

    /// Cron expression for reading the state of recently pushed orders back from the POS
    /// (Square, Zoho): the orders' `pos_state`. Blank: off.
    #[arg(long, env = "POSSYNC_POS_STATE_SCHEDULE", default_value = "0 * * * * *", value_parser = Cron::parse)]
    pub pos_state_schedule: Cron,
}

/// OAuth clients and token refresh.
#[derive(Debug, Clone, clap::Args)]
pub struct OAuthArgs {
    /// The address sellers' browsers reach possync at; OAuth redirect URIs are
    /// `{public-url}/api/v1/pos/oauth/{provider}/callback`.
    #[arg(
        long,
        env = "POSSYNC_PUBLIC_URL",
        value_parser = checks::http_url,
        default_value = "http://127.0.0.1:8080"
    )]
    pub public_url: String,

    /// Square application id (`sq0idp-…`). Without it and the secret, Square OAuth and token
    /// refresh are off (personal access tokens still work).
    #[arg(long, env = "POSSYNC_SQUARE_CLIENT_ID")]
    pub square_client_id: Option<String>,

    /// Square application secret.
    #[arg(long, env = "POSSYNC_SQUARE_CLIENT_SECRET", hide_env_values = true)]
    pub square_client_secret: Option<String>,

    /// Zoho Accounts server of your data centre (India: `https://accounts.zoho.in`).
    #[arg(
        long,
        env = "POSSYNC_ZOHO_ACCOUNTS_BASE_URL",
        value_parser = checks::http_url,
        default_value = "https://accounts.zoho.com"
    )]
    pub zoho_accounts_base_url: String,

    /// Zoho client id (API console). Zoho access tokens live an hour: without the client,
    /// possync cannot refresh them.
    #[arg(long, env = "POSSYNC_ZOHO_CLIENT_ID")]
    pub zoho_client_id: Option<String>,

    /// Zoho client secret.
    #[arg(long, env = "POSSYNC_ZOHO_CLIENT_SECRET", hide_env_values = true)]
    pub zoho_client_secret: Option<String>,

    /// How long an OAuth `state` stays valid.
    #[arg(long, env = "POSSYNC_OAUTH_STATE_TTL", default_value = "10m", value_parser = checks::positive_duration)]
    pub oauth_state_ttl: Duration,

    /// Where the OAuth callback sends the browser afterwards (303 with `status=connected` or
    /// `error=...`); unset: possync answers a small page itself.
    #[arg(long, env = "POSSYNC_OAUTH_RETURN_URL", value_parser = checks::http_url)]
    pub oauth_return_url: Option<String>,

    /// Cron expression for refreshing Square tokens last refreshed over 7 days ago or expiring
    /// within 7 days (and Zoho tokens close to expiry). Blank: off.
    #[arg(
        long,
        env = "POSSYNC_TOKEN_REFRESH_SCHEDULE",
        default_value = "0 0 */6 * * *",
        value_parser = Cron::parse
    )]
    pub token_refresh_schedule: Cron,
}

/// A cron job's schedule, checked when the settings load: 6 fields with seconds, or a 5-field
/// crontab (run at second 0). A blank string turns the job off.
#[derive(Debug, Clone)]
pub struct Cron(Option<cron::Schedule>);

impl Cron {
    /// Parse a job's cron expression (the flag's value parser).
    pub fn parse(expr: &str) -> Result<Cron, String> {
        let expr = expr.trim();
        if expr.is_empty() {
            return Ok(Cron(None));
        }
        // The cron crate wants seconds first; a crontab line has none.
        let full = if expr.split_whitespace().count() == 5 {
            format!("0 {expr}")
        } else {
            expr.to_string()
        };
        cron::Schedule::from_str(&full)
            .map(|schedule| Cron(Some(schedule)))
            .map_err(|e| format!("`{expr}` is not a cron expression: {e}"))
    }

    /// The schedule, or `None` when the job is off.
    pub fn schedule(&self) -> Option<&cron::Schedule> {
        self.0.as_ref()
    }
}

/// Seller notifications: triggers, caps and channels.
#[derive(Debug, Clone, clap::Args)]
pub struct NotifyArgs {
    /// Consecutive failed attempts of an integration that raise one "sync failing" notification.
    #[arg(long, env = "POSSYNC_NOTIFY_AFTER_FAILURES", default_value_t = 3)]
    pub notify_after_failures: u16,

    /// At most this many notifications of one kind per business per hour (an outage must not
    /// flood the seller).
    #[arg(long, env = "POSSYNC_NOTIFY_CAP_PER_HOUR", default_value_t = 3)]
    pub notify_cap_per_hour: u16,

    /// First wait before retrying a failed email/WhatsApp delivery; doubles, at most 1h, 8 tries.
    #[arg(long, env = "POSSYNC_NOTIFY_RETRY_INTERVAL", default_value = "30s", value_parser = checks::positive_duration)]
    pub notify_retry_interval: Duration,

    /// SMTP server: `smtp://user:pass@host:587` (STARTTLS), `smtps://user:pass@host:465`, or
    /// `smtp://host:25?tls=none` for a local relay. Email is off without it.
    #[arg(long, env = "POSSYNC_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// Sender address, e.g. `possync <alerts@spicegarden.in>`.
    #[arg(long, env = "POSSYNC_EMAIL_FROM")]
    pub email_from: Option<String>,

    /// WhatsApp Cloud API base.
    #[arg(
        long,
        env = "POSSYNC_WHATSAPP_API_URL",
        value_parser = checks::http_url,
        default_value = "https://graph.facebook.com/v21.0"
    )]
    pub whatsapp_api_url: String,

    /// WhatsApp Business phone number id. WhatsApp is off without it and the token.
    #[arg(long, env = "POSSYNC_WHATSAPP_PHONE_NUMBER_ID")]
    pub whatsapp_phone_number_id: Option<String>,

    /// WhatsApp Cloud API access token.
    #[arg(long, env = "POSSYNC_WHATSAPP_TOKEN", hide_env_values = true)]
    pub whatsapp_token: Option<String>,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::Cron;
    use crate::cli::{Cli, Command};

    #[test]
    fn cron_takes_six_or_five_fields_and_blank_is_off() {
        assert!(Cron::parse("0 */5 * * * *").unwrap().schedule().is_some());
        assert!(Cron::parse("*/5 * * * *").unwrap().schedule().is_some());
        assert!(Cron::parse("  ").unwrap().schedule().is_none());
        assert!(Cron::parse("every day").is_err());
    }

    #[test]
    fn a_bad_cron_is_refused_when_the_settings_load() {
        let parse =
            |flag: &str, value: &str| Cli::try_parse_from(["possync", "serve", flag, value]);
        let err = parse("--cleanup-schedule", "every day")
            .unwrap_err()
            .to_string();
        assert!(err.contains("--cleanup-schedule"), "{err}");
        assert!(err.contains("is not a cron expression"), "{err}");
        let Command::Serve(args) = parse("--token-refresh-schedule", "").unwrap().command else {
            panic!("not serve")
        };
        assert!(args.sync.oauth.token_refresh_schedule.schedule().is_none());
        assert!(args.sync.cleanup_schedule.schedule().is_some());
    }
}
