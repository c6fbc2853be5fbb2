//! Choosing the libfabric entry to test: the provider asked for, or efa, or the best reliable
//! datagram (FI_EP_RDM) provider this host has.

use crate::error::{CollbenchError, Result};
use crate::fabric::efa_expect::EfaRequirement;
use crate::fabric::ofi::{Hints, Info, InfoList};
use ofi_sys as sys;

/// Preference when no provider is named: hardware transports first, then kernel TCP, and
/// shared memory last (it never touches a NIC, so it says nothing about the network).
const PREFERENCE: &[&str] = &[
    "efa",
    "verbs;ofi_rxm",
    "psm3",
    "psm2",
    "opx",
    "cxi",
    "ucx",
    "tcp;ofi_rxm",
    "tcp",
    "sockets",
    "udp;ofi_rxd",
    "shm",
];

/// The entry chosen, and what the user should be told about the choice.
pub struct Selected {
    pub info: Info,
    /// The provider has FI_RMA with the modes we support (fi_write / fi_read are measured).
    pub rma: bool,
    /// One-line notice (fallback from efa, RMA unavailable …), printed to stderr.
    pub notices: Vec<String>,
}

/// What the user asked for.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub provider: Option<String>,
    pub domain: Option<String>,
    /// Also measure RMA when the provider has it.
    pub want_rma: bool,
    /// With no provider named: this host's instance type should have EFA, so a missing efa
    /// provider is a failed check instead of a fallback.
    pub efa_required: Option<EfaRequirement>,
}

/// Modes collbench honours: it passes a private fi_context2 with every operation, registers
/// every buffer it uses locally, and accepts provider-chosen keys and virtual addressing
/// (EFA needs all of these). Each domain is driven by one thread only, so providers may skip
/// their locks (FI_THREAD_DOMAIN).
fn engine_hints(provider: Option<&str>, domain: Option<&str>, rma: bool) -> Result<Hints> {
    let mut hints = Hints::new()?;
    hints
        .endpoint_type(sys::FI_EP_RDM)
        .caps(sys::FI_MSG as u64 | sys::FI_TAGGED as u64 | if rma { sys::FI_RMA as u64 } else { 0 })
        .mode(sys::FI_CONTEXT | sys::FI_CONTEXT2)
        .threading(sys::FI_THREAD_DOMAIN)
        .mr_mode(
            sys::FI_MR_LOCAL | sys::FI_MR_ALLOCATED | sys::FI_MR_PROV_KEY | sys::FI_MR_VIRT_ADDR,
        );
    if let Some(provider) = provider {
        hints.provider(provider)?;
    }
    if let Some(domain) = domain {
        hints.domain(domain)?;
    }
    Ok(hints)
}

/// Providers offering an RDM endpoint with what the engine needs, in libfabric's order,
/// without duplicates.
pub fn available_rdm_providers() -> Result<Vec<String>> {
    let hints = engine_hints(None, None, false)?;
    let mut names: Vec<String> = Vec::new();
    if let Some(list) = InfoList::get(Some(&hints))? {
        for entry in list.iter() {
            let name = entry.provider();
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    Ok(names)
}

/// First entry of `provider` (on `domain` when given). libfabric does not apply a domain-name
/// hint to every provider (tcp;ofi_rxm 1.17 ignores it), so the domain is also filtered here.
fn first_entry(provider: Option<&str>, domain: Option<&str>, rma: bool) -> Result<Option<Info>> {
    let hints = engine_hints(provider, domain, rma)?;
    let Some(list) = InfoList::get(Some(&hints))? else {
        return Ok(None);
    };
    let entry = list
        .iter()
        .find(|entry| domain.is_none_or(|d| entry.domain() == d));
    entry.map(|entry| entry.duplicate()).transpose()
}

/// The missing-provider (or missing-domain) error: usage (exit 6), naming what is available.
pub fn missing_provider(provider: &str, domain: Option<&str>) -> Result<CollbenchError> {
    let available = available_rdm_providers()?;
    let filter = std::env::var("FI_PROVIDER")
        .map(|v| {
            format!(
                "; note FI_PROVIDER={v} in the environment restricts libfabric to those providers"
            )
        })
        .unwrap_or_default();
    if let Some(domain) = domain {
        let domains = domains_of(provider, false)?;
        if !domains.is_empty() {
            return Ok(CollbenchError::Usage(format!(
                "--domain {domain}: provider {provider} has no domain '{domain}' on this host; its domains: {}",
                domains.join(", ")
            )));
        }
    }
    Ok(CollbenchError::Usage(format!(
        "--provider {provider}: libfabric {} offers no reliable-datagram (FI_EP_RDM) endpoint with FI_MSG|FI_TAGGED from provider '{provider}' on this host; available: {}{filter}",
        crate::fabric::ofi::library()?.version_text(),
        if available.is_empty() { "none".to_string() } else { available.join(", ") }
    )))
}

/// The failed check (exit 7) of an EFA instance type without the efa provider: what was expected,
/// what libfabric offers, and where to look.
fn efa_missing(required: &EfaRequirement, available: &[String]) -> Result<CollbenchError> {
    let EfaRequirement {
        instance_type,
        devices,
    } = required;
    Ok(CollbenchError::CheckFailed(format!(
        "EFA check FAILED: instance type {instance_type} should have the efa provider ({devices} EFA devices), \
         but libfabric {} on this host offers {}; check the EFA driver (`fi_info -p efa`) and that the \
         libfabric loaded is the EFA installer's (/opt/amazon/efa/lib), or name another provider with \
         --provider to test it deliberately",
        crate::fabric::ofi::library()?.version_text(),
        if available.is_empty() {
            "no RDM provider".to_string()
        } else {
            format!("only {}", available.join(", "))
        }
    )))
}

pub fn select(request: &Request) -> Result<Selected> {
    let domain = request.domain.as_deref();
    let mut notices = Vec::new();
    let provider = match request.provider.as_deref() {
        Some(provider) => provider.to_string(),
        None => {
            let available = available_rdm_providers()?;
            let best = PREFERENCE
                .iter()
                .find(|p| available.iter().any(|a| a == *p))
                .map(|p| p.to_string())
                .or_else(|| available.first().cloned());
            match (best, &request.efa_required) {
                (Some(best), _) if best == "efa" => best,
                (_, Some(required)) => return Err(efa_missing(required, &available)?),
                (Some(best), None) => {
                    notices.push(format!(
                        "notice: no efa provider on this host; using {best}, the best RDM provider available ({})",
                        available.join(", ")
                    ));
                    best
                }
                (None, None) => return Err(missing_provider("efa", domain)?),
            }
        }
    };
    if request.want_rma {
        if let Some(info) = first_entry(Some(&provider), domain, true)? {
            return Ok(Selected {
                info,
                rma: true,
                notices,
            });
        }
    }
    match first_entry(Some(&provider), domain, false)? {
        Some(info) => {
            if request.want_rma {
                notices.push(format!(
                    "notice: provider {provider} has no RMA (FI_RMA) with the memory-registration modes collbench supports; measuring send/recv only"
                ));
            }
            Ok(Selected {
                info,
                rma: false,
                notices,
            })
        }
        None => Err(missing_provider(&provider, domain)?),
    }
}

/// Distinct domains (NICs) of `provider` offering what the engine needs, in libfabric's order.
pub fn domains_of(provider: &str, want_rma: bool) -> Result<Vec<String>> {
    let hints = engine_hints(Some(provider), None, want_rma)?;
    let mut domains: Vec<String> = Vec::new();
    if let Some(list) = InfoList::get(Some(&hints))? {
        for entry in list.iter() {
            let domain = entry.domain();
            if !domains.contains(&domain) {
                domains.push(domain);
            }
        }
    }
    Ok(domains)
}
