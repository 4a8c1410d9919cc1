//! The phases. Each is one file here that exports `PHASE`; adding one is that file and its
//! name in the `phases!` list below (the order of a full run).

use crate::harness::report::Report;
use crate::harness::{Bench, Shared};

/// One part of the benchmark, selectable on its own.
pub struct Phase {
    /// Its name on the command line (`cargo bench --bench possync -- <name>`).
    pub name: &'static str,
    /// Other names that select it (`main`: the phases that share the main instance).
    pub groups: &'static [&'static str],
    /// One line for `--list`.
    pub about: &'static str,
    /// Measures, and adds its rows and JSON to the report.
    pub run: fn(&Bench, &mut Shared, &mut Report),
}

impl Phase {
    /// Whether `selector` names it or one of its groups.
    pub fn is(&self, selector: &str) -> bool {
        self.name == selector || self.groups.contains(&selector)
    }
}

/// Declares each phase's module and lists their `PHASE`s in order.
macro_rules! phases {
    ($($module:ident)*) => {
        $(mod $module;)*
        /// Every phase, in the order a full run takes them.
        pub const ALL: &[Phase] = &[$($module::PHASE),*];
    };
}

phases! {
    binary
    startup
    default_workers
    latency
    spread
    isolation
    breaker
    retries
    recovery
    throughput
    fanout
    history
}
