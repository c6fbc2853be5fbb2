//! Acceptance profiles: expected bus bandwidth per instance type or GPU model, node count,
//! collective and size (results/profiles/*.toml, built into the binary; `--profile FILE.toml` loads
//! another). Profiles are untrusted input: unknown keys, missing sources, non-finite or non-positive
//! numbers, unknown collectives and malformed sizes are rejected with the field that was wrong.
//!
//! Node count matters: a 2-node all-reduce reaches more bus bandwidth than a many-node ring, because
//! busbw counts the NVLink traffic inside each node too. Entries are per node count; for larger
//! counts than any measured one, a profile may opt in (`derive_larger_node_counts`) to a
//! network-bound model, see [`network_bound_factor`].

use crate::error::{CollbenchError, Result};
use crate::types::size::format_size;
use crate::types::values::{parse_size, Flag};
use crate::types::DataType;
use serde::Deserialize;
use std::path::Path;

/// The profiles shipped in results/profiles/, by file name.
const BUILTIN: &[(&str, &str)] = &[
    (
        "p4d.24xlarge",
        include_str!("../../results/profiles/p4d.24xlarge.toml"),
    ),
    (
        "p5.48xlarge",
        include_str!("../../results/profiles/p5.48xlarge.toml"),
    ),
    (
        "p5en.48xlarge",
        include_str!("../../results/profiles/p5en.48xlarge.toml"),
    ),
    (
        "h100-nvlink-8gpu",
        include_str!("../../results/profiles/h100-nvlink-8gpu.toml"),
    ),
];

/// nccl-tests collective names a profile may name.
pub const COLLECTIVE_NAMES: &[&str] = &[
    "all_reduce",
    "all_gather",
    "reduce_scatter",
    "alltoall",
    "alltoallv",
    "broadcast",
    "reduce",
    "sendrecv",
    "gather",
    "scatter",
    "hypercube",
];

/// Collectives whose inter-node traffic the network-bound model describes.
const DERIVABLE: &[&str] = &["all_reduce", "all_gather", "reduce_scatter"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    schema: u32,
    name: String,
    description: String,
    #[serde(default)]
    instance_types: Vec<String>,
    #[serde(default)]
    gpu_models: Vec<String>,
    gpus_per_node: u32,
    pass_fraction: f64,
    #[serde(default)]
    derive_larger_node_counts: bool,
    expect: Vec<ExpectFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectFile {
    collective: String,
    nodes: u32,
    size: String,
    #[serde(default)]
    dtype: Option<String>,
    busbw_gbps: f64,
    source: String,
}

/// A validated profile.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    pub name: String,
    pub description: String,
    /// Exact `/sys/devices/virtual/dmi/id/product_name` values this profile is for.
    pub instance_types: Vec<String>,
    /// Case-insensitive substrings of the device name (`H100 80GB HBM3`).
    pub gpu_models: Vec<String>,
    pub gpus_per_node: u32,
    /// A check passes when measured ≥ expected × this.
    pub pass_fraction: f64,
    pub derive_larger_node_counts: bool,
    pub expectations: Vec<Expectation>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expectation {
    pub collective: String,
    pub nodes: u32,
    pub size_bytes: u64,
    /// `None`: any data type.
    pub dtype: Option<DataType>,
    pub busbw_gbps: f64,
    /// Where the number comes from (printed in the verdict).
    pub source: String,
}

/// What a profile expects for one row of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct Expected {
    pub busbw_gbps: f64,
    /// Source of the number, and for a derived one the model that scaled it.
    pub basis: String,
    pub derived: bool,
}

impl Profile {
    /// Parses and validates a profile. `origin` names the file in error messages.
    pub fn parse(text: &str, origin: &str) -> Result<Profile> {
        let bad = |msg: String| CollbenchError::Usage(format!("profile {origin}: {msg}"));
        let file: ProfileFile =
            toml::from_str(text).map_err(|e| bad(format!("not a valid profile: {e}")))?;
        if file.schema != 1 {
            return Err(bad(format!(
                "schema = {} is not supported; this collbench reads schema = 1",
                file.schema
            )));
        }
        if file.name.trim().is_empty() {
            return Err(bad("name is empty; give the profile a name".into()));
        }
        if file.instance_types.is_empty() && file.gpu_models.is_empty() {
            return Err(bad(
                "neither instance_types nor gpu_models is set; a profile must say what it is for"
                    .into(),
            ));
        }
        if file
            .instance_types
            .iter()
            .chain(&file.gpu_models)
            .any(|s| s.trim().is_empty())
        {
            return Err(bad("an instance type or GPU model is empty".into()));
        }
        if !(1..=1024).contains(&file.gpus_per_node) {
            return Err(bad(format!(
                "gpus_per_node = {} is outside 1..=1024",
                file.gpus_per_node
            )));
        }
        if !(file.pass_fraction.is_finite()
            && file.pass_fraction > 0.0
            && file.pass_fraction <= 1.0)
        {
            return Err(bad(format!(
                "pass_fraction = {} must be in (0, 1] (e.g. 0.9: pass at 90% of expected)",
                file.pass_fraction
            )));
        }
        if file.expect.is_empty() {
            return Err(bad("no [[expect]] entries".into()));
        }
        let mut expectations = Vec::with_capacity(file.expect.len());
        for (index, entry) in file.expect.iter().enumerate() {
            let at = |msg: String| bad(format!("[[expect]] #{}: {msg}", index + 1));
            if !COLLECTIVE_NAMES.contains(&entry.collective.as_str()) {
                return Err(at(format!(
                    "collective '{}' is unknown; expected one of {}",
                    entry.collective,
                    COLLECTIVE_NAMES.join(", ")
                )));
            }
            if !(1..=100_000).contains(&entry.nodes) {
                return Err(at(format!("nodes = {} is outside 1..=100000", entry.nodes)));
            }
            let size_bytes = parse_size(Flag::long_only("size"), &entry.size).map_err(|e| {
                let why = match e {
                    CollbenchError::Usage(m) => m,
                    other => other.to_string(),
                };
                at(format!("size = \"{}\" is not a size ({why})", entry.size))
            })?;
            if size_bytes == 0 {
                return Err(at("size must be more than 0 bytes".into()));
            }
            let dtype = match &entry.dtype {
                None => None,
                Some(name) => Some(DataType::parse(name).ok_or_else(|| {
                    at(format!(
                        "dtype '{name}' is unknown; expected a -d name such as float, half, bfloat16"
                    ))
                })?),
            };
            if !(entry.busbw_gbps.is_finite() && entry.busbw_gbps > 0.0 && entry.busbw_gbps < 1e6) {
                return Err(at(format!(
                    "busbw_gbps = {} must be a positive number of GB/s below 1e6",
                    entry.busbw_gbps
                )));
            }
            if entry.source.trim().len() < 8 {
                return Err(at(
                    "source is missing or too short; every number needs its public source".into(),
                ));
            }
            let duplicate = expectations.iter().any(|e: &Expectation| {
                e.collective == entry.collective
                    && e.nodes == entry.nodes
                    && e.size_bytes == size_bytes
                    && e.dtype == dtype
            });
            if duplicate {
                return Err(at(format!(
                    "duplicate entry for {} on {} nodes at {}",
                    entry.collective, entry.nodes, entry.size
                )));
            }
            expectations.push(Expectation {
                collective: entry.collective.clone(),
                nodes: entry.nodes,
                size_bytes,
                dtype,
                busbw_gbps: entry.busbw_gbps,
                source: entry.source.trim().to_string(),
            });
        }
        Ok(Profile {
            name: file.name,
            description: file.description,
            instance_types: file.instance_types,
            gpu_models: file.gpu_models,
            gpus_per_node: file.gpus_per_node,
            pass_fraction: file.pass_fraction,
            derive_larger_node_counts: file.derive_larger_node_counts,
            expectations,
        })
    }

    /// Every profile shipped with collbench.
    pub fn builtin() -> Result<Vec<Profile>> {
        BUILTIN
            .iter()
            .map(|(name, text)| Profile::parse(text, &format!("results/profiles/{name}.toml")))
            .collect()
    }

    pub fn builtin_names() -> Vec<&'static str> {
        BUILTIN.iter().map(|(name, _)| *name).collect()
    }

    /// `--profile VALUE`: a built-in name, or a path to a .toml file.
    pub fn load(value: &str) -> Result<Profile> {
        if let Some((name, text)) = BUILTIN.iter().find(|(name, _)| *name == value) {
            return Profile::parse(text, &format!("results/profiles/{name}.toml"));
        }
        if value.ends_with(".toml") || value.contains('/') {
            let path = Path::new(value);
            let text = std::fs::read_to_string(path).map_err(|e| CollbenchError::io(value, e))?;
            return Profile::parse(&text, value);
        }
        Err(CollbenchError::Usage(format!(
            "--profile: '{value}' is not a profile; expected auto, a path to a .toml file, or one of {}",
            Profile::builtin_names().join(", ")
        )))
    }

    /// The expectation for a row of a run on `nodes` nodes, if the profile has one: an entry for
    /// that node count, else (when the profile allows it) one derived from the largest measured
    /// node count below it.
    pub fn expected(
        &self,
        collective: &str,
        nodes: u32,
        size_bytes: u64,
        dtype: DataType,
    ) -> Option<Expected> {
        let matches = |e: &&Expectation| {
            e.collective == collective
                && e.size_bytes == size_bytes
                && e.dtype.is_none_or(|d| d == dtype)
        };
        let exact: Vec<&Expectation> = self
            .expectations
            .iter()
            .filter(matches)
            .filter(|e| e.nodes == nodes)
            .collect();
        if let Some(entry) = most_specific(&exact) {
            return Some(Expected {
                busbw_gbps: entry.busbw_gbps,
                basis: entry.source.clone(),
                derived: false,
            });
        }
        if !self.derive_larger_node_counts || !DERIVABLE.contains(&collective) || nodes < 2 {
            return None;
        }
        let reference_nodes = self
            .expectations
            .iter()
            .filter(matches)
            .map(|e| e.nodes)
            .filter(|&n| n >= 2 && n < nodes)
            .max()?;
        let reference_entries: Vec<&Expectation> = self
            .expectations
            .iter()
            .filter(matches)
            .filter(|e| e.nodes == reference_nodes)
            .collect();
        let reference = most_specific(&reference_entries)?;
        let scale = network_bound_factor(nodes, self.gpus_per_node)
            / network_bound_factor(reference_nodes, self.gpus_per_node);
        Some(Expected {
            busbw_gbps: reference.busbw_gbps * scale,
            basis: format!(
                "derived: {:.2} GB/s measured on {reference_nodes} nodes × {scale:.4} \
                 (network-bound model f(N) = ((gN-1)/gN) / ((N-1)/N), g = {} GPUs/node, N = {nodes}); \
                 reference: {}",
                reference.busbw_gbps, self.gpus_per_node, reference.source
            ),
            derived: true,
        })
    }

    /// A one-line summary of what the profile covers, for "nothing matched" messages.
    pub fn coverage(&self) -> String {
        let mut parts: Vec<String> = self
            .expectations
            .iter()
            .map(|e| {
                format!(
                    "{} on {} node(s) at {}",
                    e.collective,
                    e.nodes,
                    format_size(e.size_bytes)
                )
            })
            .collect();
        parts.dedup();
        if self.derive_larger_node_counts {
            parts
                .push("larger node counts derived for all_reduce/all_gather/reduce_scatter".into());
        }
        parts.join("; ")
    }
}

/// A dtype-specific entry wins over an any-dtype one.
fn most_specific<'a>(candidates: &[&'a Expectation]) -> Option<&'a Expectation> {
    candidates
        .iter()
        .copied()
        .find(|e| e.dtype.is_some())
        .or(candidates.first().copied())
}

/// busbw per unit of per-node network bandwidth when the inter-node network is the bottleneck.
///
/// With N nodes of g GPUs, ring/tree all-reduce moves 2(N-1)/N × S bytes in and out of every node,
/// while nccl-tests reports busbw = 2(n-1)/n × S/t with n = gN ranks. So busbw/netbw =
/// ((gN-1)/gN) / ((N-1)/N); all-gather and reduce-scatter give the same ratio (both factors halve).
/// It falls from ≈1.875 at 2 nodes of 8 GPUs towards 1 for many nodes: why 2-node numbers exceed
/// what large rings reach.
pub fn network_bound_factor(nodes: u32, gpus_per_node: u32) -> f64 {
    let n = nodes as f64;
    let ranks = n * gpus_per_node as f64;
    ((ranks - 1.0) / ranks) / ((n - 1.0) / n)
}

/// `--profile auto`: the profile for this instance type (exact DMI product name), else for the GPU
/// model in `device_names`. `None` when nothing matches.
pub fn select_auto<'a>(
    profiles: &'a [Profile],
    product_name: Option<&str>,
    device_names: &[String],
) -> Option<&'a Profile> {
    if let Some(product) = product_name.map(str::trim).filter(|p| !p.is_empty()) {
        if let Some(p) = profiles
            .iter()
            .find(|p| p.instance_types.iter().any(|t| t == product))
        {
            return Some(p);
        }
    }
    profiles.iter().find(|p| {
        p.gpu_models.iter().any(|model| {
            let model = model.to_ascii_lowercase();
            !device_names.is_empty()
                && device_names
                    .iter()
                    .all(|d| d.to_ascii_lowercase().contains(&model))
        })
    })
}

/// Where the instance type is read from on Linux (EC2 puts e.g. `p5.48xlarge` there).
pub const DMI_PRODUCT_NAME: &str = "/sys/devices/virtual/dmi/id/product_name";

/// Reads the DMI product name, `None` if the file is absent or unreadable.
pub fn read_product_name(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Resolves `--profile auto` or a name/path. Auto with no match is a usage error that says what was
/// found and what is available (the verdict's path judges without a profile instead:
/// `AcceptancePlan::resolve_criteria`).
pub fn resolve(
    value: &str,
    product_name: Option<&str>,
    device_names: &[String],
) -> Result<Profile> {
    if value != "auto" {
        return Profile::load(value);
    }
    let profiles = Profile::builtin()?;
    select_auto(&profiles, product_name, device_names)
        .cloned()
        .ok_or_else(|| {
            CollbenchError::Usage(format!(
                "--profile auto: no profile for {}; use --profile with one of {} or a .toml file",
                no_match_subject(product_name, device_names),
                Profile::builtin_names().join(", ")
            ))
        })
}

/// The verdict's note when `--profile auto` matches nothing. Worded without the tokens that
/// scripts grep in nccl-tests' output (docs/output.md), since it is printed on stderr.
/// `subject`: [`no_match_subject`].
pub fn no_auto_match(subject: &str) -> String {
    format!(
        "--profile auto: no busbw profile applied for {subject}; busbw judged only by --min-busbw \
         or NCCL_TESTS_MIN_BW when given (profiles: {})",
        Profile::builtin_names().join(", ")
    )
}

/// `instance type '…' or devices […]`: what `--profile auto` looked for.
pub fn no_match_subject(product_name: Option<&str>, device_names: &[String]) -> String {
    let mut devices: Vec<&str> = device_names.iter().map(String::as_str).collect();
    devices.sort_unstable();
    devices.dedup();
    format!(
        "instance type '{}' or devices [{}]",
        product_name.unwrap_or("unknown"),
        devices.join(", ")
    )
}
