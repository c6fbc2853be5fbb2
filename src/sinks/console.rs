//! Standard output for what is not a sink: notices, skip lines, help, the fabric and pairwise
//! tables. Never panics when stdout's reader is gone (`| head`, the srun of a cancelled job): the
//! files are written either way, and losing the printed copy is all that should happen.

use std::io::Write;

/// Writes `text` as it is (what `print!` would, without the panic).
pub fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Writes `text` and a newline unless it already ends with one.
pub fn print_line(text: &str) {
    if text.ends_with('\n') {
        print(text);
    } else {
        print(&format!("{text}\n"));
    }
}
