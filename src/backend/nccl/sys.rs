//! Raw NCCL ABI: the C types of `nccl.h` and a table of function pointers resolved from the loaded
//! library. Nothing here checks anything; `comm.rs` is the safe layer.

#![allow(non_camel_case_types, non_snake_case)]

use std::ffi::{c_char, c_int, c_void};

pub type ncclResult_t = c_int;
pub type ncclDataType_t = c_int;
pub type ncclRedOp_t = c_int;
pub type ncclComm_t = *mut c_void;
pub type ncclWindow_t = *mut c_void;
pub type cudaStream_t = *mut c_void;

pub const NCCL_SUCCESS: ncclResult_t = 0;
/// `ncclInProgress`: returned by non-blocking communicators and by async-error queries mid-init.
pub const NCCL_IN_PROGRESS: ncclResult_t = 7;
/// `ncclScalarHostImmediate`: the pre-multiplier is read from host memory when the op is created.
pub const NCCL_SCALAR_HOST_IMMEDIATE: c_int = 1;
/// `NCCL_WIN_COLL_SYMMETRIC`: window registration for symmetric collectives (`-R 2`).
pub const NCCL_WIN_COLL_SYMMETRIC: c_int = 0x01;
pub const NCCL_UNIQUE_ID_BYTES: usize = 128;

/// `NCCL_CONFIG_UNDEF_INT`: a config field NCCL fills with its own default.
pub const NCCL_CONFIG_UNDEF_INT: c_int = c_int::MIN;
/// `ncclConfig_t::magic` as NCCL_CONFIG_INITIALIZER sets it.
pub const NCCL_CONFIG_MAGIC: u32 = 0xcafe_beef;
/// The NCCL release whose `ncclConfig_t` layout [`ncclConfig_t`] mirrors (`ncclConfig_v22800`).
/// NCCL reads a config by its `size` and `version`, so newer releases take it as it is.
pub const NCCL_CONFIG_VERSION: u32 = 22800;
/// NCCL 2.27's `ncclConfig_v22700`: the same fields up to `nvlsCTAs`.
pub const NCCL_CONFIG_VERSION_2_27: u32 = 22700;

/// `ncclConfig_t` of NCCL 2.28's nccl.h (`struct ncclConfig_v22800`), field for field.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ncclConfig_t {
    pub size: usize,
    pub magic: u32,
    pub version: u32,
    pub blocking: c_int,
    pub cgaClusterSize: c_int,
    pub minCTAs: c_int,
    pub maxCTAs: c_int,
    pub netName: *const c_char,
    pub splitShare: c_int,
    pub trafficClass: c_int,
    pub commName: *const c_char,
    pub collnetEnable: c_int,
    pub CTAPolicy: c_int,
    pub shrinkShare: c_int,
    pub nvlsCTAs: c_int,
    pub nChannelsPerNetPeer: c_int,
    pub nvlinkCentricSched: c_int,
}

impl ncclConfig_t {
    /// What `ncclConfig_t config = NCCL_CONFIG_INITIALIZER;` holds with the nccl.h of the NCCL
    /// release `version_code` (NCCL 2.27 or newer): size, magic and version set, every other field
    /// undefined (NCCL's default). NCCL 2.27 is given its own, shorter `ncclConfig_v22700` (the
    /// fields up to `nvlsCTAs`), so that it never meets a config version newer than itself.
    pub fn initializer(version_code: i32) -> ncclConfig_t {
        let (size, version) = if version_code >= NCCL_CONFIG_VERSION as i32 {
            (std::mem::size_of::<ncclConfig_t>(), NCCL_CONFIG_VERSION)
        } else {
            (
                std::mem::offset_of!(ncclConfig_t, nChannelsPerNetPeer),
                NCCL_CONFIG_VERSION_2_27,
            )
        };
        ncclConfig_t {
            size,
            magic: NCCL_CONFIG_MAGIC,
            version,
            blocking: NCCL_CONFIG_UNDEF_INT,
            cgaClusterSize: NCCL_CONFIG_UNDEF_INT,
            minCTAs: NCCL_CONFIG_UNDEF_INT,
            maxCTAs: NCCL_CONFIG_UNDEF_INT,
            netName: std::ptr::null(),
            splitShare: NCCL_CONFIG_UNDEF_INT,
            trafficClass: NCCL_CONFIG_UNDEF_INT,
            commName: std::ptr::null(),
            collnetEnable: NCCL_CONFIG_UNDEF_INT,
            CTAPolicy: NCCL_CONFIG_UNDEF_INT,
            shrinkShare: NCCL_CONFIG_UNDEF_INT,
            nvlsCTAs: NCCL_CONFIG_UNDEF_INT,
            nChannelsPerNetPeer: NCCL_CONFIG_UNDEF_INT,
            nvlinkCentricSched: NCCL_CONFIG_UNDEF_INT,
        }
    }
}

/// `ncclTeam_t` (nccl_device/core.h): a team's size, this rank's place in it, and the stride
/// between its members' world ranks.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ncclTeam_t {
    pub nRanks: c_int,
    pub rank: c_int,
    pub stride: c_int,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct ncclUniqueId {
    pub internal: [c_char; NCCL_UNIQUE_ID_BYTES],
}

pub type GetVersionFn = unsafe extern "C" fn(*mut c_int) -> ncclResult_t;
pub type GetUniqueIdFn = unsafe extern "C" fn(*mut ncclUniqueId) -> ncclResult_t;
pub type CommInitRankFn =
    unsafe extern "C" fn(*mut ncclComm_t, c_int, ncclUniqueId, c_int) -> ncclResult_t;
pub type CommInitRankConfigFn = unsafe extern "C" fn(
    *mut ncclComm_t,
    c_int,
    ncclUniqueId,
    c_int,
    *mut ncclConfig_t,
) -> ncclResult_t;
/// `ncclTeamLsa(ncclComm_t)`: the host-side query of the communicator's LSA team (NCCL 2.28).
pub type TeamFn = unsafe extern "C" fn(ncclComm_t) -> ncclTeam_t;
/// `ncclDevCommCreate(comm, const ncclDevCommRequirements*, ncclDevComm*)`, the structs opaque.
pub type DevCommCreateFn =
    unsafe extern "C" fn(ncclComm_t, *const c_void, *mut c_void) -> ncclResult_t;
/// `ncclDevCommDestroy(comm, const ncclDevComm*)`.
pub type DevCommDestroyFn = unsafe extern "C" fn(ncclComm_t, *const c_void) -> ncclResult_t;
pub type CommInitAllFn = unsafe extern "C" fn(*mut ncclComm_t, c_int, *const c_int) -> ncclResult_t;
pub type CommFn = unsafe extern "C" fn(ncclComm_t) -> ncclResult_t;
pub type GetErrorStringFn = unsafe extern "C" fn(ncclResult_t) -> *const c_char;
pub type GetLastErrorFn = unsafe extern "C" fn(ncclComm_t) -> *const c_char;
pub type CommGetAsyncErrorFn = unsafe extern "C" fn(ncclComm_t, *mut ncclResult_t) -> ncclResult_t;
pub type CommIntQueryFn = unsafe extern "C" fn(ncclComm_t, *mut c_int) -> ncclResult_t;
pub type GroupFn = unsafe extern "C" fn() -> ncclResult_t;
pub type AllReduceFn = unsafe extern "C" fn(
    *const c_void,
    *mut c_void,
    usize,
    ncclDataType_t,
    ncclRedOp_t,
    ncclComm_t,
    cudaStream_t,
) -> ncclResult_t;
pub type ReduceFn = unsafe extern "C" fn(
    *const c_void,
    *mut c_void,
    usize,
    ncclDataType_t,
    ncclRedOp_t,
    c_int,
    ncclComm_t,
    cudaStream_t,
) -> ncclResult_t;
/// `ncclBroadcast`, `ncclGather` and `ncclScatter` share this shape (rooted, no operator).
pub type RootedFn = unsafe extern "C" fn(
    *const c_void,
    *mut c_void,
    usize,
    ncclDataType_t,
    c_int,
    ncclComm_t,
    cudaStream_t,
) -> ncclResult_t;
/// `ncclAllGather` and `ncclAlltoAll` share this shape.
pub type UnrootedCopyFn = unsafe extern "C" fn(
    *const c_void,
    *mut c_void,
    usize,
    ncclDataType_t,
    ncclComm_t,
    cudaStream_t,
) -> ncclResult_t;
pub type SendFn = unsafe extern "C" fn(
    *const c_void,
    usize,
    ncclDataType_t,
    c_int,
    ncclComm_t,
    cudaStream_t,
) -> ncclResult_t;
pub type RecvFn = unsafe extern "C" fn(
    *mut c_void,
    usize,
    ncclDataType_t,
    c_int,
    ncclComm_t,
    cudaStream_t,
) -> ncclResult_t;
pub type RedOpCreatePreMulSumFn = unsafe extern "C" fn(
    *mut ncclRedOp_t,
    *mut c_void,
    ncclDataType_t,
    c_int,
    ncclComm_t,
) -> ncclResult_t;
pub type RedOpDestroyFn = unsafe extern "C" fn(ncclRedOp_t, ncclComm_t) -> ncclResult_t;
pub type CommRegisterFn =
    unsafe extern "C" fn(ncclComm_t, *mut c_void, usize, *mut *mut c_void) -> ncclResult_t;
pub type CommDeregisterFn = unsafe extern "C" fn(ncclComm_t, *mut c_void) -> ncclResult_t;
pub type CommWindowRegisterFn =
    unsafe extern "C" fn(ncclComm_t, *mut c_void, usize, *mut ncclWindow_t, c_int) -> ncclResult_t;
pub type CommWindowDeregisterFn = unsafe extern "C" fn(ncclComm_t, ncclWindow_t) -> ncclResult_t;
pub type MemAllocFn = unsafe extern "C" fn(*mut *mut c_void, usize) -> ncclResult_t;
pub type MemFreeFn = unsafe extern "C" fn(*mut c_void) -> ncclResult_t;

/// Symbols every supported NCCL (≥ 2.12) exports; a library missing one is rejected.
pub const REQUIRED_SYMBOLS: &[&str] = &[
    "ncclGetVersion",
    "ncclGetUniqueId",
    "ncclCommInitRank",
    "ncclCommInitAll",
    "ncclCommDestroy",
    "ncclCommAbort",
    "ncclCommGetAsyncError",
    "ncclCommCount",
    "ncclCommCuDevice",
    "ncclCommUserRank",
    "ncclGetErrorString",
    "ncclGetLastError",
    "ncclGroupStart",
    "ncclGroupEnd",
    "ncclAllReduce",
    "ncclReduce",
    "ncclBroadcast",
    "ncclAllGather",
    "ncclReduceScatter",
    "ncclSend",
    "ncclRecv",
];

/// Symbols used when present, with a fallback (or a clear "not supported") when absent.
pub const OPTIONAL_SYMBOLS: &[&str] = &[
    "ncclAlltoAll",
    "ncclGather",
    "ncclScatter",
    "ncclRedOpCreatePreMulSum",
    "ncclRedOpDestroy",
    "ncclCommRegister",
    "ncclCommDeregister",
    "ncclCommWindowRegister",
    "ncclCommWindowDeregister",
    "ncclMemAlloc",
    "ncclMemFree",
    "ncclCommInitRankConfig",
    "ncclDevCommCreate",
    "ncclDevCommDestroy",
    "ncclTeamLsa",
];

/// The resolved function table. Function pointers stay valid while the `libloading::Library` they
/// came from is alive; `loader::NcclLibrary` keeps both together.
#[derive(Clone, Copy)]
pub struct NcclApi {
    pub get_version: GetVersionFn,
    pub get_unique_id: GetUniqueIdFn,
    pub comm_init_rank: CommInitRankFn,
    pub comm_init_all: CommInitAllFn,
    pub comm_destroy: CommFn,
    pub comm_abort: CommFn,
    pub comm_get_async_error: CommGetAsyncErrorFn,
    pub comm_count: CommIntQueryFn,
    pub comm_cu_device: CommIntQueryFn,
    pub comm_user_rank: CommIntQueryFn,
    pub get_error_string: GetErrorStringFn,
    pub get_last_error: GetLastErrorFn,
    pub group_start: GroupFn,
    pub group_end: GroupFn,
    pub all_reduce: AllReduceFn,
    pub reduce: ReduceFn,
    pub broadcast: RootedFn,
    pub all_gather: UnrootedCopyFn,
    pub reduce_scatter: AllReduceFn,
    pub send: SendFn,
    pub recv: RecvFn,
    pub all_to_all: Option<UnrootedCopyFn>,
    pub gather: Option<RootedFn>,
    pub scatter: Option<RootedFn>,
    pub red_op_create_pre_mul_sum: Option<RedOpCreatePreMulSumFn>,
    pub red_op_destroy: Option<RedOpDestroyFn>,
    pub comm_register: Option<CommRegisterFn>,
    pub comm_deregister: Option<CommDeregisterFn>,
    pub comm_window_register: Option<CommWindowRegisterFn>,
    pub comm_window_deregister: Option<CommWindowDeregisterFn>,
    pub mem_alloc: Option<MemAllocFn>,
    pub mem_free: Option<MemFreeFn>,
    /// NCCL 2.14+: `-x` sets the config's CTAPolicy.
    pub comm_init_rank_config: Option<CommInitRankConfigFn>,
    /// The device API (NCCL 2.28+) that `-D` needs. The requirements and device-communicator
    /// structs are version-specific and not mirrored here: these two are only checked present.
    pub dev_comm_create: Option<DevCommCreateFn>,
    pub dev_comm_destroy: Option<DevCommDestroyFn>,
    pub team_lsa: Option<TeamFn>,
}

impl NcclApi {
    /// Forgets optional symbol `name` (see `loader::DISABLE_VAR`); required symbols stay.
    pub fn disable(&mut self, name: &str) {
        match name {
            "ncclAlltoAll" => self.all_to_all = None,
            "ncclGather" => self.gather = None,
            "ncclScatter" => self.scatter = None,
            "ncclRedOpCreatePreMulSum" => self.red_op_create_pre_mul_sum = None,
            "ncclRedOpDestroy" => self.red_op_destroy = None,
            "ncclCommRegister" => self.comm_register = None,
            "ncclCommDeregister" => self.comm_deregister = None,
            "ncclCommWindowRegister" => self.comm_window_register = None,
            "ncclCommWindowDeregister" => self.comm_window_deregister = None,
            "ncclMemAlloc" => self.mem_alloc = None,
            "ncclMemFree" => self.mem_free = None,
            "ncclCommInitRankConfig" => self.comm_init_rank_config = None,
            "ncclDevCommCreate" => self.dev_comm_create = None,
            "ncclDevCommDestroy" => self.dev_comm_destroy = None,
            "ncclTeamLsa" => self.team_lsa = None,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    /// Every field of `ncclConfig_t` with its offset in NCCL 2.28's nccl.h on x86_64 / aarch64
    /// (LP64: `size_t` and pointers 8 bytes, `int` 4), worked out from the header by hand.
    const CONFIG_FIELDS: &[(&str, usize)] = &[
        ("size", 0),
        ("magic", 8),
        ("version", 12),
        ("blocking", 16),
        ("cgaClusterSize", 20),
        ("minCTAs", 24),
        ("maxCTAs", 28),
        ("netName", 32),
        ("splitShare", 40),
        ("trafficClass", 44),
        ("commName", 48),
        ("collnetEnable", 56),
        ("CTAPolicy", 60),
        ("shrinkShare", 64),
        ("nvlsCTAs", 68),
        ("nChannelsPerNetPeer", 72),
        ("nvlinkCentricSched", 76),
    ];
    const CONFIG_SIZE: usize = 80;
    /// NCCL 2.27's `ncclConfig_v22700`: the fields up to `nvlsCTAs`.
    const CONFIG_SIZE_2_27: usize = 72;
    /// The fields 2.28 added.
    const FIELDS_SINCE_2_28: &[&str] = &["nChannelsPerNetPeer", "nvlinkCentricSched"];

    fn rust_offsets() -> Vec<(&'static str, usize)> {
        vec![
            ("size", offset_of!(ncclConfig_t, size)),
            ("magic", offset_of!(ncclConfig_t, magic)),
            ("version", offset_of!(ncclConfig_t, version)),
            ("blocking", offset_of!(ncclConfig_t, blocking)),
            ("cgaClusterSize", offset_of!(ncclConfig_t, cgaClusterSize)),
            ("minCTAs", offset_of!(ncclConfig_t, minCTAs)),
            ("maxCTAs", offset_of!(ncclConfig_t, maxCTAs)),
            ("netName", offset_of!(ncclConfig_t, netName)),
            ("splitShare", offset_of!(ncclConfig_t, splitShare)),
            ("trafficClass", offset_of!(ncclConfig_t, trafficClass)),
            ("commName", offset_of!(ncclConfig_t, commName)),
            ("collnetEnable", offset_of!(ncclConfig_t, collnetEnable)),
            ("CTAPolicy", offset_of!(ncclConfig_t, CTAPolicy)),
            ("shrinkShare", offset_of!(ncclConfig_t, shrinkShare)),
            ("nvlsCTAs", offset_of!(ncclConfig_t, nvlsCTAs)),
            (
                "nChannelsPerNetPeer",
                offset_of!(ncclConfig_t, nChannelsPerNetPeer),
            ),
            (
                "nvlinkCentricSched",
                offset_of!(ncclConfig_t, nvlinkCentricSched),
            ),
        ]
    }

    #[test]
    fn config_matches_the_nccl_2_28_layout() {
        assert_eq!(size_of::<ncclConfig_t>(), CONFIG_SIZE);
        assert_eq!(rust_offsets(), CONFIG_FIELDS.to_vec());
        // NCCL 2.27's ncclConfig_v22700 ends after nvlsCTAs.
        let config = ncclConfig_t::initializer(22703);
        assert_eq!((config.size, config.version), (CONFIG_SIZE_2_27, 22700));
        let config = ncclConfig_t::initializer(22809);
        assert_eq!(config.size, CONFIG_SIZE);
        assert_eq!((config.magic, config.version), (0xcafebeef, 22800));
        assert_eq!(config.CTAPolicy, i32::MIN);
        assert!(config.netName.is_null() && config.commName.is_null());
    }

    #[test]
    fn team_is_three_ints() {
        assert_eq!(size_of::<ncclTeam_t>(), 12);
        assert_eq!(offset_of!(ncclTeam_t, stride), 8);
    }

    /// With a real nccl.h of NCCL 2.27 or newer (COLLBENCH_NCCL_INCLUDE: its folder, e.g. the
    /// nvidia-nccl-cu13 wheel's nvidia/nccl/include) and a C compiler: the header's own offsetof
    /// (and for 2.27 and 2.28 its sizeof),
    /// compiled and run, agree with the struct above (the CUDA headers nccl.h includes are stood in for). Skipped
    /// without the header (CI has no NCCL).
    #[test]
    fn config_matches_the_installed_header_when_there_is_one() {
        let Some(include) = std::env::var_os("COLLBENCH_NCCL_INCLUDE") else {
            eprintln!("SKIPPED: COLLBENCH_NCCL_INCLUDE not set (the folder holding nccl.h)");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let mut program = String::from(
            "#include <stdio.h>\n#include <stddef.h>\n#include <nccl.h>\nint main(void) {\n",
        );
        program.push_str("  ncclConfig_t c = NCCL_CONFIG_INITIALIZER;\n");
        program.push_str("  printf(\"release %d\\n\", NCCL_VERSION_CODE);\n");
        program.push_str("  printf(\"sizeof %zu\\n\", sizeof(ncclConfig_t));\n");
        program.push_str("  printf(\"initializer_magic %u\\n\", c.magic);\n");
        for (field, _) in CONFIG_FIELDS {
            let line = format!("  printf(\"{field} %zu\\n\", offsetof(ncclConfig_t, {field}));\n");
            if FIELDS_SINCE_2_28.contains(field) {
                program.push_str(&format!("#if NCCL_VERSION_CODE >= 22800\n{line}#endif\n"));
            } else {
                program.push_str(&line);
            }
        }
        program.push_str("  return 0;\n}\n");
        // nccl.h includes the CUDA runtime's headers for cudaStream_t, cudaEvent_t and half; the config needs
        // none of them, so two stand-ins let it compile on a machine without the CUDA toolkit.
        let stubs = dir.path().join("cuda-stubs");
        std::fs::create_dir(&stubs).unwrap();
        std::fs::write(
            stubs.join("cuda_runtime.h"),
            "typedef struct CUstream_st *cudaStream_t;\ntypedef struct CUevent_st *cudaEvent_t;\n",
        )
        .unwrap();
        std::fs::write(stubs.join("cuda_fp16.h"), "").unwrap();
        let source = dir.path().join("layout.c");
        let binary = dir.path().join("layout");
        std::fs::write(&source, program).unwrap();
        let status = std::process::Command::new("cc")
            .arg("-I")
            .arg(&include)
            .arg("-I")
            .arg(&stubs)
            .arg(&source)
            .arg("-o")
            .arg(&binary)
            .status()
            .expect("run cc");
        assert!(
            status.success(),
            "cc could not compile against {include:?}/nccl.h"
        );
        let out = std::process::Command::new(&binary).output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let header: std::collections::HashMap<&str, u64> = text
            .lines()
            .filter_map(|line| line.split_once(' '))
            .map(|(name, value)| (name, value.parse().unwrap()))
            .collect();
        let release = header["release"];
        assert!(
            release >= 22700,
            "nccl.h of NCCL {release}: 2.27 or newer expected"
        );
        assert_eq!(header["initializer_magic"], u64::from(NCCL_CONFIG_MAGIC));
        // Releases append fields: the ones this release has keep their offsets.
        for (field, offset) in rust_offsets() {
            if release >= 22800 || !FIELDS_SINCE_2_28.contains(&field) {
                assert_eq!(
                    header[field], offset as u64,
                    "{field} in NCCL {release}'s nccl.h"
                );
            }
        }
        // For the layouts collbench knows, the size it declares is the header's own.
        if release < 22900 {
            let ours = ncclConfig_t::initializer(release as i32);
            assert_eq!(header["sizeof"], ours.size as u64, "NCCL {release}");
        }
    }
}
