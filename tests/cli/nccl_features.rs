//! `-x/--cta_policy`, `-D/--device_implementation` and `-V/--device_cta_count` on the command line:
//! nccl-tests 2.19.6's values, the rules it applies while parsing (`-D > 0` needs `-R 2`), the
//! collectives, types and operator it has device kernels for, and collbench's refusals where
//! nccl-tests silently takes a value that does nothing or fails later. What needs the loaded NCCL
//! or a GPU is in tests/gpu/nccl_versions.rs and the backend's unit tests.

use crate::support::cli::*;
use collbench::collectives::{find, Collective};
use collbench::plan::device_api::CtaPolicy;
use std::sync::LazyLock;

static ALLTOALL_COLLECTIVE: LazyLock<&'static dyn Collective> =
    LazyLock::new(|| find("alltoall").expect("alltoall is registered"));

#[test]
fn cta_policy_takes_nccls_three_policies_and_is_unset_by_default() {
    assert_eq!(plan(REDUCTION, &[]).gpu.cta_policy, None);
    for (text, policy) in [
        ("0", CtaPolicy::Default),
        ("1", CtaPolicy::Efficiency),
        ("2", CtaPolicy::Zero),
        ("0x2", CtaPolicy::Zero),
    ] {
        let plan = plan(REDUCTION, &["--cta_policy", text]);
        assert_eq!(plan.gpu.cta_policy, Some(policy), "-x {text}");
    }
    for bad in ["3", "-1", "one", ""] {
        assert_usage_error(
            parse(REDUCTION, &["-x", bad]),
            &format!("-x {bad}"),
            &[
                "-x/--cta_policy",
                &format!("'{bad}'"),
                "accepted: 0 (NCCL_CTA_POLICY_DEFAULT), 1 (NCCL_CTA_POLICY_EFFICIENCY) or 2",
            ],
        );
    }
}

#[test]
fn device_implementations_are_those_nccl_tests_has_kernels_for() {
    assert_eq!(plan(REDUCTION, &[]).gpu.device_implementation, None);
    assert_eq!(
        plan(REDUCTION, &["-D", "0"]).gpu.device_implementation,
        None
    );
    for (collective, implementation, kernel) in [
        (REDUCTION, "1", "allReduceLsaKernel"),
        (REDUCTION, "2", "allReduceLsaVectorizedKernel"),
        (REDUCTION, "3", "allReduceMultimemKernel"),
        (REDUCTION, "4", "allReduceMultimemVectorizedKernel"),
        (*ALLTOALL_COLLECTIVE, "1", "NvlAlltoAllKernel"),
        (*ALLTOALL_COLLECTIVE, "2", "NvlAlltoAllKernelOptimized"),
        (*ALLTOALL_COLLECTIVE, "3", "GinAlltoAllKernel"),
        (*ALLTOALL_COLLECTIVE, "4", "HybridAlltoAllKernel"),
    ] {
        let plan = plan(collective, &["-D", implementation, "-R", "2"]);
        let device = plan.gpu.device_implementation.expect("-D > 0");
        assert_eq!(device.kernel.kernel, kernel);
        assert_eq!(device.cta_count, 16, "nccl-tests' default -V");
    }
    let plan = plan(
        REDUCTION,
        &[
            "--device_implementation",
            "2",
            "-R",
            "2",
            "--device_cta_count",
            "127",
        ],
    );
    assert_eq!(plan.gpu.device_implementation.unwrap().cta_count, 127);
}

#[test]
fn device_implementation_refusals_name_the_value_and_what_is_accepted() {
    // nccl-tests reads any int; values outside 0-4 exist for no collective.
    assert_usage_error(
        parse(REDUCTION, &["-D", "5", "-R", "2"]),
        "-D 5",
        &["-D/--device_implementation", "'5'", "from 0 to 4"],
    );
    // nccl-tests: "device implementation (-D > 0) requires enabling symmetric memory
    // registration (-R 2)".
    assert_usage_error(
        parse(REDUCTION, &["-D", "3", "-R", "1"]),
        "-D 3 -R 1",
        &[
            "-D/--device_implementation 3 requires symmetric memory registration",
            "-R/--local_register is 1",
            "accepted: -R 2 with -D > 0, or -D 0",
        ],
    );
    // nccl-tests: "Device implementation 1 is not supported by this test", after starting NCCL.
    assert_usage_error(
        parse(ROOTED, &["-D", "1", "-R", "2"]),
        "broadcast -D 1",
        &[
            "-D/--device_implementation '1'",
            "broadcast has no device implementation 1",
            "accepted: -D 0: nccl-tests has device kernels only for all_reduce and alltoall",
        ],
    );
    // The multimem loads and stores exist for float and double only.
    assert_usage_error(
        parse(REDUCTION, &["-D", "3", "-R", "2", "-d", "int32"]),
        "-D 3 -d int32",
        &[
            "(allReduceMultimemKernel) has no kernel for -d int32",
            "accepted with it: -d float, double",
        ],
    );
    // No kernel for bfloat16 or fp8 (nccl-tests fails at run time), nor for -d all.
    assert_usage_error(
        parse(*ALLTOALL_COLLECTIVE, &["-D", "1", "-R", "2", "-d", "all"]),
        "alltoall -D 1 -d all",
        &["has no kernel for -d bfloat16", "int8, uint8, int32"],
    );
    // The kernels only sum.
    assert_usage_error(
        parse(REDUCTION, &["-D", "1", "-R", "2", "-o", "max"]),
        "-D 1 -o max",
        &[
            "only sums; -o max has no kernel",
            "accepted with it: -o sum",
        ],
    );
    assert_usage_error(
        parse(REDUCTION, &["-D", "2", "-R", "2", "-o", "all"]),
        "-D 2 -o all",
        &["-o prod has no kernel"],
    );
    // alltoall has no operator, so -o is checked and ignored as without -D.
    plan(*ALLTOALL_COLLECTIVE, &["-D", "2", "-R", "2", "-o", "max"]);
}

#[test]
fn device_cta_count_is_1_to_127_and_only_with_device_kernels() {
    for bad in ["0", "128", "-4"] {
        assert_usage_error(
            parse(REDUCTION, &["-D", "1", "-R", "2", "-V", bad]),
            &format!("-V {bad}"),
            &[
                "-V/--device_cta_count",
                &format!("'{bad}'"),
                "from 1 to 127",
            ],
        );
    }
    // nccl-tests takes -V and ignores it without -D.
    assert_usage_error(
        parse(REDUCTION, &["-V", "32"]),
        "-V without -D",
        &[
            "-V/--device_cta_count '32'",
            "but -D is 0",
            "accepted: -V with -D 1 or more, or no -V",
        ],
    );
}

#[test]
fn the_host_backend_refuses_cta_policy_and_device_kernels() {
    assert_usage_error(
        plan(REDUCTION, &["-x", "0"]).require_gpu_flags_unused("mpi"),
        "-x 0 on mpi",
        &[
            "-x/--cta_policy 0 (NCCL CTA policy) only means something on GPUs",
            "and no -x",
        ],
    );
    assert_usage_error(
        plan(REDUCTION, &["-D", "1", "-R", "2", "-V", "8"]).require_gpu_flags_unused("mpi"),
        "-D 1 on mpi",
        &[
            "-R/--local_register 2 (NCCL buffer registration)",
            "-D/--device_implementation 1 (NCCL device-API kernels)",
            "-D 0 (the defaults)",
        ],
    );
}

#[test]
fn ranks_agree_on_the_policy_and_the_kernels() {
    let fields = |flags: &[&str]| plan(REDUCTION, flags).agreement_fields();
    let field = |flags: &[&str], name: &str| {
        fields(flags)
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
            .unwrap()
    };
    assert_ne!(
        field(&["-x", "1"], "-x/--cta_policy"),
        field(&[], "-x/--cta_policy")
    );
    let with = ["-D", "1", "-R", "2", "-V", "8"];
    assert_eq!(field(&with, "-D/--device_implementation"), "1");
    assert_eq!(field(&with, "-V/--device_cta_count"), "8");
    assert_eq!(field(&[], "-V/--device_cta_count"), "0");
}
