//! The data directory on disk: made private (0700, files 0600) whatever the umask, looked for
//! (never made) by commands that only use what is there, and locked by the one `serve` that
//! owns it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::config::StoreArgs;
use crate::{Error, Result};

/// Create `dir` (and its parents) when missing; a directory made here is 0700 whatever the
/// umask. An existing directory keeps its mode: the operator (or systemd) chose it.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .and_then(|()| set_private(dir, 0o700))
        .map_err(|e| Error::Config(format!("creating data directory {}: {e}", dir.display())))
}

/// Create the empty file `path` 0600 when it does not exist, so that whoever fills it (SQLite)
/// never makes it readable by others; an existing file is left alone.
pub fn create_private_file(path: &Path) -> Result<()> {
    match private_options().write(true).create_new(true).open(path) {
        Ok(_) => set_private(path, 0o600)
            .map_err(|e| Error::Config(format!("restricting {}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::Config(format!("creating {}: {e}", path.display()))),
    }
}

/// The database of a command that only works on what is there: an error naming where it looked
/// when there is none, so a mistyped `--data-dir` never turns into a fresh empty database.
pub fn existing_database(args: &StoreArgs) -> Result<PathBuf> {
    let path = args.database_path();
    if path.is_file() {
        return Ok(path);
    }
    let flag = if args.database.is_some() {
        "--database".to_string()
    } else {
        format!("--data-dir {}", args.data_dir.display())
    };
    Err(Error::Config(format!(
        "no possync database at {} (from {flag}); check the flag or POSSYNC_DATA_DIR, or run \
         `possync migrate` to create one",
        path.display()
    )))
}

/// The exclusive hold of one `serve` on its database, released when dropped (or when the
/// process dies: the operating system drops the lock with the descriptor, so a crash never
/// leaves a stale lock behind).
#[derive(Debug)]
pub struct DataDirLock {
    file: File,
    path: PathBuf,
}

impl DataDirLock {
    /// Take the lock file beside the database (`possync.db.lock`), creating it 0600. A second `serve` on the same database gets
    /// `another possync is running on <dir>`: two services would reclaim each other's in-flight
    /// pushes and send them twice.
    pub fn acquire(args: &StoreArgs) -> Result<DataDirLock> {
        let database = args.database_path();
        let mut name = database.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        let path = database.with_file_name(name);
        let opening = |e: std::io::Error| Error::Config(format!("opening {}: {e}", path.display()));
        // No truncation before the lock is ours: the file holds the owner's process id.
        let mut file = private_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(opening)?;
        set_private(&path, 0o600).map_err(opening)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut owner = String::new();
                let _ = file.read_to_string(&mut owner);
                let owner = match owner.trim() {
                    "" => String::new(),
                    pid => format!(", process {pid}"),
                };
                return Err(Error::Config(format!(
                    "another possync is running on {} (it holds {}{owner}); stop it first",
                    args.data_dir.display(),
                    path.display()
                )));
            }
            Err(TryLockError::Error(e)) => {
                return Err(Error::Config(format!("locking {}: {e}", path.display())));
            }
        }
        Ok(DataDirLock { file, path })
    }

    /// Write our process id into the lock file, for the refusal of the next `serve` and for
    /// the operator. Called once start-up has succeeded: a start refused later (a wrong master
    /// key) leaves the file as it was.
    pub fn record_owner(&mut self) -> Result<()> {
        self.file.set_len(0)?;
        self.file.rewind()?;
        writeln!(self.file, "{}", std::process::id())?;
        Ok(())
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Set the mode outright: unlike the mode given at creation, it is not cut by the umask.
fn set_private(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}
