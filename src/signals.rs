//! SIGTERM (scancel, preemption) and SIGINT (Ctrl-C) mid-sweep: the first one only sets a flag that
//! the runner checks between rows, so every finished row is kept and the outputs are closed with
//! the run marked incomplete (exit 143 / 130). A second signal while the first is being handled
//! ends the process at once with the same code.

use crate::error::{CollbenchError, Result};
use signal_hook::consts::{SIGINT, SIGTERM};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// The flag the runner polls. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Interrupt {
    /// 0, or the number of the first signal received.
    signal: Arc<AtomicUsize>,
}

/// Installs the handlers for SIGINT and SIGTERM (idempotent enough: each call adds handlers that
/// feed a new flag; call it once per process, before the sweep).
pub fn install() -> Result<Interrupt> {
    let signal = Arc::new(AtomicUsize::new(0));
    for sig in [SIGINT, SIGTERM] {
        let already = Arc::new(AtomicBool::new(false));
        let fail = |e: std::io::Error| {
            CollbenchError::Mpi(format!("cannot install the handler for signal {sig}: {e}"))
        };
        // Order matters: the shutdown check runs before the flags are set, so it only fires on a
        // repeated signal.
        signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, Arc::clone(&already))
            .map_err(fail)?;
        signal_hook::flag::register(sig, already).map_err(fail)?;
        signal_hook::flag::register_usize(sig, Arc::clone(&signal), sig as usize).map_err(fail)?;
    }
    Ok(Interrupt { signal })
}

impl Interrupt {
    /// A flag that no signal sets (tests, library use without handlers).
    pub fn never() -> Interrupt {
        Interrupt {
            signal: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// The signal received so far, if any.
    pub fn signal(&self) -> Option<i32> {
        match self.signal.load(Ordering::SeqCst) {
            0 => None,
            s => Some(s as i32),
        }
    }

    /// Records `signal` as if it had arrived (used to agree across ranks: if any rank saw one,
    /// every rank stops after the same row).
    pub fn raise(&self, signal: i32) {
        let _ =
            self.signal
                .compare_exchange(0, signal as usize, Ordering::SeqCst, Ordering::SeqCst);
    }

    /// `Err(Interrupted)` once a signal arrived: the error that maps to exit 130/143.
    pub fn check(&self) -> Result<()> {
        match self.signal() {
            Some(signal) => Err(CollbenchError::Interrupted { signal }),
            None => Ok(()),
        }
    }

    /// Human name for `Summary::interrupted`.
    pub fn describe(signal: i32) -> String {
        match signal {
            SIGTERM => {
                "SIGTERM (scancel or preemption): stopped after the last finished row".into()
            }
            SIGINT => "SIGINT (Ctrl-C): stopped after the last finished row".into(),
            other => format!("signal {other}: stopped after the last finished row"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivered_signal_sets_the_flag_and_maps_to_its_exit_code() {
        let interrupt = install().unwrap();
        assert_eq!(interrupt.signal(), None);
        assert!(interrupt.check().is_ok());
        signal_hook::low_level::raise(SIGTERM).unwrap();
        assert_eq!(interrupt.signal(), Some(SIGTERM));
        assert_eq!(interrupt.check().unwrap_err().exit_code(), 143);
        let never = Interrupt::never();
        never.raise(SIGINT);
        assert_eq!(never.check().unwrap_err().exit_code(), 130);
        assert!(Interrupt::describe(SIGTERM).contains("scancel"));
    }
}
