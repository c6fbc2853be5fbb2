//! The progress line of a sweep on a terminal's stderr (`collbench: 3 of 24 rows done, 2.1 s
//! elapsed, about 5 s left`), redrawn in place by a ticker thread so the elapsed time moves during
//! a long row, and erased when the run ends. Only drawn when stderr is a terminal (never into a
//! pipe or a file) and only by the process that owns it (rank 0's progress sink).
//!
//! The table on stdout usually shares that terminal: [`super::console`] erases the line before it
//! writes, and the ticker draws only while stdout is at the start of a line, so a row is never
//! split by it. The line names no token of the nccl-tests output rule (docs/output.md).

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often the ticker redraws the elapsed time.
const TICK: Duration = Duration::from_millis(250);

/// A progress line is on the terminal now.
static SHOWN: AtomicBool = AtomicBool::new(false);
/// Stdout's last write ended a line (or nothing was written yet).
static STDOUT_AT_LINE_START: AtomicBool = AtomicBool::new(true);
/// Serialises drawing, erasing and stdout's writes.
static TERMINAL: Mutex<()> = Mutex::new(());

/// Whether a progress line may be drawn: stderr is a terminal.
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

fn lock() -> MutexGuard<'static, ()> {
    TERMINAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write_stderr(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
    let _ = stderr.flush();
}

/// Held by a stdout write: erases a shown line first and keeps the ticker from drawing until the
/// write is done.
pub struct StdoutTurn {
    _guard: Option<MutexGuard<'static, ()>>,
}

/// Called by the console before each stdout write.
pub fn stdout_turn() -> StdoutTurn {
    if !ACTIVE.load(Ordering::Relaxed) {
        return StdoutTurn { _guard: None };
    }
    erase_holding(lock())
}

/// Called by the console before an error line on stderr: as [`stdout_turn`], but never waits
/// for a stdout write in progress (a stalled reader must not hold back the `-T` watchdog's
/// message); the line is then left as it is.
pub fn stderr_turn() -> StdoutTurn {
    if !ACTIVE.load(Ordering::Relaxed) {
        return StdoutTurn { _guard: None };
    }
    match TERMINAL.try_lock() {
        Ok(guard) => erase_holding(guard),
        Err(std::sync::TryLockError::Poisoned(poisoned)) => erase_holding(poisoned.into_inner()),
        Err(std::sync::TryLockError::WouldBlock) => StdoutTurn { _guard: None },
    }
}

/// Erases a shown line and keeps the terminal (`guard`) until the turn ends.
fn erase_holding(guard: MutexGuard<'static, ()>) -> StdoutTurn {
    if SHOWN.swap(false, Ordering::Relaxed) {
        write_stderr("\r\x1b[K");
    }
    StdoutTurn {
        _guard: Some(guard),
    }
}

/// Called by the console after each stdout write with what it wrote.
pub fn stdout_wrote(bytes: &[u8]) {
    if let Some(last) = bytes.last() {
        STDOUT_AT_LINE_START.store(*last == b'\n', Ordering::Relaxed);
    }
}

/// A progress line is running (spares stdout the lock otherwise).
static ACTIVE: AtomicBool = AtomicBool::new(false);

fn draw(text: &str) {
    let _guard = lock();
    if STDOUT_AT_LINE_START.load(Ordering::Relaxed) {
        write_stderr(&format!("\r\x1b[K{text}"));
        SHOWN.store(true, Ordering::Relaxed);
    }
}

fn erase() {
    let _guard = lock();
    if SHOWN.swap(false, Ordering::Relaxed) {
        write_stderr("\r\x1b[K");
    }
}

/// How far the sweep is. Rows weigh by their size: a 1 GiB row takes far longer than an 8 B one.
struct Counts {
    start: Instant,
    /// Seconds from `start` to the end of the last finished row.
    last_row_at: f64,
    rows_done: usize,
    total_rows: Option<usize>,
    weight_done: f64,
    total_weight: f64,
}

impl Counts {
    fn text(&self) -> String {
        let elapsed = self.start.elapsed().as_secs_f64();
        let rows = match self.total_rows {
            Some(total) => format!("{} of {total} rows done", self.rows_done),
            None => format!("{} rows done", self.rows_done),
        };
        let mut text = format!("collbench: {rows}, {} elapsed", duration(elapsed));
        let left = self.total_weight - self.weight_done;
        if self.total_rows.is_some() && self.weight_done > 0.0 && left > 0.0 {
            // The rate of the finished rows, less what the row in progress has taken so far.
            let at_last_row = self.last_row_at * left / self.weight_done;
            let remaining = at_last_row - (elapsed - self.last_row_at);
            if remaining >= 0.5 {
                text.push_str(&format!(", about {} left", duration(remaining)));
            }
        }
        text
    }
}

/// `0.4 s`, `12 s`, `3 min 05 s`.
fn duration(seconds: f64) -> String {
    if seconds < 10.0 {
        format!("{seconds:.1} s")
    } else if seconds < 60.0 {
        format!("{seconds:.0} s")
    } else {
        let whole = seconds.round() as u64;
        format!("{} min {:02} s", whole / 60, whole % 60)
    }
}

/// A running progress line: drawn at once, after every row and every [`TICK`]; erased by
/// [`ProgressLine::finish`] or when dropped (a run that ends in an error).
pub struct ProgressLine {
    counts: Arc<Mutex<Counts>>,
    stop: Arc<AtomicBool>,
    ticker: Option<JoinHandle<()>>,
}

impl ProgressLine {
    /// `total_rows`: `None` when the sweep repeats until interrupted (`-N 0`); `total_weight`:
    /// the sum of the rows' weights as [`ProgressLine::row_done`] will be given them.
    pub fn start(total_rows: Option<usize>, total_weight: f64) -> Self {
        let counts = Arc::new(Mutex::new(Counts {
            start: Instant::now(),
            last_row_at: 0.0,
            rows_done: 0,
            total_rows,
            weight_done: 0.0,
            total_weight,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        ACTIVE.store(true, Ordering::Relaxed);
        // Drawn once here, not left to the ticker's first turn, which may come after the first row.
        if let Ok(c) = counts.lock() {
            draw(&c.text());
        }
        let ticker = {
            let (counts, stop) = (Arc::clone(&counts), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("progress".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        if let Ok(c) = counts.lock() {
                            draw(&c.text());
                        }
                        std::thread::park_timeout(TICK);
                    }
                })
                .ok()
        };
        ProgressLine {
            counts,
            stop,
            ticker,
        }
    }

    /// One more row finished; `weight` as counted in `total_weight`.
    pub fn row_done(&self, weight: f64) {
        let text = match self.counts.lock() {
            Ok(mut c) => {
                c.rows_done += 1;
                c.weight_done += weight;
                c.last_row_at = c.start.elapsed().as_secs_f64();
                c.text()
            }
            Err(_) => return,
        };
        draw(&text);
    }

    /// Stops the ticker and erases the line.
    pub fn finish(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(ticker) = self.ticker.take() {
            ticker.thread().unpark();
            let _ = ticker.join();
        }
        erase();
        ACTIVE.store(false, Ordering::Relaxed);
    }
}

impl Drop for ProgressLine {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 4 s elapsed, the last row finished at 3 s.
    fn counts(rows_done: usize, total_rows: Option<usize>, done: f64, total: f64) -> Counts {
        Counts {
            start: Instant::now() - Duration::from_secs(4),
            last_row_at: 3.0,
            rows_done,
            total_rows,
            weight_done: done,
            total_weight: total,
        }
    }

    #[test]
    fn the_line_says_rows_elapsed_and_time_left_by_weight() {
        let text = counts(3, Some(24), 1.0, 5.0).text();
        assert!(text.starts_with("collbench: 3 of 24 rows done, 4.0 s elapsed, about "));
        // 1 of 5 took 3 s: 12 s for the rest, 1 s of which the current row has had.
        assert!(text.ends_with("11 s left"), "{text}");
        // Nothing done yet: no estimate; until interrupted: no total.
        assert_eq!(
            counts(0, Some(24), 0.0, 5.0).text(),
            "collbench: 0 of 24 rows done, 4.0 s elapsed"
        );
        assert_eq!(
            counts(7, None, 7.0, 0.0).text(),
            "collbench: 7 rows done, 4.0 s elapsed"
        );
    }

    #[test]
    fn the_line_holds_no_token_of_the_output_rule() {
        let text = counts(3, Some(24), 1.0, 5.0).text().to_lowercase();
        for token in [
            "bandwidth",
            "avg bus",
            "out-of-place",
            "in-place",
            "out of bounds",
        ] {
            assert!(!text.contains(token), "{text}");
        }
        assert!(
            !text.contains("failed") && !text.contains("error"),
            "{text}"
        );
    }

    #[test]
    fn durations_read_as_seconds_then_minutes() {
        assert_eq!(duration(0.42), "0.4 s");
        assert_eq!(duration(12.4), "12 s");
        assert_eq!(duration(185.0), "3 min 05 s");
    }
}
