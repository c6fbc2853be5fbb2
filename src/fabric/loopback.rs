//! `collbench fabric loopback`: two endpoints on this node, each driven by its own thread (as two
//! processes would), over one provider; the HyperPod-style EFA loopback check.

use super::cli::{LoopbackArgs, TransferArgs};
use super::efa_expect::{efa_requirement, EfaRequirement, DMI_PRODUCT_NAME};
use super::engine::{run_sweep, EndpointCard, Link, Role, SideOutcome, SweepPlan};
use super::host::{hostname, write_output};
use super::ofi::Info;
use super::results::RowResult;
use super::select::{self, Selected};
use super::transfer_setup::{describe, open_endpoint, prepare, prepare_requiring};
use super::verdict::{evaluate, summary_block, table, Thresholds, Verdict};
use crate::error::{CollbenchError, Result};
use crate::io::console;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};

/// What `--json` writes.
#[derive(Debug, Serialize)]
pub struct LoopbackReport {
    pub tool: String,
    pub host: String,
    pub provider: String,
    pub fabric: String,
    pub domain: String,
    pub libfabric_version: String,
    pub rma: bool,
    pub sizes: Vec<usize>,
    pub latency_iterations: usize,
    pub bandwidth_batches: usize,
    pub window: usize,
    pub thresholds: Thresholds,
    pub rows: Vec<RowResult>,
    pub mismatches: Vec<String>,
    pub verdict: Verdict,
    pub passed: bool,
}

/// One thread's side: open, exchange cards over the channels, run the sweep.
fn side(
    role: Role,
    info: Info,
    plan: &SweepPlan,
    to_peer: Sender<EndpointCard>,
    from_peer: Receiver<EndpointCard>,
    cancel: &AtomicBool,
) -> Result<(SideOutcome, bool)> {
    let mut endpoint = open_endpoint(&info, plan)?;
    let card = EndpointCard::of(&endpoint, &format!("{} ({role:?})", hostname()))?;
    // The peer may have failed already: its error is the one reported.
    let _ = to_peer.send(card);
    // A peer that failed drops its sender: that is a reaction (its own error is the cause); only
    // a peer still opening its endpoint after --timeout is this wait's own failure (exit 4).
    let peer_card = from_peer
        .recv_timeout(plan.timeout)
        .map_err(|error| match error {
            RecvTimeoutError::Disconnected => CollbenchError::Fabric(format!(
                "the {role:?} stopped waiting for its peer's endpoint address because the other side failed"
            )),
            RecvTimeoutError::Timeout => CollbenchError::Timeout(format!(
                "the {role:?}'s peer thread published no endpoint address within --timeout {} s; raise --timeout if opening the endpoint is just slow",
                plan.timeout.as_secs_f64()
            )),
        })?;
    let mut link = Link::connect(role, &mut endpoint, peer_card, plan.timeout, cancel)?;
    link.arm_corruption(plan.inject_corruption && role == Role::Responder);
    let delivery_complete = link.writes_complete_on_delivery();
    Ok((run_sweep(&mut link, plan)?, delivery_complete))
}

/// The error to report when both sides failed: the one that is not a reaction to the other.
fn first_cause(a: CollbenchError, b: CollbenchError) -> CollbenchError {
    let reactive = |e: &CollbenchError| e.to_string().contains("because the other side failed");
    if reactive(&a) && !reactive(&b) {
        b
    } else {
        a
    }
}

/// `--all-domains`: one report per domain.
#[derive(Debug, Serialize)]
pub struct LoopbackSuite {
    pub tool: String,
    pub host: String,
    pub provider: String,
    pub reports: Vec<LoopbackReport>,
    pub passed: bool,
}

pub fn run(args: &LoopbackArgs) -> Result<()> {
    if let Some(path) = &args.transfer.json {
        crate::fabric::host::check_output_dir(path)?;
    }
    // Only when no provider is named: naming one (tcp on an EFA host) is a deliberate choice.
    let efa_required = args.transfer.provider.is_none().then(|| {
        efa_requirement(
            args.instance_type.as_deref(),
            std::path::Path::new(DMI_PRODUCT_NAME),
        )
    });
    let efa_required = efa_required.flatten();
    if args.all_domains {
        return run_all_domains(&args.transfer, efa_required);
    }
    let (selected, plan) = prepare_requiring(&args.transfer, efa_required)?;
    for notice in &selected.notices {
        eprintln!("{notice}");
    }
    let report = measure(&selected, &plan, &args.transfer)?;
    if let Some(path) = &args.transfer.json {
        let json =
            serde_json::to_string_pretty(&report).expect("the loopback report always serialises");
        write_output(path, &json)?;
    }
    finish(&report.verdict)
}

/// The check once per domain of the selected provider (HyperPod checks every EFA device).
fn run_all_domains(args: &TransferArgs, efa_required: Option<EfaRequirement>) -> Result<()> {
    let (first, _) = prepare_requiring(args, efa_required)?;
    for notice in &first.notices {
        eprintln!("{notice}");
    }
    let provider = first.info.as_ref().provider();
    let domains = select::domains_of(&provider, first.rma)?;
    let mut reports = Vec::new();
    for domain in &domains {
        let mut per_domain = args.clone();
        per_domain.provider = Some(provider.clone());
        per_domain.domain = Some(domain.clone());
        let (selected, plan) = prepare(&per_domain)?;
        reports.push(measure(&selected, &plan, &per_domain)?);
    }
    let failed: Vec<&LoopbackReport> = reports.iter().filter(|r| !r.passed).collect();
    console::print_line(&format!(
        "Loopback check over {} domain(s) of provider {provider}: {} passed, {} failed{}",
        reports.len(),
        reports.len() - failed.len(),
        failed.len(),
        if failed.is_empty() {
            String::new()
        } else {
            format!(
                " ({})",
                failed
                    .iter()
                    .map(|r| r.domain.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    ));
    if let Some(path) = &args.json {
        let suite = LoopbackSuite {
            tool: "collbench fabric loopback --all-domains".into(),
            host: hostname(),
            provider,
            passed: failed.is_empty(),
            reports,
        };
        let json = serde_json::to_string_pretty(&suite).expect("the loopback suite serialises");
        write_output(path, &json)?;
        return finish_all(&suite.reports);
    }
    finish_all(&reports)
}

fn finish_all(reports: &[LoopbackReport]) -> Result<()> {
    let reasons = |pick: &dyn Fn(&LoopbackReport) -> bool| {
        reports
            .iter()
            .filter(|r| pick(r))
            .map(|r| format!("domain {}: {}", r.domain, r.verdict.failures.join("; ")))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    if reports.iter().any(|r| r.verdict.wrong_messages > 0) {
        return Err(CollbenchError::WrongResults(reasons(&|r| !r.passed)));
    }
    if reports.iter().any(|r| !r.passed) {
        return Err(CollbenchError::CheckFailed(reasons(&|r| !r.passed)));
    }
    Ok(())
}

/// Runs both sides on `selected`, prints the table and summary, and returns the report.
fn measure(selected: &Selected, plan: &SweepPlan, args: &TransferArgs) -> Result<LoopbackReport> {
    let info = &selected.info;
    let (initiator_info, responder_info) = (info.try_clone()?, info.try_clone()?);
    let cancel = AtomicBool::new(false);
    let (to_responder, responder_inbox) = channel();
    let (to_initiator, initiator_inbox) = channel();
    let run_side = |role, info, to_peer, from_peer| {
        let result = side(role, info, plan, to_peer, from_peer, &cancel);
        if result.is_err() {
            cancel.store(true, Ordering::Relaxed);
        }
        result
    };
    let (initiator, responder) = std::thread::scope(|scope| {
        let responder = scope.spawn(|| {
            run_side(
                Role::Responder,
                responder_info,
                to_initiator,
                responder_inbox,
            )
        });
        let initiator = run_side(
            Role::Initiator,
            initiator_info,
            to_responder,
            initiator_inbox,
        );
        let responder = responder.join().unwrap_or_else(|_| {
            Err(CollbenchError::Fabric(
                "the responder thread panicked".into(),
            ))
        });
        (initiator, responder)
    });
    let ((mut outcome, delivery_complete), (responder_outcome, _)) = match (initiator, responder) {
        (Ok(i), Ok(r)) => (i, r),
        (Err(e), Ok(_)) | (Ok(_), Err(e)) => return Err(e),
        (Err(a), Err(b)) => return Err(first_cause(a, b)),
    };
    outcome.merge_verification(&responder_outcome)?;

    let entry = info.as_ref();
    let thresholds = Thresholds {
        min_bw_gb_per_s: args.min_bw_gb_per_s,
        max_lat_us: args.max_lat_us,
    };
    let verdict = evaluate(&outcome.rows, thresholds);
    console::print(&format!(
        "# collbench fabric loopback on {}\n{}",
        hostname(),
        describe(selected, plan, delivery_complete)
    ));
    console::print(&table(&outcome.rows));
    for note in &outcome.mismatches {
        eprintln!("payload mismatch: {note}");
    }
    let subject = format!("provider {}, domain {}", entry.provider(), entry.domain());
    console::print(&summary_block("Loopback", &subject, &verdict));
    Ok(LoopbackReport {
        tool: "collbench fabric loopback".into(),
        host: hostname(),
        provider: entry.provider(),
        fabric: entry.fabric(),
        domain: entry.domain(),
        libfabric_version: entry.library().version_text(),
        rma: plan.rma,
        sizes: plan.sizes.clone(),
        latency_iterations: plan.latency_iterations,
        bandwidth_batches: plan.bandwidth_batches,
        window: plan.window,
        thresholds,
        rows: outcome.rows,
        mismatches: outcome.mismatches,
        passed: verdict.passed(),
        verdict,
    })
}

/// Exit 7 for wrong payloads or failed thresholds.
pub fn finish(verdict: &Verdict) -> Result<()> {
    if verdict.wrong_messages > 0 {
        return Err(CollbenchError::WrongResults(verdict.failures.join("; ")));
    }
    if !verdict.passed() {
        return Err(CollbenchError::CheckFailed(verdict.failures.join("; ")));
    }
    Ok(())
}
