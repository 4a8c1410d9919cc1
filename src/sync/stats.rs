//! Sync statistics, as API.md defines them.

use crate::store::StatusCounts;

/// The numbers of `GET /pos/stats/{businessId}`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    pub total_syncs: i64,
    pub successful_syncs: i64,
    pub failed_syncs: i64,
    pub pending_retries: i64,
    /// Percent, rounded to one decimal; 0 without syncs.
    pub success_rate: f64,
}

/// Stats from the per-status counts.
pub fn stats(counts: &StatusCounts) -> Stats {
    let total = counts.total();
    let success_rate = if total == 0 {
        0.0
    } else {
        // Integer maths, rounded half up, so 2/3 is 66.7 on every machine.
        let tenths = (counts.success * 1000 * 2 + total) / (total * 2);
        tenths as f64 / 10.0
    };
    Stats {
        total_syncs: total,
        successful_syncs: counts.success,
        failed_syncs: counts.failed,
        pending_retries: counts.retry,
        success_rate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_rate_is_rounded_to_one_decimal() {
        let counts = |success, failed, retry, pending| StatusCounts {
            pending,
            syncing: 0,
            retry,
            success,
            failed,
        };
        for (c, total, rate) in [
            (counts(0, 0, 0, 0), 0, 0.0),
            (counts(1, 0, 0, 0), 1, 100.0),
            (counts(2, 1, 0, 0), 3, 66.7),
            (counts(1, 2, 0, 0), 3, 33.3),
            (counts(1, 1, 1, 5), 8, 12.5),
            (counts(0, 3, 2, 0), 5, 0.0),
            (counts(999, 1, 0, 0), 1000, 99.9),
            (counts(1999, 1, 0, 0), 2000, 100.0),
        ] {
            let s = stats(&c);
            assert_eq!((s.total_syncs, s.success_rate), (total, rate), "{c:?}");
            assert_eq!(s.failed_syncs, c.failed);
            assert_eq!(s.pending_retries, c.retry);
        }
    }
}
