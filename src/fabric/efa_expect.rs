//! How many EFA devices an EC2 instance type should show, and where the instance type comes from.
//!
//! Each EFA-capable network card of these instance types carries one EFA device, which libfabric's
//! efa provider reports as one RDM domain. Counts, from AWS's public documentation:
//! - "Amazon EC2 instance type specifications, Accelerated computing, Network specifications"
//!   (https://docs.aws.amazon.com/ec2/latest/instancetypes/ac.html#ac_network): maximum network
//!   cards p5.48xlarge 32, p5e.48xlarge 32, p5en.48xlarge 16, p4d.24xlarge 4, p4de.24xlarge 4,
//!   all EFA-capable.
//! - "Maximize network bandwidth on Amazon EC2 instances with multiple network cards"
//!   (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/efa-acc-inst-types.html): the P5
//!   example launches 32 EFA interfaces.
//! - Product pages: P5 "3,200 Gbps of EFAv2" = 32 x 100 Gbps (https://aws.amazon.com/ec2/instance-types/p5/),
//!   P5en "3,200 Gbps of EFAv3" = 16 x 200 Gbps, P4d "400 Gbps" = 4 x 100 Gbps
//!   (https://aws.amazon.com/ec2/instance-types/p4/).

use std::path::Path;

/// Where Linux exposes the SMBIOS product name; on EC2 Nitro instances it is the instance type.
pub const DMI_PRODUCT_NAME: &str = "/sys/devices/virtual/dmi/id/product_name";

/// Expected EFA device count for the instance types whose count we know and can cite.
pub fn expected_efa_devices(instance_type: &str) -> Option<usize> {
    match instance_type.trim() {
        "p5.48xlarge" | "p5e.48xlarge" => Some(32),
        "p5en.48xlarge" => Some(16),
        "p4d.24xlarge" | "p4de.24xlarge" => Some(4),
        _ => None,
    }
}

/// The instance type read from DMI, `None` when the file is missing or empty (not a VM that
/// exposes it, or a container without /sys).
pub fn detect_instance_type(dmi_product_name: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dmi_product_name).ok()?;
    let name = text.trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// An instance type that should have EFA: `fabric loopback` without `--provider` must then find
/// the efa provider instead of falling back to another one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EfaRequirement {
    pub instance_type: String,
    pub devices: usize,
}

/// The requirement for the instance type given (`--instance-type`), else the one read from
/// `dmi_product_name`; `None` for a type without a documented EFA count, or no type at all.
pub fn efa_requirement(flag: Option<&str>, dmi_product_name: &Path) -> Option<EfaRequirement> {
    let instance_type = flag
        .map(str::to_string)
        .or_else(|| detect_instance_type(dmi_product_name))?;
    let devices = expected_efa_devices(&instance_type)?;
    Some(EfaRequirement {
        instance_type: instance_type.trim().to_string(),
        devices,
    })
}

/// Outcome of comparing the EFA devices found with what the instance type should have.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum EfaCheck {
    /// The instance type is unknown or has no documented EFA count: nothing to compare.
    NotApplicable { instance_type: Option<String> },
    /// `--provider` named another provider, so the EFA devices were not listed.
    NotInScope { provider: String },
    Match {
        instance_type: String,
        expected: usize,
        found: usize,
    },
    Mismatch {
        instance_type: String,
        expected: usize,
        found: usize,
    },
}

impl EfaCheck {
    pub fn evaluate(instance_type: Option<&str>, efa_devices_found: usize) -> Self {
        let Some(instance_type) = instance_type else {
            return EfaCheck::NotApplicable {
                instance_type: None,
            };
        };
        match expected_efa_devices(instance_type) {
            None => EfaCheck::NotApplicable {
                instance_type: Some(instance_type.to_string()),
            },
            Some(expected) if expected == efa_devices_found => EfaCheck::Match {
                instance_type: instance_type.to_string(),
                expected,
                found: efa_devices_found,
            },
            Some(expected) => EfaCheck::Mismatch {
                instance_type: instance_type.to_string(),
                expected,
                found: efa_devices_found,
            },
        }
    }

    /// One line for the text report.
    pub fn describe(&self) -> String {
        match self {
            EfaCheck::NotApplicable { instance_type: None } => {
                "EFA check: instance type unknown (no DMI product name; pass --instance-type); skipped".into()
            }
            EfaCheck::NotApplicable { instance_type: Some(t) } => {
                format!("EFA check: no documented EFA device count for instance type '{t}'; skipped")
            }
            EfaCheck::NotInScope { provider } => format!(
                "EFA check: not run (--provider {provider}); run without --provider or with --provider efa"
            ),
            EfaCheck::Match { instance_type, expected, found } => {
                format!("EFA check: {found} EFA devices, as expected for {instance_type} ({expected})")
            }
            EfaCheck::Mismatch { instance_type, expected, found } => format!(
                "EFA check FAILED: {found} EFA devices found, {instance_type} should have {expected}"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_instance_types_have_their_counts() {
        assert_eq!(expected_efa_devices("p5.48xlarge"), Some(32));
        assert_eq!(expected_efa_devices("p5en.48xlarge"), Some(16));
        assert_eq!(expected_efa_devices("p4d.24xlarge"), Some(4));
        assert_eq!(expected_efa_devices(" p5.48xlarge\n"), Some(32));
        assert_eq!(expected_efa_devices("m5.large"), None);
    }

    #[test]
    fn evaluation_distinguishes_match_mismatch_and_unknown() {
        assert!(matches!(
            EfaCheck::evaluate(Some("p5.48xlarge"), 32),
            EfaCheck::Match { .. }
        ));
        let mismatch = EfaCheck::evaluate(Some("p5.48xlarge"), 31);
        assert!(matches!(
            mismatch,
            EfaCheck::Mismatch {
                expected: 32,
                found: 31,
                ..
            }
        ));
        assert!(mismatch.describe().contains("31 EFA devices found"));
        assert!(matches!(
            EfaCheck::evaluate(Some("c7i.large"), 0),
            EfaCheck::NotApplicable { .. }
        ));
        assert!(matches!(
            EfaCheck::evaluate(None, 4),
            EfaCheck::NotApplicable { .. }
        ));
    }

    #[test]
    fn efa_is_required_on_documented_types_from_the_flag_or_the_dmi_file() {
        let dir = tempfile::tempdir().unwrap();
        let dmi = dir.path().join("product_name");
        assert_eq!(efa_requirement(None, &dmi), None);
        std::fs::write(&dmi, "p5en.48xlarge\n").unwrap();
        let wanted = EfaRequirement {
            instance_type: "p5en.48xlarge".into(),
            devices: 16,
        };
        assert_eq!(efa_requirement(None, &dmi), Some(wanted));
        // The flag wins over the file, and a type without EFA requires nothing.
        assert_eq!(efa_requirement(Some("c7i.large"), &dmi), None);
        assert_eq!(
            efa_requirement(Some("p4d.24xlarge"), &dmi).map(|r| r.devices),
            Some(4)
        );
        std::fs::write(&dmi, "Standard PC (Q35 + ICH9, 2009)\n").unwrap();
        assert_eq!(efa_requirement(None, &dmi), None);
    }

    #[test]
    fn instance_type_is_read_and_trimmed_from_the_dmi_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("product_name");
        std::fs::write(&file, "p4d.24xlarge\n").unwrap();
        assert_eq!(detect_instance_type(&file).as_deref(), Some("p4d.24xlarge"));
        std::fs::write(&file, "\n").unwrap();
        assert_eq!(detect_instance_type(&file), None);
        assert_eq!(detect_instance_type(&dir.path().join("missing")), None);
    }
}
