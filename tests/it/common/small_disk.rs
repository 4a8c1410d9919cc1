//! A small file system of its own for a test's database, which the test can fill to the last
//! byte and free again: the disk-full cases meet a real `ENOSPC` in SQLite's own write path.
//!
//! Why a tmpfs mount and not a simulation: SQLite turns `ENOSPC` on its WAL append into
//! `SQLITE_FULL`, exactly what a full disk does in production, and freeing the filler makes
//! the very same connections work again. `PRAGMA max_page_count` only refuses *new* pages, so
//! every write that fits in a page already there (most small ones) still succeeds and the
//! failure would depend on page fill; `chmod` stops neither root nor descriptors already open.
//! Mounting needs root (CAP_SYS_ADMIN), which this machine and CI have; without it the test
//! fails saying so, rather than passing without having tested anything.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// A mounted tmpfs of a few MiB; unmounted when dropped.
pub struct SmallDisk {
    dir: TempDir,
    filler: PathBuf,
}

impl SmallDisk {
    /// Mount a tmpfs of `mib` MiB on a fresh directory.
    pub fn mount(mib: u32) -> SmallDisk {
        let dir = TempDir::new().unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={mib}m,mode=0700"),
                "possync-test",
            ])
            .arg(dir.path())
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "the disk-full tests mount a small tmpfs and need root for it: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let filler = dir.path().join("filler");
        SmallDisk { dir, filler }
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The database file a service started with [`SmallDisk::database_flags`] uses.
    pub fn database(&self) -> PathBuf {
        self.path().join("possync.db")
    }

    /// `--database <this disk>/possync.db`, for `serve`.
    pub fn database_flags(&self) -> Vec<String> {
        vec!["--database".into(), self.database().display().to_string()]
    }

    /// Take every free byte: write the filler until the file system says it is full.
    pub fn fill(&self) {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.filler)
            .unwrap();
        for chunk in [1 << 16, 1 << 12, 1] {
            let block = vec![0u8; chunk];
            // Bounded: the disk holds a few MiB.
            for _ in 0..100_000 {
                match file.write_all(&block) {
                    Ok(()) => {}
                    Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
                    Err(e) => panic!("filling the small disk: {e}"),
                }
            }
        }
        let _ = file.sync_all();
    }

    /// Give the space back.
    pub fn free(&self) {
        std::fs::remove_file(&self.filler).unwrap();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Lazy: a service still holding files must not keep the mount (or the test) alive.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}
