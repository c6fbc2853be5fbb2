//! What `-x` and `-D` need of the loaded NCCL and of the machine, checked where the NCCL backend
//! learns each fact: the library's version and symbols right after loading it (before any GPU is
//! touched), multicast support once the GPUs are open, the LSA team once the communicators exist.
//! Each unmet need is an `Unsupported` error (exit 6) naming it, what was found and what would be
//! accepted.

use super::comm::CommConfig;
use super::loader::{version_string, NcclLibrary};
use crate::error::{CollbenchError, Result};
use crate::plan::device_api::{CtaPolicy, DeviceImplementation, DeviceKernel};
use crate::plan::flags::{CTA_POLICY, DEVICE_IMPLEMENTATION};

/// NCCL 2.27.0: the communicator config's CTAPolicy.
pub const CTA_POLICY_NCCL: i32 = 22700;
/// NCCL 2.28.0: CTA policies above 1.
pub const CTA_POLICY_ZERO_NCCL: i32 = 22800;

/// The facts of a loaded NCCL the checks read (a plain struct: tests state them directly).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LibraryFacts {
    pub version_code: i32,
    pub path: String,
    pub has_init_rank_config: bool,
    /// ncclDevCommCreate, ncclDevCommDestroy and ncclTeamLsa are all exported.
    pub has_device_api: bool,
}

impl LibraryFacts {
    pub fn of(lib: &NcclLibrary) -> LibraryFacts {
        let api = &lib.api;
        LibraryFacts {
            version_code: lib.version_code,
            path: lib.path.clone(),
            has_init_rank_config: api.comm_init_rank_config.is_some(),
            has_device_api: api.dev_comm_create.is_some()
                && api.dev_comm_destroy.is_some()
                && api.team_lsa.is_some(),
        }
    }

    fn loaded(&self) -> String {
        format!(
            "the loaded NCCL {} ({})",
            version_string(self.version_code),
            self.path
        )
    }
}

/// How the communicators are made for `-x`: with this config (`None`: ncclCommInitRank, as
/// without `-x`), and the notice nccl-tests prints before its banner when it ignores `-x`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CtaPolicySetting {
    pub config: Option<CommConfig>,
    pub notice: Option<String>,
}

/// `-x`: NCCL 2.27 or newer with ncclCommInitRankConfig. Like nccl-tests, a policy above 1 on
/// NCCL 2.27 is ignored with its notice (NCCL 2.27 has no NCCL_CTA_POLICY_ZERO).
pub fn cta_policy(facts: &LibraryFacts, policy: Option<CtaPolicy>) -> Result<CtaPolicySetting> {
    let Some(policy) = policy else {
        return Ok(CtaPolicySetting::default());
    };
    let value = policy.flag();
    if facts.version_code < CTA_POLICY_NCCL || !facts.has_init_rank_config {
        return Err(CollbenchError::Unsupported(format!(
            "{} {value} needs NCCL {} or newer (the communicator config's CTAPolicy, set \
             through ncclCommInitRankConfig); {} is older; accepted with this NCCL: no {}",
            CTA_POLICY.flag,
            version_string(CTA_POLICY_NCCL),
            facts.loaded(),
            CTA_POLICY.flag.shortest()
        )));
    }
    if value > 1 && facts.version_code < CTA_POLICY_ZERO_NCCL {
        return Ok(CtaPolicySetting {
            config: None,
            notice: Some(format!(
                "Option -x (cta_policy) {value} is not supported before NCCL 2.28. Ignoring"
            )),
        });
    }
    Ok(CtaPolicySetting {
        config: Some(CommConfig {
            cta_policy: Some(value),
        }),
        notice: None,
    })
}

/// What `-x` and `-D` need of NCCL, for the error when no NCCL could be loaded at all.
pub fn needed_release(
    policy: Option<CtaPolicy>,
    device: Option<&DeviceImplementation>,
) -> Option<String> {
    let cta = policy.map(|p| {
        format!(
            "{} {} needs NCCL {} or newer",
            CTA_POLICY.flag,
            p.flag(),
            version_string(if p.flag() > 1 {
                CTA_POLICY_ZERO_NCCL
            } else {
                CTA_POLICY_NCCL
            })
        )
    });
    let kernels = device.map(|d| {
        format!(
            "{} needs NCCL {} or newer",
            named(d.kernel),
            version_string(d.kernel.needs.min_nccl)
        )
    });
    let needs: Vec<String> = cta.into_iter().chain(kernels).collect();
    (!needs.is_empty()).then(|| needs.join("; "))
}

/// `-D N (kernel)` for messages.
fn named(kernel: &DeviceKernel) -> String {
    format!(
        "{} {} ({})",
        DEVICE_IMPLEMENTATION.flag, kernel.implementation, kernel.kernel
    )
}

/// `-D`: the NCCL release with the device API the kernel uses.
pub fn device_api(facts: &LibraryFacts, device: Option<&DeviceImplementation>) -> Result<()> {
    let Some(device) = device else {
        return Ok(());
    };
    let kernel = device.kernel;
    let needed = kernel.needs.min_nccl;
    if facts.version_code < needed || !facts.has_device_api {
        return Err(CollbenchError::Unsupported(format!(
            "{} needs NCCL {} or newer (the device API: ncclDevCommCreate, ncclTeamLsa{}); {} {}; \
             accepted with this NCCL: -D 0",
            named(kernel),
            version_string(needed),
            if kernel.needs.gin { ", GIN" } else { "" },
            facts.loaded(),
            if facts.version_code < needed {
                "is older"
            } else {
                "lacks those symbols"
            }
        )));
    }
    Ok(())
}

/// One local GPU's answer to CU_DEVICE_ATTRIBUTE_MULTICAST_SUPPORTED.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MulticastSupport {
    pub ordinal: usize,
    pub name: String,
    pub supported: bool,
}

/// `-D 3/4` of all_reduce: multimem on every local GPU.
pub fn multicast(device: Option<&DeviceImplementation>, gpus: &[MulticastSupport]) -> Result<()> {
    let Some(kernel) = device.map(|d| d.kernel).filter(|k| k.needs.multimem) else {
        return Ok(());
    };
    match gpus.iter().find(|g| !g.supported) {
        Some(gpu) => Err(CollbenchError::Unsupported(format!(
            "{} needs multimem (NVLink SHARP multicast) on every GPU, but GPU {} ({}) reports \
             CU_DEVICE_ATTRIBUTE_MULTICAST_SUPPORTED = 0; accepted here: -D 1 or -D 2 (LSA \
             kernels), or -D 0",
            named(kernel),
            gpu.ordinal,
            gpu.name
        ))),
        None => Ok(()),
    }
}

/// `-D` kernels that load and store peers' memory: every rank in one LSA team. `lsa_sizes`: each
/// local rank's global rank and its ncclTeamLsa size.
pub fn one_lsa_team(
    device: Option<&DeviceImplementation>,
    nranks: usize,
    lsa_sizes: &[(usize, usize)],
) -> Result<()> {
    let Some(kernel) = device.map(|d| d.kernel).filter(|k| k.needs.one_lsa_team) else {
        return Ok(());
    };
    match lsa_sizes.iter().find(|(_, size)| *size != nranks) {
        Some((rank, size)) => Err(CollbenchError::Unsupported(format!(
            "{} needs every rank in one LSA team (CUDA P2P load/store access to each other's \
             memory, e.g. one NVLink domain), but rank {rank}'s LSA team holds {size} of the \
             {nranks} ranks; accepted here: -D 0, or ranks that share one NVLink domain",
            named(kernel)
        ))),
        None => Ok(()),
    }
}

/// Where `-D` stops once every requirement above is met: collbench does not run the device
/// kernels yet (they need NVRTC builds against the NCCL device headers and the device
/// communicator's version-specific structs).
pub fn device_kernels_not_implemented(
    device: &DeviceImplementation,
    nranks: usize,
) -> CollbenchError {
    let kernel = device.kernel;
    let met = if kernel.needs.gin {
        "NCCL version and -R 2 checked; GIN support is only known to ncclDevCommCreate".to_string()
    } else {
        format!("NCCL version, -R 2 and one LSA team of {nranks} ranks checked")
    };
    CollbenchError::Unsupported(format!(
        "{} -V {}: the requirements are met ({met}), but collbench does not implement nccl-tests' \
         device-API kernels yet; accepted: -D 0 (NCCL's own {})",
        named(kernel),
        device.cta_count,
        kernel.collective
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::device_api;

    fn facts(version_code: i32) -> LibraryFacts {
        LibraryFacts {
            version_code,
            path: "/x/libnccl.so.2".into(),
            has_init_rank_config: true,
            has_device_api: version_code >= 22800,
        }
    }

    fn device(collective: &str, implementation: u8) -> DeviceImplementation {
        DeviceImplementation {
            kernel: device_api::find(collective, implementation).unwrap(),
            cta_count: 16,
        }
    }

    #[test]
    fn cta_policy_needs_nccl_2_27_and_ignores_2_before_2_28_with_nccl_tests_notice() {
        assert_eq!(cta_policy(&facts(22603), None).unwrap(), Default::default());
        let err = cta_policy(&facts(22603), Some(CtaPolicy::Efficiency)).unwrap_err();
        assert_eq!(err.exit_code(), 6);
        assert_eq!(
            err.to_string(),
            "not supported: -x/--cta_policy 1 needs NCCL 2.27.0 or newer (the communicator \
             config's CTAPolicy, set through ncclCommInitRankConfig); the loaded NCCL 2.26.3 \
             (/x/libnccl.so.2) is older; accepted with this NCCL: no -x"
        );
        let without_symbol = LibraryFacts {
            has_init_rank_config: false,
            ..facts(22703)
        };
        assert!(cta_policy(&without_symbol, Some(CtaPolicy::Default)).is_err());

        let ignored = cta_policy(&facts(22703), Some(CtaPolicy::Zero)).unwrap();
        assert_eq!(ignored.config, None);
        assert_eq!(
            ignored.notice.as_deref(),
            Some("Option -x (cta_policy) 2 is not supported before NCCL 2.28. Ignoring")
        );
        let set = cta_policy(&facts(22703), Some(CtaPolicy::Efficiency)).unwrap();
        assert_eq!(set.config.unwrap().cta_policy, Some(1));
        let zero = cta_policy(&facts(22809), Some(CtaPolicy::Zero)).unwrap();
        assert_eq!(
            (zero.config.unwrap().cta_policy, zero.notice),
            (Some(2), None)
        );
    }

    #[test]
    fn without_nccl_the_releases_the_flags_need_are_named() {
        assert_eq!(needed_release(None, None), None);
        assert_eq!(
            needed_release(Some(CtaPolicy::Zero), Some(&device("alltoall", 4))).unwrap(),
            "-x/--cta_policy 2 needs NCCL 2.28.0 or newer; -D/--device_implementation 4 \
             (HybridAlltoAllKernel) needs NCCL 2.28.7 or newer"
        );
    }

    #[test]
    fn device_kernels_need_the_device_api_of_their_release() {
        device_api(&facts(22703), None).unwrap();
        let err = device_api(&facts(22703), Some(&device("all_reduce", 1))).unwrap_err();
        assert_eq!(err.exit_code(), 6);
        let msg = err.to_string();
        assert!(
            msg.contains("-D/--device_implementation 1 (allReduceLsaKernel) needs NCCL 2.28.0")
                && msg.contains("the loaded NCCL 2.27.3 (/x/libnccl.so.2) is older")
                && msg.ends_with("accepted with this NCCL: -D 0"),
            "{msg}"
        );
        device_api(&facts(22800), Some(&device("all_reduce", 4))).unwrap();
        // GIN kernels: 2.28.7.
        let err = device_api(&facts(22803), Some(&device("alltoall", 3))).unwrap_err();
        assert!(err.to_string().contains("needs NCCL 2.28.7"), "{err}");
        device_api(&facts(22809), Some(&device("alltoall", 3))).unwrap();
        let stripped = LibraryFacts {
            has_device_api: false,
            ..facts(22809)
        };
        let err = device_api(&stripped, Some(&device("alltoall", 1))).unwrap_err();
        assert!(err.to_string().contains("lacks those symbols"), "{err}");
    }

    #[test]
    fn multimem_kernels_need_multicast_on_every_gpu() {
        let gpus = |second: bool| {
            vec![
                MulticastSupport {
                    ordinal: 0,
                    name: "H100".into(),
                    supported: true,
                },
                MulticastSupport {
                    ordinal: 1,
                    name: "A100".into(),
                    supported: second,
                },
            ]
        };
        multicast(Some(&device("all_reduce", 3)), &gpus(true)).unwrap();
        multicast(Some(&device("all_reduce", 1)), &gpus(false)).unwrap();
        let err = multicast(Some(&device("all_reduce", 4)), &gpus(false)).unwrap_err();
        assert_eq!(err.exit_code(), 6);
        assert!(
            err.to_string()
                .contains("GPU 1 (A100) reports CU_DEVICE_ATTRIBUTE_MULTICAST_SUPPORTED = 0"),
            "{err}"
        );
    }

    #[test]
    fn lsa_kernels_need_every_rank_in_one_lsa_team() {
        one_lsa_team(Some(&device("all_reduce", 1)), 8, &[(0, 8), (1, 8)]).unwrap();
        // GIN kernels reach ranks outside the LSA team.
        one_lsa_team(Some(&device("alltoall", 3)), 16, &[(0, 8)]).unwrap();
        let err = one_lsa_team(Some(&device("alltoall", 2)), 16, &[(8, 8)]).unwrap_err();
        assert_eq!(err.exit_code(), 6);
        assert!(
            err.to_string()
                .contains("rank 8's LSA team holds 8 of the 16 ranks"),
            "{err}"
        );
    }

    #[test]
    fn met_requirements_still_end_in_a_clear_not_implemented() {
        let err = device_kernels_not_implemented(&device("all_reduce", 2), 8);
        assert_eq!(err.exit_code(), 6);
        let msg = err.to_string();
        assert!(
            msg.contains("(allReduceLsaVectorizedKernel) -V 16")
                && msg.contains("does not implement nccl-tests' device-API kernels")
                && msg.ends_with("accepted: -D 0 (NCCL's own all_reduce)"),
            "{msg}"
        );
    }
}
