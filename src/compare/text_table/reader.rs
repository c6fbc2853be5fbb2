//! The line-by-line reader of the text table: which run a line belongs to, what a header or footer
//! line sets in it, and which lines are result rows, torn rows or noise.

use super::header::{is_column_header, parse_banner, parse_config, parse_rank_line, Banner};
use super::rows::parse_row;
use super::{at_line, shorten};
use crate::compare::imported::{is_collective_name, CycleCounter};
use crate::error::{CollbenchError, Result};
use crate::report::{RankPlacement, Report, ResultRow, RunConfig};
use crate::types::DataType;

/// One run being read.
#[derive(Debug)]
pub(super) struct RunText {
    /// 1-based line where the run began, for messages.
    pub(super) line: usize,
    pub(super) banner: Banner,
    pub(super) collective: Option<String>,
    pub(super) config: RunConfig,
    pub(super) ranks: Vec<RankPlacement>,
    /// The rank numbers in `ranks` (a set: a log may list many thousands).
    pub(super) rank_numbers: std::collections::HashSet<usize>,
    pub(super) saw_column_headers: bool,
    pub(super) rows: Vec<ResultRow>,
    /// Times each (size, type, op, root) was seen: its `-N` cycle.
    pub(super) cycles: CycleCounter,
    pub(super) out_of_bounds: Option<u64>,
    pub(super) avg_busbw: Option<f64>,
    pub(super) min_bw_failed: bool,
    pub(super) interrupted: Option<String>,
    /// A row-like line that did not parse: an error if another row or the footer follows.
    pub(super) torn: Option<(usize, String)>,
    pub(super) zero_time_cells: usize,
    /// The last line outside the table after the first row (an error message of a failed run).
    pub(super) last_noise: Option<String>,
}

impl RunText {
    fn new(line: usize, banner: Banner) -> Self {
        RunText {
            line,
            banner,
            collective: None,
            config: RunConfig::default(),
            ranks: Vec::new(),
            rank_numbers: std::collections::HashSet::new(),
            saw_column_headers: false,
            rows: Vec::new(),
            cycles: CycleCounter::default(),
            out_of_bounds: None,
            avg_busbw: None,
            min_bw_failed: false,
            interrupted: None,
            torn: None,
            zero_time_cells: 0,
            last_noise: None,
        }
    }
}

pub(super) struct Reader<'a> {
    pub(super) origin: &'a str,
    /// `srun -l`'s `0: ` or mpirun `--tag-output`'s `[1,0]<stdout>:` before rank 0's lines.
    pub(super) prefix: Option<String>,
    pub(super) runs: Vec<Report>,
    pub(super) current: Option<RunText>,
    /// A banner line not yet followed by its `# Collective test starting:` line.
    pub(super) pending_banner: Option<(usize, Banner)>,
    pub(super) noise_lines: usize,
    pub(super) first_noise: Option<(usize, String)>,
    pub(super) notes: Vec<String>,
}

impl Reader<'_> {
    pub(super) fn error(&self, line: usize, what: String) -> CollbenchError {
        at_line(self.origin, line, what)
    }

    fn noise(&mut self, line: usize, text: &str) {
        if text.trim().is_empty() {
            return;
        }
        self.noise_lines += 1;
        if self.first_noise.is_none() {
            self.first_noise = Some((line, shorten(text.trim())));
        }
        if let Some(run) = self.current.as_mut().filter(|r| !r.rows.is_empty()) {
            run.last_noise = Some(shorten(text.trim()));
        }
    }

    pub(super) fn line(&mut self, number: usize, raw: &str) -> Result<()> {
        let line = match &self.prefix {
            Some(prefix) => match raw.strip_prefix(prefix.as_str()) {
                Some(rest) => rest,
                None => {
                    self.noise(number, raw);
                    return Ok(());
                }
            },
            None => raw,
        };
        let trimmed = line.trim_start();
        if !trimmed.starts_with('#') {
            return self.data_line(number, line);
        }
        if let Some(banner) = parse_banner(trimmed) {
            self.end_run(Some(number))?;
            self.pending_banner = Some((number, banner));
            return Ok(());
        }
        if let Some(program) = trimmed.strip_prefix("# Collective test starting:") {
            self.end_run(Some(number))?;
            let (start, banner) = self
                .pending_banner
                .take()
                .unwrap_or((number, Banner::default()));
            let mut run = RunText::new(start, banner);
            let program = program.trim();
            let name = program.strip_suffix("_perf").unwrap_or(program);
            if !is_collective_name(name) {
                return Err(self.error(
                    number,
                    format!(
                        "'{}' is not an nccl-tests program name (like all_reduce_perf)",
                        shorten(program)
                    ),
                ));
            }
            run.collective = Some(name.to_string());
            self.current = Some(run);
            return Ok(());
        }
        if trimmed.starts_with("# nThread ") {
            if self.current.as_ref().is_some_and(|r| !r.rows.is_empty()) {
                // A new run whose banner lines were lost: close the one before.
                self.end_run(Some(number))?;
            }
            let config = parse_config(trimmed).map_err(|what| self.error(number, what))?;
            let run = self.current.get_or_insert_with(|| {
                let (start, banner) = self
                    .pending_banner
                    .take()
                    .unwrap_or((number, Banner::default()));
                RunText::new(start, banner)
            });
            run.config = config;
            return Ok(());
        }
        let origin = self.origin;
        let Some(run) = self.current.as_mut() else {
            // Comment lines outside any run (a job script's own `#` lines).
            return Ok(());
        };
        if trimmed.starts_with("#  Rank ") || trimmed.starts_with("# Rank ") {
            let placement =
                parse_rank_line(trimmed).map_err(|what| at_line(origin, number, what))?;
            // Interleaved outputs of several 1-rank runs (a non-MPI build under mpirun) would
            // otherwise read as one run of more ranks, its rows as -N cycles.
            if !run.rank_numbers.insert(placement.rank) {
                return Err(at_line(
                    origin,
                    number,
                    format!(
                        "'{}' lists rank {} twice in one run; expected one '#  Rank' line per \
                         rank (were several processes' outputs interleaved, like a non-MPI \
                         nccl-tests build under mpirun?)",
                        shorten(trimmed),
                        placement.rank
                    ),
                ));
            }
            run.ranks.push(placement);
        } else if trimmed.starts_with("# Per-Iteration Report") {
            run.config.per_iteration_timing = true;
        } else if let Some(rest) = trimmed.strip_prefix("# Blocking Enabled:") {
            run.config.blocking = true;
            run.config.blocking_mode = if rest.contains("no barrier") {
                2
            } else if rest.contains("outer") {
                3
            } else {
                1
            };
        } else if trimmed.starts_with("# Parallel Init Enabled") {
            run.config.parallel_init = true;
        } else if is_column_header(trimmed) {
            run.saw_column_headers = true;
            let words: Vec<&str> = trimmed.split_whitespace().collect();
            run.config.report_cputime |= words.contains(&"cputime");
            run.config.report_timestamps |= words.contains(&"timestamp");
            run.config.per_iteration_timing |= words.contains(&"i_min");
        } else if let Some(rest) = trimmed.strip_prefix("# Out of bounds values") {
            let value = rest.trim_start().trim_start_matches(':').trim();
            let count = value
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| {
                    at_line(
                        origin,
                        number,
                        format!(
                            "'Out of bounds values' is '{}', not a count",
                            shorten(value)
                        ),
                    )
                })?;
            if let Some((torn_line, why)) = run.torn.take() {
                return Err(at_line(origin, torn_line, why));
            }
            run.out_of_bounds = Some(count);
        } else if let Some(rest) = trimmed.strip_prefix("# Avg bus bandwidth") {
            let value = rest.trim_start().trim_start_matches(':').trim();
            let mut words = value.split_whitespace();
            let avg = words
                .next()
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| {
                    at_line(
                        origin,
                        number,
                        format!(
                            "'Avg bus bandwidth' is '{}', not a number >= 0",
                            shorten(value)
                        ),
                    )
                })?;
            run.avg_busbw = Some(avg);
            run.min_bw_failed = words.next() == Some("FAILED");
        } else if let Some(why) = trimmed.strip_prefix("# Run interrupted:") {
            run.interrupted = Some(why.trim().to_string());
        } else if trimmed.starts_with("# Collective test concluded:") {
            self.end_run(None)?;
        }
        Ok(())
    }

    /// A line that is not a comment: a result row, a torn row, or noise.
    fn data_line(&mut self, number: usize, line: &str) -> Result<()> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let starts_like_row = words.len() >= 3
            && words[0].parse::<u64>().is_ok()
            && words[1].parse::<u64>().is_ok()
            && DataType::parse(words[2]).is_some();
        if !starts_like_row {
            self.noise(number, line);
            return Ok(());
        }
        let Some(run) = self.current.as_mut() else {
            return Err(self.error(
                number,
                "a result row before any nccl-tests header ('# Collective test starting: \
                 NAME_perf', '# nThread …', rank and column lines)"
                    .into(),
            ));
        };
        if !run.saw_column_headers {
            return Err(self.error(
                number,
                "a result row before the table's column headers ('#  size  count  type …')".into(),
            ));
        }
        if let Some((torn_line, why)) = run.torn.take() {
            return Err(self.error(torn_line, why));
        }
        let collective = run.collective.clone().unwrap_or_default();
        match parse_row(line, &words, &collective, &run.config) {
            Ok((mut row, zero_cells)) => {
                run.zero_time_cells += zero_cells;
                if row.out_of_place.is_none() && row.in_place.is_none() {
                    return Ok(());
                }
                run.cycles.number(&mut row);
                run.rows.push(row);
            }
            Err(why) => run.torn = Some((number, why)),
        }
        Ok(())
    }
}
