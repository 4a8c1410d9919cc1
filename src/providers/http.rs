//! The blocking HTTP plumbing shared by the POS clients.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use ureq::http::{Request, Response, Uri};
use ureq::middleware::{Middleware, MiddlewareNext};
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{
    ConnectionDetails, Connector, DefaultConnector, NextTimeout, Transport,
};
use ureq::{Body, SendBody};

use super::Outcome;
use crate::domain::ProviderKind;

/// A ureq agent with a whole-request timeout that hands back every status with its body.
pub fn agent(timeout: Duration) -> ureq::Agent {
    with_resolver(config(timeout, IDLE_CONNECTIONS).build())
}

/// [`agent`] for the calls to `provider`'s POS, each timed into
/// `possync_pos_request_duration_seconds`: one pool, for the occasional calls (OAuth, catalog
/// reads).
pub fn pos_agent(timeout: Duration, provider: ProviderKind) -> PosAgent {
    PosAgent::new(timeout, provider, 1)
}

/// [`pos_agent`] for the sync workers' pushes: [`PUSH_SHARDS`] pools.
pub fn push_agent(timeout: Duration, provider: ProviderKind) -> PosAgent {
    PosAgent::new(timeout, provider, PUSH_SHARDS)
}

/// How many connection pools the push agent splits the workers over.
const PUSH_SHARDS: usize = 16;

/// A POS agent split into shards, each thread always using the same one
/// ([`PosAgent::shard`]). A ureq agent keeps its idle connections in one list behind one lock
/// and walks the whole list each time a connection goes back: with hundreds of workers pushing
/// to one POS, that walk and the waits for its lock were a measurable share of every push (4 %
/// of the service's CPU). Split, each pool holds the connections of a few workers. The shards
/// share one connector (so one TLS configuration and session cache) and one name cache.
pub struct PosAgent {
    shards: Vec<ureq::Agent>,
}

static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's turn among the shards, handed out as threads first call a POS.
    static TURN: usize = NEXT_SHARD.fetch_add(1, Ordering::Relaxed);
}

impl PosAgent {
    fn new(timeout: Duration, provider: ProviderKind, shards: usize) -> PosAgent {
        let shards = shards.max(1);
        // The pools share out the idle connections, each twice its even share because threads
        // do not spread over the pools exactly evenly (256 workers: 16 a pool on average).
        let idle = (2 * IDLE_CONNECTIONS / shards).min(IDLE_CONNECTIONS);
        let connector = Shared(Arc::new(DefaultConnector::default()));
        let resolver = Shared(Arc::new(CachingResolver::default()));
        PosAgent {
            shards: (0..shards)
                .map(|_| {
                    ureq::Agent::with_parts(
                        config(timeout, idle).middleware(PosTimer(provider)).build(),
                        connector.clone(),
                        resolver.clone(),
                    )
                })
                .collect(),
        }
    }

    /// The agent this thread uses.
    pub fn shard(&self) -> &ureq::Agent {
        &self.shards[TURN.with(|t| *t) % self.shards.len()]
    }
}

fn with_resolver(config: ureq::config::Config) -> ureq::Agent {
    ureq::Agent::with_parts(
        config,
        DefaultConnector::default(),
        CachingResolver::default(),
    )
}

/// One connector or resolver behind several agents.
#[derive(Debug)]
struct Shared<T>(Arc<T>);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(self.0.clone())
    }
}

impl Connector<()> for Shared<DefaultConnector> {
    type Out = Box<dyn Transport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<()>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        self.0.connect(details, chained)
    }
}

impl Resolver for Shared<CachingResolver> {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        self.0.resolve(uri, config, timeout)
    }
}

/// How long a resolved host name is reused.
const RESOLVED_FOR: Duration = Duration::from_secs(60);

/// ureq's resolver, with a timeout set, looks every host up on a new thread, for every request
/// (a pooled connection is looked up after the name is resolved): a thread spawn and a DNS query
/// per push. This one answers an IP literal at once and keeps a name's addresses for
/// [`RESOLVED_FOR`]; a miss goes to ureq's resolver (its timeout included).
#[derive(Debug, Default)]
struct CachingResolver {
    inner: DefaultResolver,
    names: Mutex<HashMap<String, (Instant, ResolvedSocketAddrs)>>,
}

impl Resolver for CachingResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let (Some(authority), Some(port)) = (
            uri.authority(),
            uri.port_u16().or(match uri.scheme_str() {
                Some("https") => Some(443),
                Some("http") => Some(80),
                _ => None,
            }),
        ) else {
            return self.inner.resolve(uri, config, timeout);
        };
        let host = authority.host();
        if let Ok(ip) = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            let mut addrs = self.empty();
            addrs.push(SocketAddr::new(ip, port));
            return Ok(addrs);
        }
        let key = format!("{host}:{port}");
        if let Some((at, addrs)) = self
            .names
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            && at.elapsed() < RESOLVED_FOR
        {
            return Ok(addrs.clone());
        }
        let addrs = self.inner.resolve(uri, config, timeout)?;
        self.names
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, (Instant::now(), addrs.clone()));
        Ok(addrs)
    }
}

/// The idle connections an agent keeps: one per worker at the most workers the flag allows
/// (256), kept open to the POS instead of a TLS handshake per push.
const IDLE_CONNECTIONS: usize = 256;

fn config(
    timeout: Duration,
    idle: usize,
) -> ureq::config::ConfigBuilder<ureq::typestate::AgentScope> {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_idle_connections(idle)
        .max_idle_connections_per_host(idle)
        .user_agent(concat!("possync/", env!("CARGO_PKG_VERSION")))
}

/// Times each call of a POS agent, from the request to the answer's head.
struct PosTimer(ProviderKind);

impl Middleware for PosTimer {
    fn handle(
        &self,
        request: Request<SendBody>,
        next: MiddlewareNext,
    ) -> Result<Response<Body>, ureq::Error> {
        let operation = operation(request.uri().path());
        let started = Instant::now();
        let answer = next.handle(request);
        let outcome = match &answer {
            Ok(resp) => match resp.status().as_u16() {
                100..=199 => "1xx",
                200..=299 => "2xx",
                300..=399 => "3xx",
                400..=499 => "4xx",
                _ => "5xx",
            },
            Err(ureq::Error::Timeout(_)) => "timeout",
            Err(_) => "error",
        };
        crate::metrics::pos_call(
            self.0.as_str(),
            operation,
            outcome,
            started.elapsed().as_secs_f64(),
        );
        answer
    }
}

/// The operation a POS call performs, from its path (the label stays one of a few words
/// whatever ids the path holds).
fn operation(path: &str) -> &'static str {
    let path = path.trim_end_matches('/');
    if path.ends_with("/revoke") {
        "revoke"
    } else if path.ends_with("/token") {
        "oauth_token"
    } else if path.ends_with("/locations") {
        "locations"
    } else if path.ends_with("/organizations") {
        "organizations"
    } else if path.ends_with("/catalog/list") || path.ends_with("/items") {
        "catalog"
    } else if path.ends_with("/orders/search") {
        "lookup"
    } else if path.ends_with("/status/void") {
        "cancel"
    } else if path.ends_with("/orders/batch-retrieve") || path.contains("/salesorders/") {
        "pos_state"
    } else if path.ends_with("/payments") {
        "payment"
    } else if path.ends_with("/contacts") {
        "contacts"
    } else if path.ends_with("/orders")
        || path.ends_with("/salesorders")
        || path.ends_with("/order")
    {
        "push"
    } else {
        "other"
    }
}

/// An HTTP answer, read whole.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub retry_after: Option<Duration>,
}

/// `Retry-After` as seconds or an HTTP date, relative to `now`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Read a ureq response whole.
pub fn read(mut resp: ureq::http::Response<ureq::Body>) -> Result<Answer, String> {
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, SystemTime::now()));
    let body = resp
        .body_mut()
        .with_config()
        .limit(4 * 1024 * 1024)
        .read_to_string()
        .map_err(|e| describe(&e))?;
    Ok(Answer {
        status,
        body,
        retry_after,
    })
}

/// A transport failure in words a seller can act on.
pub fn describe(err: &ureq::Error) -> String {
    match err {
        ureq::Error::Timeout(_) => "the POS did not answer in time (timeout)".to_string(),
        ureq::Error::ConnectionFailed => "could not connect to the POS".to_string(),
        ureq::Error::HostNotFound => "the POS host name did not resolve".to_string(),
        other => format!("network error: {other}"),
    }
}

/// Classify a failed HTTP answer (not 2xx) by status, as the retry rules want.
pub fn classify(
    status: u16,
    error: String,
    retry_after: Option<Duration>,
    invalid_request: bool,
) -> Outcome {
    match status {
        429 => Outcome::RateLimited { error, retry_after },
        401 => Outcome::AuthFailed { error },
        403 => Outcome::Forbidden { error },
        408 | 500..=599 if !invalid_request => Outcome::Transient { error },
        _ => Outcome::Rejected { error },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_literals_resolve_without_a_lookup_and_names_are_kept() {
        let resolver = CachingResolver::default();
        let config = ureq::config::Config::default();
        let resolve = |uri: &str| {
            let uri: Uri = uri.parse().expect("uri");
            resolver
                .resolve(&uri, &config, NextTimeout::default())
                .map(|a| a.to_vec())
        };
        for (uri, want) in [
            ("http://127.0.0.1:8080/v2/orders", "127.0.0.1:8080"),
            ("https://10.1.2.3/x", "10.1.2.3:443"),
            ("http://[::1]/x", "[::1]:80"),
        ] {
            let want: SocketAddr = want.parse().expect("addr");
            assert_eq!(resolve(uri).expect(uri), vec![want], "{uri}");
        }
        let first = resolve("http://localhost:9/x").expect("localhost");
        assert!(!first.is_empty());
        assert!(
            resolver
                .names
                .lock()
                .expect("lock")
                .contains_key("localhost:9")
        );
        assert_eq!(resolve("http://localhost:9/y").expect("again"), first);
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(90))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(90));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn pos_paths_name_their_operation() {
        for (path, want) in [
            ("/v2/orders", "push"),
            ("/inventory/v1/salesorders", "push"),
            ("/api/aggregator/order", "push"),
            ("/oauth2/token", "oauth_token"),
            ("/oauth/v2/token", "oauth_token"),
            ("/oauth2/revoke", "revoke"),
            ("/oauth/v2/token/revoke", "revoke"),
            ("/v2/locations", "locations"),
            ("/inventory/v1/organizations", "organizations"),
            ("/inventory/v1/contacts", "contacts"),
            ("/v2/orders/search", "lookup"),
            ("/v2/catalog/list", "catalog"),
            ("/inventory/v1/items", "catalog"),
            ("/v2/payments", "payment"),
            ("/v2/elsewhere", "other"),
        ] {
            assert_eq!(operation(path), want, "{path}");
        }
    }

    #[test]
    fn statuses_map_to_the_retry_rules() {
        let class = |status| match classify(status, String::new(), None, false) {
            Outcome::Transient { .. } => "retry",
            Outcome::RateLimited { .. } => "backoff",
            Outcome::AuthFailed { .. } => "auth",
            Outcome::Forbidden { .. } => "forbidden",
            Outcome::Rejected { .. } => "fail",
            Outcome::Success
            | Outcome::Ambiguous { .. }
            | Outcome::Stale { .. }
            | Outcome::Fallback { .. } => "other",
        };
        for (status, want) in [
            (400, "fail"),
            (401, "auth"),
            (403, "forbidden"),
            (404, "fail"),
            (408, "retry"),
            (409, "fail"),
            (422, "fail"),
            (429, "backoff"),
            (500, "retry"),
            (502, "retry"),
            (503, "retry"),
            (504, "retry"),
        ] {
            assert_eq!(class(status), want, "HTTP {status}");
        }
    }
}
