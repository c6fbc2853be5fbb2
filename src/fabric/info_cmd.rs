//! `collbench fabric info`: what libfabric offers on this host, and the EFA device check.

use super::cli::InfoArgs;
use super::efa_expect::{self, EfaCheck};
use super::host::{hostname, write_output};
use super::ofi::{self, Hints, InfoList, InfoRef};
use crate::error::{CollbenchError, Result};
use serde::Serialize;
use std::path::Path;

/// One fi_getinfo entry.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InventoryEntry {
    pub provider: String,
    pub provider_version: String,
    pub fabric: String,
    pub domain: String,
    pub endpoint_type: String,
    pub protocol: String,
    pub address_format: String,
    pub caps: Vec<String>,
    pub mode: Vec<String>,
    pub mr_mode: Vec<String>,
    pub max_msg_size: usize,
    pub inject_size: usize,
}

impl InventoryEntry {
    fn of(entry: InfoRef<'_>) -> Self {
        Self {
            provider: entry.provider(),
            provider_version: entry.provider_version(),
            fabric: entry.fabric(),
            domain: entry.domain(),
            endpoint_type: entry.endpoint_type_name(),
            protocol: entry.protocol_name(),
            address_format: entry.address_format_name(),
            caps: entry.caps_names(),
            mode: entry.mode_names(),
            mr_mode: entry.mr_mode_names(),
            max_msg_size: entry.max_message_size(),
            inject_size: entry.inject_size(),
        }
    }
}

/// Per-provider roll-up of the entries.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProviderSummary {
    pub provider: String,
    pub version: String,
    pub fabrics: Vec<String>,
    pub domains: Vec<String>,
    pub endpoint_types: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EfaReport {
    /// EFA devices (efa provider domains, "-rdm"/"-dgrm" suffixes folded).
    pub devices: Vec<String>,
    pub instance_type: Option<String>,
    pub check: EfaCheck,
}

/// What `--json` writes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InventoryReport {
    pub tool: String,
    pub host: String,
    pub libfabric_runtime_version: String,
    /// The libfabric.so.1 file loaded at run time.
    pub libfabric_library: String,
    pub libfabric_header_version: String,
    pub provider_filter: Option<String>,
    pub providers: Vec<ProviderSummary>,
    pub entries: Vec<InventoryEntry>,
    pub efa: EfaReport,
}

fn push_distinct(list: &mut Vec<String>, value: &str) {
    if !value.is_empty() && !list.iter().any(|v| v == value) {
        list.push(value.to_string());
    }
}

/// Rolls entries up by provider, in first-seen order.
pub fn summarise_providers(entries: &[InventoryEntry]) -> Vec<ProviderSummary> {
    let mut providers: Vec<ProviderSummary> = Vec::new();
    for entry in entries {
        let index = match providers.iter().position(|p| p.provider == entry.provider) {
            Some(i) => i,
            None => {
                providers.push(ProviderSummary {
                    provider: entry.provider.clone(),
                    version: entry.provider_version.clone(),
                    fabrics: Vec::new(),
                    domains: Vec::new(),
                    endpoint_types: Vec::new(),
                });
                providers.len() - 1
            }
        };
        let summary = &mut providers[index];
        push_distinct(&mut summary.fabrics, &entry.fabric);
        push_distinct(&mut summary.domains, &entry.domain);
        push_distinct(&mut summary.endpoint_types, &entry.endpoint_type);
    }
    providers
}

/// EFA devices among the entries: distinct efa domains, with the per-endpoint-type suffix
/// ("rdmap16s27-rdm", "rdmap16s27-dgrm") folded into the device name.
pub fn efa_devices(entries: &[InventoryEntry]) -> Vec<String> {
    let mut devices = Vec::new();
    for entry in entries.iter().filter(|e| e.provider == "efa") {
        let device = entry
            .domain
            .strip_suffix("-rdm")
            .or_else(|| entry.domain.strip_suffix("-dgrm"))
            .unwrap_or(&entry.domain);
        push_distinct(&mut devices, device);
    }
    devices
}

fn entries_for(provider: Option<&str>) -> Result<Vec<InventoryEntry>> {
    let mut hints = Hints::new()?;
    if let Some(provider) = provider {
        hints.provider(provider)?;
    }
    Ok(InfoList::get(Some(&hints))?
        .map(|list| list.iter().map(InventoryEntry::of).collect())
        .unwrap_or_default())
}

pub fn render_text(report: &InventoryReport) -> String {
    let mut out = format!(
        "# collbench fabric info on {}: libfabric {} from {} (built against API {})\n",
        report.host,
        report.libfabric_runtime_version,
        report.libfabric_library,
        report.libfabric_header_version
    );
    out.push_str(&format!(
        "#{:<22} {:>8} {:<12} {:<22} {:<16} {:<16} {:>14}\n",
        "provider", "version", "endpoint", "fabric", "domain", "protocol", "max_msg(B)"
    ));
    for entry in &report.entries {
        out.push_str(&format!(
            " {:<22} {:>8} {:<12} {:<22} {:<16} {:<16} {:>14}\n",
            entry.provider,
            entry.provider_version,
            entry.endpoint_type,
            entry.fabric,
            entry.domain,
            entry.protocol,
            entry.max_msg_size
        ));
        out.push_str(&format!("     caps: {}\n", entry.caps.join(" ")));
        if !entry.mr_mode.is_empty() {
            out.push_str(&format!("     mr_mode: {}\n", entry.mr_mode.join(" ")));
        }
    }
    out.push_str("# providers\n");
    for p in &report.providers {
        out.push_str(&format!(
            "  {} {}: {} fabric(s) [{}], {} domain(s) [{}], endpoints {}\n",
            p.provider,
            p.version,
            p.fabrics.len(),
            p.fabrics.join(", "),
            p.domains.len(),
            p.domains.join(", "),
            p.endpoint_types.join(", ")
        ));
    }
    // With another --provider the EFA devices were not listed: the check line says so alone.
    if !matches!(report.efa.check, EfaCheck::NotInScope { .. }) {
        out.push_str(&format!(
            "EFA devices: {}{}\n",
            report.efa.devices.len(),
            if report.efa.devices.is_empty() {
                String::new()
            } else {
                format!(" ({})", report.efa.devices.join(", "))
            }
        ));
    }
    out.push_str(&report.efa.check.describe());
    out.push('\n');
    out
}

pub fn run(args: &InfoArgs) -> Result<()> {
    if let Some(path) = &args.json {
        crate::fabric::host::check_output_dir(path)?;
    }
    let library = ofi::library()?;
    let provider = args.provider.as_deref();
    let entries = entries_for(provider)?;
    let instance_type = args
        .instance_type
        .clone()
        .or_else(|| efa_expect::detect_instance_type(Path::new(efa_expect::DMI_PRODUCT_NAME)));
    // The EFA check applies when EFA is in scope: everything, or --provider efa.
    let efa_in_scope = provider.is_none_or(|p| p == "efa");
    let devices = efa_devices(&entries);
    let check = if efa_in_scope {
        EfaCheck::evaluate(instance_type.as_deref(), devices.len())
    } else {
        EfaCheck::NotInScope {
            provider: provider.unwrap_or_default().to_string(),
        }
    };
    if entries.is_empty() {
        if let Some(provider) = provider {
            // An EFA instance without the efa provider is a failed check, not a usage error.
            if !matches!(check, EfaCheck::Mismatch { .. }) {
                let available: Vec<String> = summarise_providers(&entries_for(None)?)
                    .into_iter()
                    .map(|p| p.provider)
                    .collect();
                return Err(CollbenchError::Usage(format!(
                    "--provider {provider}: libfabric {} has no provider '{provider}' on this host; available: {}",
                    library.version_text(),
                    if available.is_empty() { "none".to_string() } else { available.join(", ") }
                )));
            }
        }
    }
    let report = InventoryReport {
        tool: "collbench fabric info".to_string(),
        host: hostname(),
        libfabric_runtime_version: library.version_text(),
        libfabric_library: library.path.clone(),
        libfabric_header_version: ofi::header_version(),
        provider_filter: args.provider.clone(),
        providers: summarise_providers(&entries),
        entries,
        efa: EfaReport {
            devices,
            instance_type,
            check: check.clone(),
        },
    };
    crate::io::console::print(&render_text(&report));
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report).expect("the inventory always serialises");
        write_output(path, &json)?;
    }
    if let EfaCheck::Mismatch { .. } = check {
        return Err(CollbenchError::CheckFailed(check.describe()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(provider: &str, domain: &str, ep: &str) -> InventoryEntry {
        InventoryEntry {
            provider: provider.into(),
            provider_version: "1.0".into(),
            fabric: "f".into(),
            domain: domain.into(),
            endpoint_type: ep.into(),
            protocol: String::new(),
            address_format: String::new(),
            caps: vec![],
            mode: vec![],
            mr_mode: vec![],
            max_msg_size: 0,
            inject_size: 0,
        }
    }

    #[test]
    fn efa_devices_fold_the_endpoint_type_suffix() {
        let entries = [
            entry("efa", "rdmap16s27-rdm", "FI_EP_RDM"),
            entry("efa", "rdmap16s27-dgrm", "FI_EP_DGRAM"),
            entry("efa", "rdmap32s27-rdm", "FI_EP_RDM"),
            entry("tcp;ofi_rxm", "eth0", "FI_EP_RDM"),
        ];
        assert_eq!(efa_devices(&entries), vec!["rdmap16s27", "rdmap32s27"]);
        let providers = summarise_providers(&entries);
        assert_eq!(providers.len(), 2);
        assert_eq!(providers[0].domains.len(), 3);
        assert_eq!(
            providers[0].endpoint_types,
            vec!["FI_EP_RDM", "FI_EP_DGRAM"]
        );
    }
}
