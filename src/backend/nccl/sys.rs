//! Raw NCCL ABI: the C types of `nccl.h` and a table of function pointers resolved from the loaded
//! library. Nothing here checks anything; `comm.rs` is the safe layer.

#![allow(non_camel_case_types)]

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

#[repr(C)]
#[derive(Clone, Copy)]
pub struct ncclUniqueId {
    pub internal: [c_char; NCCL_UNIQUE_ID_BYTES],
}

pub type GetVersionFn = unsafe extern "C" fn(*mut c_int) -> ncclResult_t;
pub type GetUniqueIdFn = unsafe extern "C" fn(*mut ncclUniqueId) -> ncclResult_t;
pub type CommInitRankFn =
    unsafe extern "C" fn(*mut ncclComm_t, c_int, ncclUniqueId, c_int) -> ncclResult_t;
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
            _ => {}
        }
    }
}
