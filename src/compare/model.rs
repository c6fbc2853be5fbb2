//! What a comparison is made of: the row key, each row's verdict and the noise it was judged by.

use crate::report::RunQueueWait;
use crate::types::DataType;

/// One compared cell.
#[derive(Clone, Debug, PartialEq)]
pub struct Delta {
    pub key: Key,
    /// Bus bandwidth at the baseline's center time (the same time the change is computed from).
    pub baseline_gbps: Option<f64>,
    /// Bus bandwidth at the new run's center time.
    pub new_gbps: Option<f64>,
    /// New busbw relative to baseline minus 1 (−0.10 = 10% slower): baseline time / new time − 1.
    pub change: Option<f64>,
    /// The drop in busbw a row may show before the data support it (relative: 0.2 = a 20 % drop;
    /// the allowance itself is on ln(time)); `None`: noise unknown
    /// (no file had repeat information), judged by the effect threshold alone.
    pub noise: Option<f64>,
    /// Where `noise` came from.
    pub noise_source: NoiseSource,
    pub status: Status,
    /// The new run's longest run-queue wait in this row (the cycle that waited most).
    pub waited: Option<RunQueueWait>,
}

/// Which noise a row was judged by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NoiseSource {
    /// The spread of the row's center time across this many baseline runs (a history).
    BetweenRuns(usize),
    /// The spread of the samples inside the runs (`stats`, `-I` iterations or `-N` cycles).
    WithinRun,
    /// No file carried repeat information for this row.
    Unknown,
}

impl NoiseSource {
    pub fn label(self) -> String {
        match self {
            NoiseSource::BetweenRuns(n) => format!("between {n} runs"),
            NoiseSource::WithinRun => "within run".into(),
            NoiseSource::Unknown => "unknown".into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub collective: String,
    pub size_bytes: u64,
    pub dtype: DataType,
    pub redop: String,
    pub root: i64,
    pub placement: Placement,
}

/// Which column of a row; out-of-place sorts first, as in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Placement {
    OutOfPlace,
    InPlace,
}

impl Placement {
    pub fn label(self) -> &'static str {
        match self {
            Placement::OutOfPlace => "out_of_place",
            Placement::InPlace => "in_place",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Unchanged,
    /// Beyond the tolerance but inside the noise allowance.
    WithinNoise,
    Improved,
    Regressed,
    /// Slower beyond the noise while a rank waited for a CPU (another program held it) for a
    /// good part of the timed loop: the time is partly the other program's, not judged.
    Busy,
    /// In the baseline, not in the new run.
    Missing,
    /// In the new run only.
    New,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Unchanged => "ok",
            Status::WithinNoise => "noise",
            Status::Improved => "IMPROVED",
            Status::Regressed => "REGRESSION",
            Status::Busy => "busy",
            Status::Missing => "MISSING",
            Status::New => "new",
        }
    }
}

/// The whole comparison.
#[derive(Clone, Debug)]
pub struct Comparison {
    pub tolerance: f64,
    /// How many baseline runs were given (1: a single run; more: a history).
    pub baseline_runs: usize,
    pub deltas: Vec<Delta>,
}

impl Comparison {
    pub fn count(&self, status: Status) -> usize {
        self.deltas.iter().filter(|d| d.status == status).count()
    }

    pub fn failed(&self) -> bool {
        self.count(Status::Regressed) + self.count(Status::Missing) > 0
    }

    /// Rows judged by each noise source, for the header (e.g. "12 between 5 runs, 2 unknown").
    pub fn noise_sources(&self) -> Vec<(NoiseSource, usize)> {
        let mut sources: std::collections::BTreeMap<NoiseSource, usize> = Default::default();
        for d in self
            .deltas
            .iter()
            .filter(|d| d.change.is_some() || d.status == Status::Missing)
        {
            *sources.entry(d.noise_source).or_default() += 1;
        }
        sources.into_iter().collect()
    }
}
