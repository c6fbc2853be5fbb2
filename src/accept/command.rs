//! `collbench accept [--pairwise [--pair-tolerance PCT] | --bisect] [--drain] [--collective NAME]
//! [flags]`.
//!
//! The collective test flags are those of `collbench run` (nccl-tests' set plus `--min-busbw`,
//! `--profile`, `-J`, `--jsonl`, `--prom-file`, `--push-gateway`…); the collective defaults to
//! all_reduce. Without `--pairwise` or `--bisect` it is one acceptance run whose verdict is the
//! exit code.

use super::pairing::Search;
use crate::cli::{self, Parsed};
use crate::collectives;
use crate::error::{CollbenchError, Result};
use crate::plan::{OutputFile, OutputFormat};

/// `--pair-tolerance` default: without an absolute threshold, a pair fails below this many percent
/// under the reference pair bandwidth.
pub const DEFAULT_PAIR_TOLERANCE_PERCENT: f64 = 20.0;

#[derive(Clone, Debug, PartialEq)]
pub struct PairwiseOptions {
    /// `--pairwise` or `--bisect`.
    pub search: Search,
    /// `--drain`: run the printed `scontrol update … state=drain` lines.
    pub drain: bool,
    /// `--pair-tolerance PCT` (relative mode only).
    pub tolerance_percent: f64,
}

/// What `collbench accept …` asks for.
#[derive(Debug)]
pub enum AcceptCommand {
    /// `-h`: the text to print.
    Help(String),
    /// One acceptance run (the normal sweep with its verdict).
    Run(Box<crate::plan::TestPlan>),
    Pairwise(Box<crate::plan::TestPlan>, PairwiseOptions),
}

const ACCEPT_USAGE: &str = "collbench accept [--pairwise [--pair-tolerance PCT] | --bisect] \
                            [--drain] [--collective NAME] \
                            [collective test flags, see collbench run all_reduce -h]";

/// `collbench accept -h`: accept's own flags, then the collective test's.
fn accept_help() -> String {
    use crate::cli::help::{help_with_extra_flags, ExtraFlag};
    let flag = |long, value_name, help: &str| ExtraFlag {
        long,
        value_name,
        help: help.to_string(),
    };
    help_with_extra_flags(
        "Acceptance run: the collective test with a verdict as its exit code (0 pass, 7 fail); \
         --pairwise or --bisect names the bad hosts.",
        ACCEPT_USAGE,
        "Accept options",
        vec![
            flag(
                "pairwise",
                None,
                "Split the job by host into pairs that run the test at once, re-pair failing \
                 hosts with passing ones, name the bad hosts",
            ),
            flag(
                "bisect",
                None,
                "Split the hosts into two halves that run the test at once, split the failing \
                 halves again, confirm their hosts next to passing ones, name the bad hosts \
                 (needs --min-busbw or --profile)",
            ),
            flag(
                "drain",
                None,
                "With --pairwise or --bisect: run the printed scontrol drain lines",
            ),
            flag(
                "pair-tolerance",
                Some("PCT"),
                &format!(
                    "With --pairwise and no --min-busbw/--profile: a pair fails below the \
                     reference pair busbw minus PCT percent [default: \
                     {DEFAULT_PAIR_TOLERANCE_PERCENT}]"
                ),
            ),
            flag(
                "collective",
                Some("NAME"),
                "The test to run [default: all_reduce]",
            ),
        ],
    )
}

/// Parses the arguments after `accept`.
pub fn parse(args: &[String], env: &dyn Fn(&str) -> Option<String>) -> Result<AcceptCommand> {
    let mut searches: Vec<Search> = Vec::new();
    let mut drain = false;
    let mut tolerance: Option<String> = None;
    let mut collective_name = "all_reduce".to_string();
    let mut rest = vec!["collbench accept".to_string()];
    let mut i = 0;
    let value = |i: usize, flag: &str| -> Result<String> {
        args.get(i + 1).cloned().ok_or_else(|| {
            CollbenchError::Usage(format!("{flag} needs a value; accepted: {ACCEPT_USAGE}"))
        })
    };
    while i < args.len() {
        let arg = args[i].as_str();
        match arg {
            "--pairwise" => searches.push(Search::Pairs),
            "--bisect" => searches.push(Search::Bisect),
            "--drain" => drain = true,
            "--pair-tolerance" => {
                tolerance = Some(value(i, arg)?);
                i += 1;
            }
            "--collective" => {
                collective_name = value(i, arg)?;
                i += 1;
            }
            _ => {
                if let Some(v) = arg.strip_prefix("--pair-tolerance=") {
                    tolerance = Some(v.to_string());
                } else if let Some(v) = arg.strip_prefix("--collective=") {
                    collective_name = v.to_string();
                } else {
                    rest.push(args[i].clone());
                }
            }
        }
        i += 1;
    }
    searches.dedup();
    let search = match searches[..] {
        [] => None,
        [one] => Some(one),
        _ => {
            return Err(CollbenchError::Usage(format!(
                "--pairwise and --bisect given together: they are two searches for the bad hosts; \
                 accepted: one of them ({ACCEPT_USAGE})"
            )))
        }
    };
    if search.is_none() && (drain || tolerance.is_some()) {
        return Err(CollbenchError::Usage(format!(
            "{} is only meaningful with {}; accepted: {ACCEPT_USAGE}",
            if drain { "--drain" } else { "--pair-tolerance" },
            if drain {
                "--pairwise or --bisect"
            } else {
                "--pairwise"
            }
        )));
    }
    if search == Some(Search::Bisect) && tolerance.is_some() {
        return Err(CollbenchError::Usage(format!(
            "--pair-tolerance with --bisect: bisect judges by an absolute threshold (its halves have \
             no reference pair); accepted: --bisect with --min-busbw GBPS or --profile NAME \
             ({ACCEPT_USAGE})"
        )));
    }
    let collective = collectives::find(&collective_name).ok_or_else(|| {
        CollbenchError::Usage(format!(
            "--collective '{collective_name}': unknown collective; accepted: {}",
            collectives::REGISTRY
                .iter()
                .map(|c| c.name())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    let tolerance_percent = match tolerance {
        None => DEFAULT_PAIR_TOLERANCE_PERCENT,
        Some(text) => match text.trim().parse::<f64>() {
            Ok(v) if v.is_finite() && v > 0.0 && v < 100.0 => v,
            _ => {
                return Err(CollbenchError::Usage(format!(
                "--pair-tolerance '{text}': accepted: a percentage above 0 and below 100, e.g. 20"
            )))
            }
        },
    };
    match cli::parse_collective_args_with_defaults(collective, &rest, env, &adaptive_by_default)? {
        Parsed::Version(text) => Ok(AcceptCommand::Help(text)),
        Parsed::Help(_) => Ok(AcceptCommand::Help(accept_help())),
        Parsed::Run(plan) => match search {
            Some(search) => isolation(plan, search, drain, tolerance_percent),
            None => Ok(AcceptCommand::Run(judged(plan))),
        },
    }
}

/// `--pairwise` or `--bisect` with the plan their group runs follow, or why not.
fn isolation(
    plan: Box<crate::plan::TestPlan>,
    search: Search,
    drain: bool,
    tolerance_percent: f64,
) -> Result<AcceptCommand> {
    let flag = search.flag();
    if let Some(net) = plan.acceptance.criteria.require_net.as_deref() {
        return Err(CollbenchError::Usage(format!(
            "--require-net is checked by an acceptance run, not by {flag} (whose group runs report \
             no network); accepted: collbench accept --require-net {net} [flags], then {flag} \
             without it"
        )));
    }
    if let Some((file, what)) = sweep_table_output(&plan) {
        let runs = search.group_word();
        return Err(CollbenchError::Usage(format!(
            "{} {}: {what} of one sweep, which {flag} (rounds of {runs} runs) does not have; \
             accepted: --collbench-json FILE for the {} report",
            file.flag.shortest(),
            file.path.display(),
            search.mode()
        )));
    }
    let absolute =
        plan.acceptance.criteria.min_busbw.is_some() || plan.acceptance.profile.is_some();
    if search == Search::Bisect && !absolute {
        return Err(CollbenchError::Usage(
            "--bisect without a threshold: its first groups are halves of the cluster, with no \
             reference group to judge them by; accepted: --bisect with --min-busbw GBPS or \
             --profile NAME (or --pairwise, which judges pairs against the median pair)"
                .into(),
        ));
    }
    Ok(AcceptCommand::Pairwise(
        plan,
        PairwiseOptions {
            search,
            drain,
            tolerance_percent,
        },
    ))
}

/// An acceptance run always ends in a verdict: without a threshold it judges the data and the
/// sweep's completeness, and says that bandwidth was not judged.
fn judged(mut plan: Box<crate::plan::TestPlan>) -> Box<crate::plan::TestPlan> {
    let acceptance = &mut plan.acceptance;
    acceptance.criteria.judge_without_threshold =
        acceptance.criteria.is_empty() && acceptance.profile.is_none();
    plan
}

/// An output that holds one sweep's table (nccl-tests' JSON, the Markdown table, the CSV lines),
/// and what it holds: `accept --pairwise` runs rounds of pair sweeps and has no such table.
fn sweep_table_output(plan: &crate::plan::TestPlan) -> Option<(&OutputFile, &'static str)> {
    plan.outputs.iter().find_map(|file| {
        let what = match file.format {
            OutputFormat::NcclTestsJson => "-J writes nccl-tests' JSON",
            OutputFormat::Markdown => "the Markdown table is the table",
            OutputFormat::Csv => "--csv writes one line per measured cell",
            _ => return None,
        };
        Some((file, what))
    })
}

/// An acceptance decides on its numbers: unless told otherwise (`--precision off`, or other values),
/// it runs the adaptive mode (`crate::plan::adaptive::AdaptivePlan::acceptance_default`).
fn adaptive_by_default(raw: &mut cli::args::RawArgs) {
    use crate::plan::adaptive::{ACCEPT_MAX_TIME_PER_SIZE, ACCEPT_PRECISION_PERCENT};
    use crate::plan::flags::{MAX_TIME_PER_SIZE, PRECISION};
    if raw.given(&PRECISION).is_none() {
        raw.set(&PRECISION, format!("{ACCEPT_PRECISION_PERCENT}%"));
    }
    let off = raw
        .given(&PRECISION)
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("off"));
    if !off && raw.given(&MAX_TIME_PER_SIZE).is_none() {
        let seconds = ACCEPT_MAX_TIME_PER_SIZE.as_secs_f64();
        raw.set(&MAX_TIME_PER_SIZE, format!("{seconds}s"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_has_one_usage_line_and_the_collective_flags() {
        let args = vec!["--help".to_string()];
        let Ok(AcceptCommand::Help(text)) = parse(&args, &|_| None) else {
            panic!("accept --help is not help");
        };
        assert_eq!(text.matches("Usage:").count(), 1, "{text}");
        assert!(text.contains("\nUsage: collbench accept"), "{text}");
        assert!(!text.contains("Runs allreduce-perf"), "{text}");
        assert!(
            text.contains("--minbytes") && text.contains("Exit codes"),
            "{text}"
        );
    }

    fn parsed(args: &[&str]) -> Result<AcceptCommand> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        parse(&args, &|_| None)
    }

    fn refusal(args: &[&str]) -> String {
        match parsed(args) {
            Err(CollbenchError::Usage(message)) => message,
            other => panic!("{args:?} was not refused: {other:?}"),
        }
    }

    #[test]
    fn bisect_is_a_search_of_its_own_judged_by_an_absolute_threshold() {
        let Ok(AcceptCommand::Pairwise(_, options)) =
            parsed(&["--bisect", "--min-busbw", "5", "--drain"])
        else {
            panic!("accept --bisect --min-busbw 5 is not an isolation");
        };
        assert_eq!((options.search, options.drain), (Search::Bisect, true));
        let Ok(AcceptCommand::Pairwise(_, options)) = parsed(&["--pairwise"]) else {
            panic!("accept --pairwise is not an isolation");
        };
        assert_eq!(options.search, Search::Pairs);

        let without_threshold = refusal(&["--bisect"]);
        assert!(
            without_threshold.contains("--bisect without a threshold")
                && without_threshold.contains("--min-busbw GBPS or --profile NAME"),
            "{without_threshold}"
        );
        let both = refusal(&["--bisect", "--pairwise", "--min-busbw", "5"]);
        assert!(
            both.contains("--pairwise and --bisect given together"),
            "{both}"
        );
        let tolerance = refusal(&["--bisect", "--pair-tolerance", "20", "--min-busbw", "5"]);
        assert!(
            tolerance.contains("--pair-tolerance with --bisect"),
            "{tolerance}"
        );
        let table = refusal(&["--bisect", "--min-busbw", "5", "-J", "x.json"]);
        assert!(
            table.contains("which --bisect (rounds of group runs) does not have")
                && table.contains("--collbench-json FILE for the bisect report"),
            "{table}"
        );
    }
}
