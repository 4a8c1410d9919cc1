//! Sealing secrets at rest with AES-256-GCM.
//!
//! A sealed value is `k<key id>.<base64(nonce ‖ ciphertext)>`: a random 96-bit nonce per value, and
//! associated data that binds the ciphertext to one integration and one field, so a value copied
//! to another row or column does not open. The key id (the first 8 hex digits of the key's SHA-256)
//! lets old keys stay readable after a rotation.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use aes_gcm::aead::Nonce;
use aes_gcm::aead::{Aead, Generate, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// A secret string (token, password). `Debug` and `Display` print `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself; call only where it leaves for its one purpose.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

struct MasterKey {
    id: String,
    cipher: Aes256Gcm,
}

/// The master keys: the current one seals, every one opens. A keyring loaded from a key file
/// rereads it when it meets a key id it does not know, so `possync keys rotate` run beside a
/// running service does not cut it off from the re-sealed tokens.
pub struct Keyring {
    keys: RwLock<Vec<Arc<MasterKey>>>,
    sealing: Arc<MasterKey>,
    source: Option<PathBuf>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        let ids: Vec<&str> = keys.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("Keyring").field("key_ids", &ids).finish()
    }
}

fn decode_key(text: &str, origin: &str) -> Result<[u8; 32]> {
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|_| Error::Config(format!("{origin}: a master key must be base64")))?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
        Error::Config(format!(
            "{origin}: a master key must be 32 bytes (base64 of 32 bytes)"
        ))
    })
}

impl Keyring {
    /// A keyring of raw 32-byte keys; the last one is current.
    pub fn from_keys(keys: &[[u8; 32]]) -> Result<Keyring> {
        if keys.is_empty() {
            return Err(Error::Config("no master key".into()));
        }
        let keys: Vec<Arc<MasterKey>> = keys.iter().map(master_key).collect();
        let sealing = keys[keys.len() - 1].clone();
        Ok(Keyring {
            keys: RwLock::new(keys),
            sealing,
            source: None,
        })
    }

    /// The key from `POSSYNC_MASTER_KEY`-style text (base64 of 32 bytes).
    pub fn from_base64(text: &str) -> Result<Keyring> {
        Keyring::from_keys(&[decode_key(text, "POSSYNC_MASTER_KEY")?])
    }

    /// Load the key file (one base64 key a line, the last current), creating it with mode 0600
    /// and a fresh random key when it does not exist.
    pub fn load_or_create(path: &Path) -> Result<Keyring> {
        if !path.exists() {
            let key = super::random_bytes::<32>()?;
            write_private(path, &format!("{}\n", STANDARD.encode(key)))?;
            tracing::info!(path = %path.display(), "created a new master key file");
        }
        let keys = read_key_file(path)?;
        let mut keyring = Keyring::from_keys(&keys)?;
        keyring.source = Some(path.to_path_buf());
        Ok(keyring)
    }

    /// Add a fresh random key to the key file (it becomes current; the old ones stay to open
    /// what they sealed). The file is replaced atomically and stays 0600.
    pub fn add_key_to_file(path: &Path) -> Result<Keyring> {
        let old = std::fs::read_to_string(path).map_err(|e| {
            Error::Config(format!("reading master key file {}: {e}", path.display()))
        })?;
        let key = super::random_bytes::<32>()?;
        let mut contents = old.trim_end().to_string();
        contents.push('\n');
        contents.push_str(&STANDARD.encode(key));
        contents.push('\n');
        let temp = path.with_extension("key.new");
        let _ = std::fs::remove_file(&temp);
        write_private(&temp, &contents)?;
        std::fs::rename(&temp, path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Make the rename itself durable.
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Keyring::load_or_create(path)
    }

    fn current(&self) -> &MasterKey {
        &self.sealing
    }

    /// The key with this id; rereads the key file once when it is not known yet.
    fn key(&self, id: &str) -> Option<Arc<MasterKey>> {
        let find = |keys: &Vec<Arc<MasterKey>>| keys.iter().find(|k| k.id == id).cloned();
        if let Some(key) = find(&self.keys.read().unwrap_or_else(PoisonError::into_inner)) {
            return Some(key);
        }
        let path = self.source.as_ref()?;
        let fresh = read_key_file(path).ok()?;
        let mut keys = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        for raw in &fresh {
            let key = master_key(raw);
            if !keys.iter().any(|k| k.id == key.id) {
                tracing::info!(key = %key.id, "learned a new master key from the key file");
                keys.push(key);
            }
        }
        find(&keys)
    }

    /// The id of the key that seals new values.
    pub fn current_id(&self) -> &str {
        &self.current().id
    }

    /// Seal `plaintext`, bound to `aad` (e.g. `<integration id>/access_token`).
    pub fn seal(&self, plaintext: &Secret, aad: &str) -> Result<String> {
        let key = self.current();
        let nonce = Nonce::<Aes256Gcm>::generate();
        let ciphertext = key
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.expose().as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| Error::Crypto("sealing failed".into()))?;
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ciphertext);
        Ok(format!("k{}.{}", key.id, URL_SAFE_NO_PAD.encode(blob)))
    }

    /// Open a value made by [`Keyring::seal`] with the same `aad`.
    pub fn open(&self, sealed: &str, aad: &str) -> Result<Secret> {
        let (id, body) = sealed
            .strip_prefix('k')
            .and_then(|rest| rest.split_once('.'))
            .ok_or_else(|| Error::Crypto("a sealed value is malformed".into()))?;
        let key = self.key(id).ok_or_else(|| {
            Error::Crypto(format!(
                "a secret is sealed with master key {id}, which this keyring does not hold \
                 (wrong --master-key-file or POSSYNC_MASTER_KEY?)"
            ))
        })?;
        let blob = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| Error::Crypto("a sealed value is malformed".into()))?;
        if blob.len() < 12 + 16 {
            return Err(Error::Crypto("a sealed value is truncated".into()));
        }
        let nonce = Nonce::<Aes256Gcm>::try_from(&blob[..12])
            .map_err(|_| Error::Crypto("a sealed value is malformed".into()))?;
        let plain = key
            .cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: &blob[12..],
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| Error::Crypto(format!("a secret does not open with master key {id}")))?;
        String::from_utf8(plain)
            .map(Secret)
            .map_err(|_| Error::Crypto("a sealed value is not text".into()))
    }
}

fn hex8(digest: &[u8]) -> String {
    digest.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// Write a new file readable by its owner only.
fn master_key(raw: &[u8; 32]) -> Arc<MasterKey> {
    Arc::new(MasterKey {
        id: hex8(&Sha256::digest(raw)),
        cipher: Aes256Gcm::new(&Key::<Aes256Gcm>::from(*raw)),
    })
}

/// The keys of a key file: one base64 key a line, `#` comments, the last one current.
fn read_key_file(path: &Path) -> Result<Vec<[u8; 32]>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Config(format!("reading master key file {}: {e}", path.display())))?;
    let origin = path.display().to_string();
    let keys = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| decode_key(l, &origin))
        .collect::<Result<Vec<_>>>()?;
    if keys.is_empty() {
        return Err(Error::Config(format!(
            "{origin}: the master key file holds no key"
        )));
    }
    Ok(keys)
}

fn write_private(path: &Path, contents: &str) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| Error::Config(format!("creating master key file {}: {e}", path.display())))?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(byte: u8) -> Keyring {
        Keyring::from_keys(&[[byte; 32]]).unwrap()
    }

    #[test]
    fn round_trips_and_never_repeats_a_nonce() {
        let k = ring(7);
        let secret = Secret::new("EAAAl-square-token");
        let a = k.seal(&secret, "int-1/access_token").unwrap();
        let b = k.seal(&secret, "int-1/access_token").unwrap();
        assert_ne!(a, b);
        assert!(!a.contains("EAAAl"));
        assert!(a.starts_with(&format!("k{}.", k.current_id())));
        assert_eq!(k.open(&a, "int-1/access_token").unwrap(), secret);
    }

    #[test]
    fn a_value_moved_to_another_row_or_field_does_not_open() {
        let k = ring(7);
        let sealed = k.seal(&Secret::new("t"), "int-1/access_token").unwrap();
        assert!(k.open(&sealed, "int-2/access_token").is_err());
        assert!(k.open(&sealed, "int-1/refresh_token").is_err());
    }

    #[test]
    fn wrong_key_and_tampering_are_errors() {
        let sealed = ring(7).seal(&Secret::new("t"), "a").unwrap();
        let err = ring(8).open(&sealed, "a").unwrap_err().to_string();
        assert!(err.contains("does not hold"), "{err}");
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(ring(7).open(&tampered, "a").is_err());
        assert!(ring(7).open("garbage", "a").is_err());
    }

    #[test]
    fn older_keys_still_open_after_rotation() {
        let old = ring(1);
        let sealed = old.seal(&Secret::new("t"), "a").unwrap();
        let rotated = Keyring::from_keys(&[[1; 32], [2; 32]]).unwrap();
        assert_ne!(rotated.current_id(), old.current_id());
        assert_eq!(rotated.open(&sealed, "a").unwrap().expose(), "t");
    }

    #[test]
    fn key_file_is_created_private_and_reloads_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let first = Keyring::load_or_create(&path).unwrap();
        let again = Keyring::load_or_create(&path).unwrap();
        assert_eq!(first.current_id(), again.current_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(Keyring::from_base64("too-short").is_err());
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "[redacted] [redacted]");
    }
}
