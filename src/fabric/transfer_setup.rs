//! What loopback and pingpong share: provider selection, the sweep plan from the flags, and
//! opening an engine endpoint.

use super::cli::TransferArgs;
use super::efa_expect::EfaRequirement;
use super::engine::{link, SweepPlan};
use super::ofi::{Domain, Endpoint, Info};
use super::select::{self, Request, Selected};
use crate::error::{CollbenchError, Result};
use std::time::Duration;

/// Selects the provider and builds the plan; prints the selection notices to stderr.
pub fn prepare(args: &TransferArgs) -> Result<(Selected, SweepPlan)> {
    prepare_requiring(args, None)
}

/// [`prepare`], where an instance type that should have EFA makes a missing efa provider a
/// failed check (when no --provider is named).
pub fn prepare_requiring(
    args: &TransferArgs,
    efa_required: Option<EfaRequirement>,
) -> Result<(Selected, SweepPlan)> {
    args.validate()?;
    let selected = select::select(&Request {
        provider: args.provider.clone(),
        domain: args.domain.clone(),
        want_rma: !args.no_rma,
        efa_required,
    })?;
    let info = selected.info.as_ref();
    let max_msg = info.max_message_size();
    if max_msg > 0 && args.max_bytes > max_msg {
        return Err(CollbenchError::Usage(format!(
            "-e/--maxbytes {}: provider {} carries messages of at most {max_msg} bytes; give -e {max_msg} or less",
            args.max_bytes,
            info.provider()
        )));
    }
    let sizes = args.sizes()?;
    let plan = SweepPlan {
        buffer_bytes: SweepPlan::buffer_bytes_for(args.max_bytes, args.window),
        sizes,
        latency_iterations: args.iters,
        bandwidth_batches: args.bw_iters,
        warmup_iterations: args.warmup,
        window: args.window,
        rma: selected.rma,
        timeout: Duration::from_secs_f64(args.timeout),
        inject_corruption: args.corruption_requested(),
    };
    Ok((selected, plan))
}

/// Opens a domain and an engine endpoint (send, receive and control buffers) from `info`.
pub fn open_endpoint(info: &Info, plan: &SweepPlan) -> Result<Endpoint> {
    let domain = Domain::open(info.as_ref())?;
    let mut access = ofi_sys::FI_SEND as u64 | ofi_sys::FI_RECV as u64;
    if plan.rma {
        access |= (ofi_sys::FI_READ
            | ofi_sys::FI_WRITE
            | ofi_sys::FI_REMOTE_READ
            | ofi_sys::FI_REMOTE_WRITE) as u64;
    }
    // Room for a full window of receives plus sends plus control messages.
    let max_in_flight = 2 * plan.window + 8;
    Endpoint::open(
        &domain,
        &link::region_sizes(plan.buffer_bytes),
        access,
        max_in_flight,
    )
}

/// Header line describing the provider and plan.
pub fn describe(selected: &Selected, plan: &SweepPlan, write_delivery_complete: bool) -> String {
    let info = selected.info.as_ref();
    let operations: Vec<&str> = plan.operations().iter().map(|o| o.name()).collect();
    format!(
        "# provider {} {} | fabric {} | domain {} | libfabric {} ({})\n# operations: {}{} | sizes {}..{} B | {} ping-pongs (+{} warmup), {} windows of up to {} messages per size | timeout {} s\n",
        info.provider(),
        info.provider_version(),
        info.fabric(),
        info.domain(),
        info.library().version_text(),
        info.library().path,
        operations.join(", "),
        if plan.rma && write_delivery_complete { " (writes complete on delivery)" } else { "" },
        plan.sizes.first().copied().unwrap_or(0),
        plan.sizes.last().copied().unwrap_or(0),
        plan.latency_iterations,
        plan.warmup_iterations,
        plan.bandwidth_batches,
        plan.window,
        plan.timeout.as_secs_f64()
    )
}
