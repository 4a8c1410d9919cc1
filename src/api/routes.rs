//! Our own spec as a routing table: which operation serves a request path, which methods a path
//! answers, and what the spec calls its path parameters (poem reports them as `param0`, ...).

use std::sync::OnceLock;

use serde_json::Value;

/// The spec, parsed once.
pub fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| serde_json::from_str(&super::spec_json()).unwrap_or(Value::Null))
}

/// The spec's path templates (`/api/v1/orders/{orderId}`) with their path items.
fn paths() -> impl Iterator<Item = (&'static String, &'static Value)> {
    spec()
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
}

/// Whether the request path `path` is an instance of `template`.
fn serves(template: &str, path: &str) -> bool {
    let parts: Vec<&str> = template.trim_end_matches('/').split('/').collect();
    let wanted: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    parts.len() == wanted.len()
        && parts
            .iter()
            .zip(&wanted)
            .all(|(t, w)| t.starts_with('{') || t == w)
}

/// The template of the route that serves `path` (`/api/v1/orders/{orderId}`), for a metric
/// label that does not grow with every id: the spec's path with the most fixed segments that
/// `path` is an instance of, `/docs` for Swagger UI, the file's path for the status page's files,
/// `unmatched` for any other path.
pub fn template(path: &str) -> &'static str {
    static TEMPLATES: OnceLock<Vec<(&'static str, usize)>> = OnceLock::new();
    let templates = TEMPLATES.get_or_init(|| {
        let mut all: Vec<(&'static str, usize)> = paths()
            .map(|(t, _)| {
                (
                    t.as_str(),
                    t.split('/').filter(|p| p.starts_with('{')).count(),
                )
            })
            .collect();
        // Fewest parameters first: `/api/v1/pos/status` before `/api/v1/pos/{provider}`.
        all.sort_by_key(|(_, params)| *params);
        all
    });
    if let Some((t, _)) = templates.iter().find(|(t, _)| serves(t, path)) {
        return t;
    }
    if let Some(file) = super::status_page::paths().find(|p| *p == path) {
        return file;
    }
    match path {
        "/openapi.json" => "/openapi.json",
        p if p == "/docs" || p.starts_with("/docs/") => "/docs",
        _ => "unmatched",
    }
}

/// The operation object that serves `method path`.
pub fn operation(method: &str, path: &str) -> Option<&'static Value> {
    paths()
        .filter(|(template, _)| serves(template, path))
        .find_map(|(_, item)| item.get(method.to_ascii_lowercase()))
}

/// The methods `path` answers to, for an `Allow` header.
pub fn allowed_methods(path: &str) -> Vec<String> {
    if super::status_page::paths().any(|p| p == path) {
        return vec!["GET".to_string(), "HEAD".to_string()];
    }
    let mut methods: Vec<String> = paths()
        .filter(|(template, _)| serves(template, path))
        .flat_map(|(_, item)| {
            item.as_object()
                .into_iter()
                .flat_map(|o| o.keys().map(|m| m.to_ascii_uppercase()))
        })
        .collect();
    methods.sort();
    methods.dedup();
    methods
}

/// The names of the path parameters of the operation that serves `path` (poem reports a path
/// value that failed to parse as `param0`, `param1`, ...).
pub fn path_param_names(method: &str, path: &str) -> Vec<String> {
    paths()
        .find(|(template, item)| {
            item.get(method.to_ascii_lowercase()).is_some() && serves(template, path)
        })
        .map(|(template, _)| {
            template
                .split('/')
                .filter_map(|p| p.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_the_route_template_of_a_path() {
        assert_eq!(
            super::template("/api/v1/orders/0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b"),
            "/api/v1/orders/{orderId}"
        );
        assert_eq!(super::template("/healthz"), "/healthz");
        assert_eq!(super::template("/docs/index.css"), "/docs");
        assert_eq!(super::template("/wp-admin/x"), "unmatched");
        assert_eq!(super::template("/"), "/");
        assert_eq!(super::template("/web/main.js"), "/web/main.js");
    }

    #[test]
    fn lists_the_methods_of_a_path() {
        assert_eq!(
            super::allowed_methods("/api/v1/businesses/0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b"),
            ["GET", "PATCH"]
        );
        assert_eq!(super::allowed_methods("/healthz"), ["GET"]);
        assert_eq!(super::allowed_methods("/"), ["GET", "HEAD"]);
        assert_eq!(
            super::path_param_names("GET", "/api/v1/orders/x"),
            ["orderId"]
        );
    }
}
