//! The open-file limit and the connection cap derived from it.
//!
//! Every client connection is a descriptor. When they run out, `accept` fails, the database
//! cannot open its files and a POS call cannot connect: the service answers nobody. So the
//! soft limit is raised to the hard one at start, and client connections are capped below it,
//! leaving room for everything else.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// Descriptors kept back for everything but client connections that does not grow with the
/// settings: stdio, the listener, the lock and key files, the runtime's epoll and wakers, the
/// SMTP and WhatsApp calls, a backup.
const FIXED_HEADROOM: u64 = 64;

/// The most connections possync caps itself at when the limit is unlimited or huge: far more
/// than one restaurant's traffic, and still a bound on memory.
const CAP_CEILING: u64 = 100_000;

/// The fewest connections the computed cap allows, however low the limit.
const CAP_FLOOR: u64 = 16;

/// Raise the soft open-file limit to the hard one if it is lower; returns the soft limit in
/// force afterwards (`None`: unlimited).
pub fn raise_open_file_limit() -> Option<u64> {
    let limit = getrlimit(Resource::Nofile);
    if limit.current == limit.maximum {
        return limit.current;
    }
    let raised = Rlimit {
        current: limit.maximum,
        maximum: limit.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => {
            tracing::info!(
                from = limit.current,
                to = limit.maximum,
                "raised the open-file limit (RLIMIT_NOFILE) to its hard limit"
            );
            limit.maximum
        }
        Err(e) => {
            // Under the packaged unit the system call filter refuses it; LimitNOFILE= has
            // already set the limit there.
            tracing::info!(
                limit = limit.current,
                error = %e,
                "cannot raise the open-file limit (RLIMIT_NOFILE); set LimitNOFILE= or ulimit -n"
            );
            limit.current
        }
    }
}

/// The connection cap for a soft open-file limit (`None`: unlimited), leaving room for the
/// database pool (each connection holds the database and its WAL, plus the shared memory
/// file) and one POS connection or two per sync worker.
pub fn connection_cap(open_file_limit: Option<u64>, db_connections: u32, sync_workers: u16) -> u32 {
    let headroom = FIXED_HEADROOM + 3 * u64::from(db_connections) + 1 + 2 * u64::from(sync_workers);
    let cap = open_file_limit
        .map_or(CAP_CEILING, |limit| limit.saturating_sub(headroom))
        .clamp(CAP_FLOOR, CAP_CEILING);
    u32::try_from(cap).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::connection_cap;

    #[test]
    fn the_cap_leaves_room_for_the_database_and_the_workers() {
        // 1,024 less 64 fixed, 25 for 8 database connections and 32 for 16 workers.
        assert_eq!(connection_cap(Some(1024), 8, 16), 903);
        assert_eq!(connection_cap(Some(65_536), 8, 16), 65_415);
        assert_eq!(connection_cap(None, 8, 16), 100_000);
        assert_eq!(connection_cap(Some(50), 8, 16), 16);
    }

    #[test]
    fn the_soft_limit_is_at_the_hard_limit_after_raising() {
        let after = super::raise_open_file_limit();
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        assert_eq!(after, limit.current);
    }
}
