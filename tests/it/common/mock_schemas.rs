//! Where the schema-checking mocks (Square, Zoho) find the providers' official schemas, and how
//! they read, compile and cache them.
//!
//! The folder is `$POSSYNC_PROVIDERS_DIR`, else `<CARGO_MANIFEST_DIR>/../shared/providers`. A
//! missing file is not an error: the mock says so loudly once ("SCHEMA CHECK SKIPPED") and skips
//! only the schema check, since a checkout without `shared/` must still run every other rule.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Value, json};

/// `$POSSYNC_PROVIDERS_DIR`, else `<CARGO_MANIFEST_DIR>/../shared/providers`.
pub fn providers_dir() -> PathBuf {
    match std::env::var_os("POSSYNC_PROVIDERS_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/providers"),
    }
}

type Cache = Mutex<HashMap<(TypeId, PathBuf), Arc<dyn Any + Send + Sync>>>;

/// `load(dir)`, compiled once per kind of schemas, folder and process: compiling the Square
/// schemas for each of two hundred tests would cost more than the tests.
pub fn cached<T: Send + Sync + 'static>(dir: &Path, load: fn(&Path) -> T) -> Arc<T> {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    let entry = cache
        .entry((TypeId::of::<T>(), dir.to_path_buf()))
        .or_insert_with(|| Arc::new(load(dir)))
        .clone();
    entry
        .downcast::<T>()
        .unwrap_or_else(|_| unreachable!("the cache is keyed by the type"))
}

/// The schema files of one provider (`square/`, `zoho/`), with those that could not be read.
pub struct SchemaFiles {
    folder: PathBuf,
    missing: Vec<String>,
}

impl SchemaFiles {
    /// The files under `dir/provider/`.
    pub fn new(dir: &Path, provider: &str) -> SchemaFiles {
        SchemaFiles {
            folder: dir.join(provider),
            missing: Vec::new(),
        }
    }

    /// The file as JSON; `None` (noted as missing) when it cannot be read. A file that is not
    /// JSON panics: that is a broken checkout, not a schema to skip.
    pub fn read(&mut self, file: &str) -> Option<Value> {
        let path = self.folder.join(file);
        match std::fs::read_to_string(&path) {
            Ok(text) => Some(
                serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display())),
            ),
            Err(e) => {
                self.missing.push(format!("{} ({e})", path.display()));
                None
            }
        }
    }

    /// Say loudly which files were missing (nothing when none was): `mock` names the mock,
    /// `still` what it checks all the same.
    pub fn warn_if_missing(self, mock: &str, still: &str) {
        if self.missing.is_empty() {
            return;
        }
        let provider = self
            .folder
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        eprintln!(
            "\n!!!!!!!! SCHEMA CHECK SKIPPED for the mock {mock}: {}. {still}, but nothing is \
             checked against the missing schemas. Set POSSYNC_PROVIDERS_DIR to the folder \
             holding {provider}/. !!!!!!!!\n",
            self.missing.join("; ")
        );
    }
}

/// A draft-7 validator; a schema that does not compile panics (a broken checkout).
pub fn compile(name: &str, schema: &Value) -> jsonschema::Validator {
    jsonschema::draft7::new(schema)
        .unwrap_or_else(|e| panic!("the schema {name} does not compile: {e}"))
}

/// A schema whose root is `#/definitions/{def}` among `definitions`.
pub fn rooted(definitions: &Value, def: &str) -> Value {
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$ref": format!("#/definitions/{def}"),
        "definitions": definitions,
    })
}
