//! The files a run writes besides the table on stdout: which format, where, named by which flag.
//! Each format is a variant of [`OutputFormat`], named by one row of the flag table
//! (`super::flags`, `.output(…)`) and opened by `crate::sinks::open`.

use crate::types::values::Flag;
use std::path::{Path, PathBuf};

/// The output file formats, in the order rank 0 opens them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum OutputFormat {
    /// `-J`: nccl-tests' JSON.
    NcclTestsJson,
    /// `--collbench-json`: the whole report (docs/report.schema.json).
    CollbenchJson,
    /// `--csv`: one line per measured cell.
    Csv,
    /// `--markdown`: the table in Markdown, to paste into a ticket or a wiki.
    Markdown,
    /// `--jsonl`: each finished row appended as it comes.
    Jsonl,
    /// `--prom-file`: Prometheus textfile metrics.
    Prometheus,
}

/// One output file asked for on the command line.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputFile {
    pub format: OutputFormat,
    pub path: PathBuf,
    /// The flag that named it, for messages.
    pub flag: Flag,
    /// Rank 0 probes its directory when it opens the file (the others were probed by every rank
    /// while the flags were parsed).
    pub probe_when_opened: bool,
}

/// Every output file of the run, in the order they are opened ([`OutputFormat`]'s).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OutputFiles {
    files: Vec<OutputFile>,
}

impl OutputFiles {
    /// Files in any order; kept in [`OutputFormat`] order.
    pub fn new(mut files: Vec<OutputFile>) -> OutputFiles {
        files.sort_by_key(|f| f.format);
        OutputFiles { files }
    }

    /// The path of `format`, if the command line asked for it.
    pub fn path(&self, format: OutputFormat) -> Option<&Path> {
        self.files
            .iter()
            .find(|f| f.format == format)
            .map(|f| f.path.as_path())
    }

    pub fn iter(&self) -> impl Iterator<Item = &OutputFile> {
        self.files.iter()
    }
}
