//! nccl-tests 2.19.6's NCCL-feature flags: `-x` (the communicator's CTA policy), `-D` (kernels
//! written against NCCL's device API instead of NCCL's own collective) and `-V` (their CTA count).
//! What each value means and which collectives, types and operators have device kernels, as
//! nccl-tests defines them; the NCCL versions and the machine facts they need are checked by the
//! NCCL backend once it knows them (`crate::backend::nccl::requirements`).

use crate::types::{DataType, ReduceOp};

/// `-x`: `ncclConfig_t::CTAPolicy` (nccl.h's NCCL_CTA_POLICY_*).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtaPolicy {
    /// `NCCL_CTA_POLICY_DEFAULT`.
    Default = 0,
    /// `NCCL_CTA_POLICY_EFFICIENCY`.
    Efficiency = 1,
    /// `NCCL_CTA_POLICY_ZERO` (NCCL 2.28 and newer).
    Zero = 2,
}

impl CtaPolicy {
    /// The values `-x` accepts, for messages.
    pub const ACCEPTED: &'static str = "0 (NCCL_CTA_POLICY_DEFAULT), 1 \
                                        (NCCL_CTA_POLICY_EFFICIENCY) or 2 (NCCL_CTA_POLICY_ZERO)";

    pub fn from_flag(value: u64) -> Option<CtaPolicy> {
        match value {
            0 => Some(CtaPolicy::Default),
            1 => Some(CtaPolicy::Efficiency),
            2 => Some(CtaPolicy::Zero),
            _ => None,
        }
    }

    /// The `-x` value, which is also the value of `CTAPolicy`.
    pub fn flag(self) -> u8 {
        self as u8
    }
}

/// `-V` when not given: nccl-tests' `deviceCtaCount`.
pub const DEFAULT_DEVICE_CTA_COUNT: u32 = 16;
/// `-V` must be below 128 (nccl-tests' rule: "positive and less than 128").
pub const MAX_DEVICE_CTA_COUNT: u32 = 127;

/// What a device implementation needs from NCCL and the machine, beyond `-R 2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceNeeds {
    /// Lowest NCCL version code (`ncclGetVersion`) whose device API has these kernels' parts.
    pub min_nccl: i32,
    /// Every rank of the communicator is in one LSA (load/store accessible) team.
    pub one_lsa_team: bool,
    /// NVLink SHARP multimem: CU_DEVICE_ATTRIBUTE_MULTICAST_SUPPORTED on every GPU.
    pub multimem: bool,
    /// GPU-initiated networking (NCCL's GIN).
    pub gin: bool,
}

/// `-D N > 0` for one collective: the kernel nccl-tests runs, what it accepts and needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceKernel {
    /// The collective (as `crate::collectives` names it).
    pub collective: &'static str,
    /// The `-D` value.
    pub implementation: u8,
    /// nccl-tests' kernel name.
    pub kernel: &'static str,
    /// The element types the kernel is written for (`-d`).
    pub dtypes: &'static [DataType],
    pub needs: DeviceNeeds,
}

/// NCCL 2.28.0: the device API (ncclDevCommCreate, LSA pointers and barriers, multimem).
pub const DEVICE_API_NCCL: i32 = 22800;
/// NCCL 2.28.7: the GIN parts the alltoall kernels 3 and 4 use.
const GIN_NCCL: i32 = 22807;

/// nccl-tests' `SPECIALIZE_KERNEL` types: every type but bfloat16 and the fp8 types.
const LSA_TYPES: &[DataType] = &[
    DataType::Int8,
    DataType::Uint8,
    DataType::Int32,
    DataType::Uint32,
    DataType::Int64,
    DataType::Uint64,
    DataType::Half,
    DataType::Float,
    DataType::Double,
];
/// multimem_ops.h implements the multimem load-reduce and store for float and double only (the
/// other types reach an `assert(false)` on the device).
const MULTIMEM_TYPES: &[DataType] = &[DataType::Float, DataType::Double];

const LSA: DeviceNeeds = DeviceNeeds {
    min_nccl: DEVICE_API_NCCL,
    one_lsa_team: true,
    multimem: false,
    gin: false,
};
const MULTIMEM: DeviceNeeds = DeviceNeeds {
    multimem: true,
    ..LSA
};
const GIN: DeviceNeeds = DeviceNeeds {
    min_nccl: GIN_NCCL,
    one_lsa_team: false,
    multimem: false,
    gin: true,
};

/// nccl-tests 2.19.6's device kernels (src/all_reduce.cu, src/alltoall.cu); the other
/// collectives have none ("Device implementation N is not supported by this test").
pub const DEVICE_KERNELS: &[DeviceKernel] = &[
    kernel("all_reduce", 1, "allReduceLsaKernel", LSA_TYPES, LSA),
    kernel(
        "all_reduce",
        2,
        "allReduceLsaVectorizedKernel",
        LSA_TYPES,
        LSA,
    ),
    kernel(
        "all_reduce",
        3,
        "allReduceMultimemKernel",
        MULTIMEM_TYPES,
        MULTIMEM,
    ),
    kernel(
        "all_reduce",
        4,
        "allReduceMultimemVectorizedKernel",
        MULTIMEM_TYPES,
        MULTIMEM,
    ),
    kernel("alltoall", 1, "NvlAlltoAllKernel", LSA_TYPES, LSA),
    kernel("alltoall", 2, "NvlAlltoAllKernelOptimized", LSA_TYPES, LSA),
    kernel("alltoall", 3, "GinAlltoAllKernel", LSA_TYPES, GIN),
    kernel("alltoall", 4, "HybridAlltoAllKernel", LSA_TYPES, GIN),
];

const fn kernel(
    collective: &'static str,
    implementation: u8,
    kernel: &'static str,
    dtypes: &'static [DataType],
    needs: DeviceNeeds,
) -> DeviceKernel {
    DeviceKernel {
        collective,
        implementation,
        kernel,
        dtypes,
        needs,
    }
}

/// The device kernel `-D implementation` runs for `collective`, if nccl-tests has one.
pub fn find(collective: &str, implementation: u8) -> Option<&'static DeviceKernel> {
    DEVICE_KERNELS
        .iter()
        .find(|k| k.collective == collective && k.implementation == implementation)
}

/// `-D` values with a kernel for `collective` (empty: only 0).
pub fn implementations(collective: &str) -> Vec<u8> {
    DEVICE_KERNELS
        .iter()
        .filter(|k| k.collective == collective)
        .map(|k| k.implementation)
        .collect()
}

/// The collectives with device kernels, in table order.
pub fn collectives_with_kernels() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = DEVICE_KERNELS.iter().map(|k| k.collective).collect();
    names.dedup();
    names
}

/// The kernels reduce with a sum and nothing else (nccl-tests' `SPECIALIZE_KERNEL` gives no
/// kernel for another operator).
pub const DEVICE_OPS: &[ReduceOp] = &[ReduceOp::Sum];

/// The `-D`/`-V` settings of a run: `None` when `-D 0` (NCCL's own collectives).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceImplementation {
    pub kernel: &'static DeviceKernel,
    /// `-V`: CTAs of each kernel launch, and the LSA barriers (or GIN signals) it asks for.
    pub cta_count: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_reduce_and_alltoall_have_kernels_1_to_4_and_nothing_else_has_any() {
        assert_eq!(implementations("all_reduce"), vec![1, 2, 3, 4]);
        assert_eq!(implementations("alltoall"), vec![1, 2, 3, 4]);
        for collective in crate::collectives::REGISTRY {
            let name = collective.name();
            if name != "all_reduce" && name != "alltoall" {
                assert!(implementations(name).is_empty(), "{name}");
            }
        }
        assert!(find("all_reduce", 5).is_none());
        assert!(find("broadcast", 1).is_none());
    }

    #[test]
    fn multimem_kernels_take_float_and_double_and_need_multicast() {
        for implementation in [3, 4] {
            let k = find("all_reduce", implementation).unwrap();
            assert_eq!(k.dtypes, &[DataType::Float, DataType::Double]);
            assert!(k.needs.multimem && k.needs.one_lsa_team && !k.needs.gin);
        }
        let k = find("all_reduce", 1).unwrap();
        assert!(!k.needs.multimem && k.needs.one_lsa_team);
        assert!(!k.dtypes.contains(&DataType::Bfloat16));
        let gin = find("alltoall", 3).unwrap();
        assert!(gin.needs.gin && !gin.needs.one_lsa_team);
        assert_eq!(gin.needs.min_nccl, 22807);
    }

    #[test]
    fn cta_policies_are_nccl_values() {
        assert_eq!(CtaPolicy::from_flag(0), Some(CtaPolicy::Default));
        assert_eq!(CtaPolicy::from_flag(2).map(CtaPolicy::flag), Some(2));
        assert_eq!(CtaPolicy::from_flag(3), None);
    }
}
