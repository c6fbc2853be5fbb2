//! Input and output plumbing shared by every layer above the sweep: the console (stdout/stderr,
//! the stop flag), the progress line on a terminal, atomic file writes, and the output-path checks done before any work. Formats
//! live in `crate::sinks`; this module knows nothing of reports.

pub mod atomic;
pub mod console;
pub mod output_path;
pub mod progress;

pub use output_path::check_output_path;
