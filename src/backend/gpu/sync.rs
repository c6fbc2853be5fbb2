//! A thread barrier that can be poisoned: when one launch thread fails, the others return an error
//! from their next wait instead of blocking forever (std's Barrier cannot be cancelled).

use crate::error::{CollbenchError, Result};
use std::sync::{Condvar, Mutex};

pub struct ThreadBarrier {
    parties: usize,
    state: Mutex<State>,
    changed: Condvar,
}

struct State {
    waiting: usize,
    generation: u64,
    poisoned: bool,
}

impl ThreadBarrier {
    pub fn new(parties: usize) -> ThreadBarrier {
        ThreadBarrier {
            parties: parties.max(1),
            state: Mutex::new(State {
                waiting: 0,
                generation: 0,
                poisoned: false,
            }),
            changed: Condvar::new(),
        }
    }

    /// Blocks until every party arrived, or fails once any party poisoned the barrier.
    pub fn wait(&self) -> Result<()> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.poisoned {
            return Err(poisoned());
        }
        state.waiting += 1;
        if state.waiting == self.parties {
            state.waiting = 0;
            state.generation += 1;
            self.changed.notify_all();
            return Ok(());
        }
        let generation = state.generation;
        while state.generation == generation && !state.poisoned {
            state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        if state.generation == generation {
            return Err(poisoned());
        }
        Ok(())
    }

    /// Releases every waiter with an error; later waits fail at once.
    pub fn poison(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.poisoned = true;
        self.changed.notify_all();
    }
}

fn poisoned() -> CollbenchError {
    CollbenchError::Nccl("another launch thread of this process failed (see its error)".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn all_parties_pass_and_poison_releases_waiters() {
        let barrier = Arc::new(ThreadBarrier::new(3));
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let b = barrier.clone();
                std::thread::spawn(move || (b.wait().is_ok(), b.wait().is_ok()))
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), (true, true));
        }
        let waiter = {
            let b = barrier.clone();
            std::thread::spawn(move || b.wait())
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        barrier.poison();
        assert!(waiter.join().unwrap().is_err());
        assert!(barrier.wait().is_err());
    }
}
