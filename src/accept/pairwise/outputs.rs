//! The outputs of a pairwise run that rank 0 writes at the end: `-J`, the final `--jsonl` record,
//! `--prom-file` and `--push-gateway`.

use super::jsonl::JsonlIsolation;
use crate::accept::report::PairwiseReport;
use crate::error::{CollbenchError, Result};
use crate::plan::OutputFormat;
use crate::plan::TestPlan;

/// `-J`, `--jsonl` (final record), `--prom-file`, `--push-gateway` of a pairwise run. Each one
/// is attempted even when an earlier one failed; the first error is returned.
pub(super) fn write_outputs(
    plan: &TestPlan,
    result: &PairwiseReport,
    jsonl: Option<&mut JsonlIsolation>,
) -> Result<()> {
    let mut first_error: Option<CollbenchError> = None;
    let mut keep = |outcome: Result<()>| {
        if let Err(e) = outcome {
            if first_error.is_some() {
                crate::io::console::error_line(&format!("collbench: {e}"));
            } else {
                first_error = Some(e);
            }
        }
    };
    if let Some(path) = plan.outputs.path(OutputFormat::CollbenchJson) {
        keep(
            serde_json::to_vec_pretty(result)
                .map_err(|e| {
                    CollbenchError::io(path.display().to_string(), std::io::Error::other(e))
                })
                .and_then(|mut bytes| {
                    bytes.push(b'\n');
                    crate::io::atomic::write_atomically(path, &bytes)
                }),
        );
    }
    if let Some(j) = jsonl {
        keep(
            serde_json::to_value(result)
                .map_err(|e| {
                    CollbenchError::io(j.path.display().to_string(), std::io::Error::other(e))
                })
                .and_then(|mut value| {
                    if let Some(object) = value.as_object_mut() {
                        object.insert("record".into(), j.final_record.into());
                        object.insert("run_id".into(), j.run_id.clone().into());
                    }
                    j.append(value)
                }),
        );
    }
    let text = super::metrics::pairwise_exposition(result, crate::sinks::prometheus::unix_now());
    if let Some(path) = plan.outputs.path(OutputFormat::Prometheus) {
        keep(crate::io::atomic::write_atomically(path, text.as_bytes()));
    }
    if let Some(url) = &plan.acceptance.push_gateway {
        keep(push_pairwise(url, result, &text));
    }
    first_error.map_or(Ok(()), Err)
}

/// `--push-gateway` of a pairwise run, under the collective `<name>-pairwise`.
fn push_pairwise(url: &str, result: &PairwiseReport, text: &str) -> Result<()> {
    let gateway = crate::sinks::pushgateway::GatewayUrl::parse(url)?;
    let key = vec![
        ("job", crate::sinks::pushgateway::JOB.to_string()),
        (
            "instance",
            result
                .hosts
                .first()
                .map(|h| h.host.clone())
                .unwrap_or_default(),
        ),
        // No Slurm job id in the key (as a plain run's, see sinks::pushgateway): the next
        // pairwise run on these nodes replaces this one's failing hosts on the dashboard.
        // Its own group, beside the plain run's, told apart by `mode`: a grouping label
        // replaces the series' label of the same name, and the dashboard selects by
        // `collective`, so that label must stay the collective's name.
        ("collective", result.collective.clone()),
        ("mode", result.search.mode().to_string()),
    ];
    crate::sinks::pushgateway::put(
        &gateway,
        &crate::sinks::pushgateway::grouping_path(&key),
        text,
        std::time::Duration::from_secs(10),
    )
}
