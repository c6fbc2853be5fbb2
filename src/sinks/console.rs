//! Standard output for what is not a sink: notices, skip lines, help, the fabric and pairwise
//! tables, compare and plot. Never panics when stdout's reader is gone (`| head`, the srun of a cancelled job): the
//! files are written either way, and losing the printed copy is all that should happen.

use std::io::{ErrorKind, Write};

/// Standard output for commands that write through `impl Write` (compare, plot): a reader that
/// went away is not an error, the rest of the command (its verdict, its files) goes on.
pub struct Stdout;

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match std::io::stdout().lock().write(buf) {
            Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(buf.len()),
            other => other,
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match std::io::stdout().lock().flush() {
            Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
            other => other,
        }
    }
}

/// Writes `text` as it is (what `print!` would, without the panic).
pub fn print(text: &str) {
    let _ = Stdout
        .write_all(text.as_bytes())
        .and_then(|()| Stdout.flush());
}

/// Writes `text` and a newline unless it already ends with one.
pub fn print_line(text: &str) {
    if text.ends_with('\n') {
        print(text);
    } else {
        print(&format!("{text}\n"));
    }
}
