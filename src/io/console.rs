//! Standard output for what is not a sink: notices, skip lines, help, the fabric and pairwise
//! tables, compare and plot. Never panics when stdout's reader is gone (`| head`, the srun of a cancelled job): the
//! files are written either way, and losing the printed copy is all that should happen.
//!
//! Everything printed to standard output, the text table included ([`StdoutRaw`]), goes through
//! here, unbuffered, in call order. A reader that stops reading must not keep a stopped run from
//! writing its files: on Ctrl-C, Open MPI's mpirun stops reading its ranks' output (a pty) and
//! then sends them SIGTERM, so rank 0 would sit in `write` with the buffer full while every other
//! rank waits for it, until the SIGKILL. So a pipe or terminal stdout is written through a
//! private non-blocking open file of its own (`/proc/self/fd/1` reopened: the flag stays ours,
//! a user's terminal is never left non-blocking). A full buffer is waited for as long as it takes
//! while the run goes on; once a stop was requested ([`stop_flag`]), at most [`STALL_LIMIT`].

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// How long a write waits for a reader that stopped reading, once a stop was requested. Short:
/// mpirun's default leaves 1 s between its SIGTERM and its SIGKILL, and the row in progress and
/// the files need most of it. A launcher that still reads (srun) empties the buffer much sooner.
pub const STALL_LIMIT: Duration = Duration::from_millis(500);

/// Set once a write gave up on a reader that stopped reading: later writes give up at once.
static GAVE_UP: AtomicBool = AtomicBool::new(false);

/// Set by the SIGINT/SIGTERM handler (`app` registers it): from then on a stalled stdout is given
/// up on after [`STALL_LIMIT`].
pub fn stop_flag() -> Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    Arc::clone(FLAG.get_or_init(|| Arc::new(AtomicBool::new(false))))
}

/// Standard output, opened once: pipes and terminals through a private non-blocking open file,
/// anything else (a regular file, a socket) through a dup of fd 1. `None` when stdout is closed.
fn stdout_file() -> Option<&'static File> {
    static FILE: OnceLock<Option<File>> = OnceLock::new();
    FILE.get_or_init(open_stdout).as_ref()
}

fn open_stdout() -> Option<File> {
    let shared = File::from(std::io::stdout().as_fd().try_clone_to_owned().ok()?);
    let reopenable = shared
        .metadata()
        .map(|m| m.file_type().is_fifo() || m.file_type().is_char_device())
        .unwrap_or(false);
    if reopenable {
        // A new open file on the same pipe or terminal: O_NONBLOCK set here is not seen by the
        // shell or any other process sharing fd 1. O_NOCTTY: never become a controlling terminal.
        // A pipe whose reader is gone refuses the open (ENXIO): then fd 1, where writes fail with
        // a broken pipe.
        if let Ok(private) = OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open("/proc/self/fd/1")
        {
            return Some(private);
        }
    }
    Some(shared)
}

/// Standard output with its errors as they are: a gone reader is BrokenPipe, a reader that
/// stopped reading after a stop request is WouldBlock (after [`STALL_LIMIT`]). The text sink
/// uses it to say once that the table is no longer printed.
pub struct StdoutRaw;

impl Write for StdoutRaw {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // A progress line on the same terminal is erased first and not redrawn mid-write.
        let _turn = super::progress::stdout_turn();
        let written = write_stdout(buf)?;
        super::progress::stdout_wrote(&buf[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        // Unbuffered: every write went to the file already.
        Ok(())
    }
}

/// One write to standard output, waiting out a slow reader (see the module documentation).
fn write_stdout(buf: &[u8]) -> std::io::Result<usize> {
    let Some(mut file) = stdout_file() else {
        return Err(std::io::Error::new(
            ErrorKind::BrokenPipe,
            "standard output is closed",
        ));
    };
    let mut stalled_since: Option<Instant> = None;
    loop {
        match file.write(buf) {
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                if !stop_flag().load(Ordering::Relaxed) {
                    // A slow reader while the run goes on: wait, as a blocking write would.
                    std::thread::sleep(Duration::from_millis(2));
                    continue;
                }
                let since = *stalled_since.get_or_insert_with(Instant::now);
                if GAVE_UP.load(Ordering::Relaxed) || since.elapsed() >= STALL_LIMIT {
                    GAVE_UP.store(true, Ordering::Relaxed);
                    return Err(std::io::Error::new(
                        ErrorKind::WouldBlock,
                        format!(
                            "nothing read it for {} ms after the stop request",
                            STALL_LIMIT.as_millis()
                        ),
                    ));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

/// Standard output for commands that write through `impl Write` (compare, plot): a reader that
/// went away or stopped reading is not an error, the rest of the command (its verdict, its files)
/// goes on.
pub struct Stdout;

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match StdoutRaw.write(buf) {
            Err(e) if matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::WouldBlock) => {
                Ok(buf.len())
            }
            other => other,
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes `text` as it is (what `print!` would, without the panic).
pub fn print(text: &str) {
    let _ = Stdout.write_all(text.as_bytes());
}

/// Writes `text` and a newline unless it already ends with one.
pub fn print_line(text: &str) {
    if text.ends_with('\n') {
        print(text);
    } else {
        print(&format!("{text}\n"));
    }
}

/// Writes `text` and a newline to standard error in one `write`: ranks under one launcher share
/// its stderr, and `eprintln!` writes each formatted piece apart, so lines of several ranks came
/// out interleaved mid-line (`collbench: collbench: timeout: …`). A progress line on the same
/// terminal is erased first, as before a stdout write, so the message does not start behind it.
pub fn error_line(text: &str) {
    let line = format!("{text}\n");
    let _turn = super::progress::stderr_turn();
    let _ = std::io::stderr().write_all(line.as_bytes());
}
