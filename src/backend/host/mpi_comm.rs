//! The MPI transport of the host backend (feature `mpi`): a thin layer over the MPI C calls on a
//! private duplicate of the group communicator. All `unsafe` of the host backend lives here; every
//! call first checks that counts fit the slices it is given.
//!
//! Half, bfloat16 and fp8 have no MPI datatype: they travel as 16/8-bit unsigned integers and are
//! reduced by user-defined MPI operators that decode, combine and round (see `elementwise`).
//! int8 and uint8 reductions also use our operators: Open MPI 4.1's AVX operator component
//! *saturates* 8-bit sums (open-mpi/ompi#8045, "wontfix"), while NCCL and C unsigned arithmetic
//! wrap; with the built-in MPI_SUM a healthy machine would report wrong results.
//! Errors are returned (MPI_ERRORS_RETURN) and become `CollbenchError::Mpi` (exit 5).

use super::blockwise::combine;
use super::elementwise::WireOp;
use super::transport::{check_disjoint, checked_bytes, Sink, Source, Transfer, Transport};
use crate::error::{CollbenchError, Result};
use crate::types::DataType;
use mpi::ffi;
use mpi::traits::AsRaw;
use std::os::raw::{c_char, c_int, c_void};

extern "C" {
    /// MPI_IN_PLACE, exported by src/backend/host/mpi_shim.c (it is a macro in mpi.h).
    fn collbench_mpi_in_place() -> *mut c_void;
}

/// Types reduced by user-defined operators (no MPI datatype, or MPI's 8-bit sums saturate), in
/// table order.
const USER_OP_TYPES: [DataType; 6] = [
    DataType::Half,
    DataType::Bfloat16,
    DataType::Fp8E4M3,
    DataType::Fp8E5M2,
    DataType::Int8,
    DataType::Uint8,
];

/// From this many bytes, an out-of-place broadcast root copies its data into its own output while
/// MPI_Ibcast sends it; below, a non-blocking collective's set-up costs more than the copy.
const OVERLAPPED_BROADCAST_BYTES: usize = 64 << 10;

/// The user function for (USER_OP_TYPES[T], WireOp::ALL[O]).
unsafe extern "C" fn user_reduce<const T: usize, const O: usize>(
    invec: *mut c_void,
    inoutvec: *mut c_void,
    len: *mut c_int,
    _datatype: *mut ffi::MPI_Datatype,
) {
    let dtype = USER_OP_TYPES[T];
    let bytes = (*len).max(0) as usize * dtype.size_bytes();
    // SAFETY: MPI passes two buffers of `len` elements of the datatype the operator was used with
    // (an 8/16-bit integer type of exactly this element size).
    let input = std::slice::from_raw_parts(invec as *const u8, bytes);
    let inout = std::slice::from_raw_parts_mut(inoutvec as *mut u8, bytes);
    // A panic must not unwind into C.
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        combine(dtype, WireOp::ALL[O], input, inout)
    }))
    .is_err()
    {
        std::process::abort();
    }
}

type UserFunction =
    unsafe extern "C" fn(*mut c_void, *mut c_void, *mut c_int, *mut ffi::MPI_Datatype);

macro_rules! user_functions_for {
    ($t:literal) => {
        [
            user_reduce::<$t, 0> as UserFunction,
            user_reduce::<$t, 1> as UserFunction,
            user_reduce::<$t, 2> as UserFunction,
            user_reduce::<$t, 3> as UserFunction,
        ]
    };
}

const USER_FUNCTIONS: [[UserFunction; 4]; 6] = [
    user_functions_for!(0),
    user_functions_for!(1),
    user_functions_for!(2),
    user_functions_for!(3),
    user_functions_for!(4),
    user_functions_for!(5),
];

/// MPI on a private communicator.
pub struct MpiTransport {
    comm: ffi::MPI_Comm,
    rank: usize,
    nranks: usize,
    /// [type][op] handles for USER_OP_TYPES (created here, freed on drop).
    user_ops: [[ffi::MPI_Op; 4]; 6],
    /// The operator for every (DataType as index, WireOp as index), resolved once: looking it up
    /// per call shows at 8 B.
    ops: [[ffi::MPI_Op; 4]; DataType::ALL.len()],
    requests: Vec<ffi::MPI_Request>,
}

fn error_text(code: c_int) -> String {
    let mut buffer = vec![0 as c_char; ffi::MPI_MAX_ERROR_STRING as usize + 1];
    let mut len: c_int = 0;
    // SAFETY: the buffer holds MPI_MAX_ERROR_STRING characters as MPI_Error_string requires.
    let status = unsafe { ffi::MPI_Error_string(code, buffer.as_mut_ptr(), &mut len) };
    if status != 0 {
        return format!("MPI error code {code}");
    }
    let bytes: Vec<u8> = buffer[..len.max(0) as usize]
        .iter()
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn in_place_off_root(call: &str) -> CollbenchError {
    CollbenchError::Mpi(format!("{call}: MPI_IN_PLACE is only valid at the root"))
}

fn builtin_op(op: WireOp) -> ffi::MPI_Op {
    // SAFETY: reading the MPI library's predefined operator handles.
    unsafe {
        match op {
            WireOp::Sum => ffi::RSMPI_SUM,
            WireOp::Prod => ffi::RSMPI_PROD,
            WireOp::Min => ffi::RSMPI_MIN,
            WireOp::Max => ffi::RSMPI_MAX,
        }
    }
}

// The checks below run on every operation of a timed loop; their errors are built out of line
// (cold), so the calls that pass stay a compare and a branch.

#[inline]
fn check(call: &str, rank: usize, code: c_int) -> Result<()> {
    if code == ffi::MPI_SUCCESS as c_int {
        Ok(())
    } else {
        Err(call_failed(call, rank, code))
    }
}

#[cold]
#[inline(never)]
fn call_failed(call: &str, rank: usize, code: c_int) -> CollbenchError {
    CollbenchError::Mpi(format!(
        "{call} failed on rank {rank}: {}",
        error_text(code)
    ))
}

#[inline]
fn count_arg(call: &str, count: usize) -> Result<c_int> {
    c_int::try_from(count).map_err(|_| count_too_large(call, count))
}

#[cold]
#[inline(never)]
fn count_too_large(call: &str, count: usize) -> CollbenchError {
    CollbenchError::Unsupported(format!(
        "{call} of {count} elements: MPI counts are limited to {} elements on the mpi backend; \
         lower -e/--maxbytes",
        c_int::MAX
    ))
}

#[inline]
fn datatype(dtype: DataType) -> ffi::MPI_Datatype {
    // SAFETY: reading the MPI library's predefined datatype handles.
    unsafe {
        match dtype {
            DataType::Int8 => ffi::RSMPI_INT8_T,
            DataType::Uint8 | DataType::Fp8E4M3 | DataType::Fp8E5M2 => ffi::RSMPI_UINT8_T,
            DataType::Int32 => ffi::RSMPI_INT32_T,
            DataType::Uint32 => ffi::RSMPI_UINT32_T,
            DataType::Int64 => ffi::RSMPI_INT64_T,
            DataType::Uint64 => ffi::RSMPI_UINT64_T,
            DataType::Half | DataType::Bfloat16 => ffi::RSMPI_UINT16_T,
            DataType::Float => ffi::RSMPI_FLOAT,
            DataType::Double => ffi::RSMPI_DOUBLE,
        }
    }
}

/// A valid address for empty buffers. An empty Rust slice points at address 1 (its alignment),
/// which is exactly Open MPI's MPI_IN_PLACE: passing it would silently mean "in place".
static EMPTY: [u8; 8] = [0; 8];

#[inline]
fn send_ptr(buffer: &[u8]) -> *const c_void {
    if buffer.is_empty() {
        EMPTY.as_ptr().cast()
    } else {
        buffer.as_ptr().cast()
    }
}

/// MPI never writes through the pointer of an empty buffer (its count is 0).
#[inline]
fn recv_ptr(buffer: &mut [u8]) -> *mut c_void {
    if buffer.is_empty() {
        EMPTY.as_ptr() as *mut c_void
    } else {
        buffer.as_mut_ptr().cast()
    }
}

fn in_place() -> *mut c_void {
    // SAFETY: returns the address of a constant of the MPI library.
    unsafe { collbench_mpi_in_place() }
}

#[inline]
fn source_ptr(src: Source, needed: usize, call: &str) -> Result<*const c_void> {
    match src {
        Source::InPlace => Ok(in_place() as *const c_void),
        Source::Buffer(s) if s.len() >= needed => Ok(send_ptr(s)),
        Source::Buffer(s) => Err(short_send_buffer(call, s.len(), needed)),
    }
}

#[cold]
#[inline(never)]
fn short_send_buffer(call: &str, held: usize, needed: usize) -> CollbenchError {
    CollbenchError::Mpi(format!(
        "{call}: the send buffer holds {held} bytes but {needed} are needed (internal size mismatch)"
    ))
}

/// The tag of the transport's MPI_Comm_create_group.
const DUPLICATE_TAG: c_int = 0x6366;

/// A duplicate of `comm`: the same processes in the same order. Made with MPI_Comm_create_group,
/// not MPI_Comm_dup, for the reason `create_group` in src/world/mpi.rs gives (MPI_Comm_dup would
/// leave libnbc's progress function running in every later MPI call). Raw handles, not the
/// world's rsmpi communicator: this transport frees its communicator itself, and only while MPI
/// is not finalized.
fn duplicate(comm: ffi::MPI_Comm) -> Result<ffi::MPI_Comm> {
    // SAFETY: zeroed handles are placeholders that the calls below overwrite.
    let mut group = unsafe { std::mem::zeroed::<ffi::MPI_Group>() };
    let mut dup = unsafe { std::mem::zeroed::<ffi::MPI_Comm>() };
    // SAFETY: comm is a valid communicator; group and dup receive new handles, and the group is
    // freed once the communicator holds it.
    unsafe {
        check("MPI_Comm_group", 0, ffi::MPI_Comm_group(comm, &mut group))?;
        let created = check(
            "MPI_Comm_create_group",
            0,
            ffi::MPI_Comm_create_group(comm, group, DUPLICATE_TAG, &mut dup),
        );
        ffi::MPI_Group_free(&mut group);
        created?;
    }
    Ok(dup)
}

impl MpiTransport {
    /// Duplicates `comm` (so benchmark traffic never mixes with the runner's) and creates the
    /// user-defined operators. Collective over `comm`.
    pub fn new(comm: &mpi::topology::SimpleCommunicator) -> Result<MpiTransport> {
        let dup = duplicate(comm.as_raw())?;
        let mut rank: c_int = 0;
        let mut size: c_int = 0;
        // SAFETY: dup is a valid communicator from here on.
        unsafe {
            check(
                "MPI_Comm_set_errhandler",
                0,
                ffi::MPI_Comm_set_errhandler(dup, ffi::RSMPI_ERRORS_RETURN),
            )?;
            check("MPI_Comm_rank", 0, ffi::MPI_Comm_rank(dup, &mut rank))?;
            check("MPI_Comm_size", 0, ffi::MPI_Comm_size(dup, &mut size))?;
        }
        // SAFETY: a zeroed MPI_Op is only a placeholder, overwritten by MPI_Op_create below.
        let mut user_ops = unsafe { std::mem::zeroed::<[[ffi::MPI_Op; 4]; 6]>() };
        for (t, functions) in USER_FUNCTIONS.iter().enumerate() {
            for (o, function) in functions.iter().enumerate() {
                // SAFETY: the function matches MPI_User_function and never unwinds.
                check("MPI_Op_create", rank as usize, unsafe {
                    ffi::MPI_Op_create(Some(*function), 1, &mut user_ops[t][o])
                })?;
            }
        }
        let mut ops = [[builtin_op(WireOp::Sum); 4]; DataType::ALL.len()];
        for dtype in DataType::ALL {
            for op in WireOp::ALL {
                ops[dtype as usize][op as usize] =
                    match USER_OP_TYPES.iter().position(|&u| u == dtype) {
                        Some(t) => user_ops[t][op as usize],
                        None => builtin_op(op),
                    };
            }
        }
        Ok(MpiTransport {
            comm: dup,
            rank: rank as usize,
            nranks: size as usize,
            user_ops,
            ops,
            requests: Vec::new(),
        })
    }

    #[inline]
    fn op(&self, dtype: DataType, op: WireOp) -> ffi::MPI_Op {
        self.ops[dtype as usize][op as usize]
    }

    /// Starts one nonblocking call per transfer (`start` gets the transfer and the request to
    /// fill) and keeps the requests for the Waitall.
    fn start_each(
        &mut self,
        call: &str,
        transfers: &[Transfer],
        start: impl Fn(&Transfer, &mut ffi::MPI_Request) -> c_int,
    ) -> Result<()> {
        for transfer in transfers {
            // SAFETY: a zeroed request is overwritten by the call that starts it.
            let mut request = unsafe { std::mem::zeroed::<ffi::MPI_Request>() };
            check(call, self.rank, start(transfer, &mut request))?;
            self.requests.push(request);
        }
        Ok(())
    }

    fn root_arg(&self, call: &str, root: usize) -> Result<c_int> {
        if root < self.nranks {
            Ok(root as c_int)
        } else {
            Err(CollbenchError::Usage(format!(
                "{call} root {root} does not exist: the group has ranks 0..{}",
                self.nranks - 1
            )))
        }
    }
}

impl Drop for MpiTransport {
    fn drop(&mut self) {
        if mpi::environment::is_finalized() {
            return;
        }
        // SAFETY: the handles were created in `new` and are freed once.
        unsafe {
            for row in self.user_ops.iter_mut() {
                for op in row.iter_mut() {
                    ffi::MPI_Op_free(op);
                }
            }
            ffi::MPI_Comm_free(&mut self.comm);
        }
    }
}

impl Transport for MpiTransport {
    fn rank(&self) -> usize {
        self.rank
    }
    fn nranks(&self) -> usize {
        self.nranks
    }

    fn barrier(&mut self) -> Result<()> {
        // SAFETY: valid communicator.
        check("MPI_Barrier", self.rank, unsafe {
            ffi::MPI_Barrier(self.comm)
        })
    }

    fn all_reduce(
        &mut self,
        src: Source,
        dst: &mut [u8],
        count: usize,
        dtype: DataType,
        op: WireOp,
    ) -> Result<()> {
        let call = "MPI_Allreduce";
        let bytes = checked_bytes(call, count, dtype, dst.len())?;
        let send = source_ptr(src, bytes, call)?;
        let n = count_arg(call, count)?;
        // SAFETY: both buffers hold `count` elements (checked above).
        check(call, self.rank, unsafe {
            ffi::MPI_Allreduce(
                send,
                recv_ptr(dst),
                n,
                datatype(dtype),
                self.op(dtype, op),
                self.comm,
            )
        })
    }

    fn reduce(
        &mut self,
        src: Source,
        dst: &mut [u8],
        count: usize,
        dtype: DataType,
        op: WireOp,
        root: usize,
    ) -> Result<()> {
        let call = "MPI_Reduce";
        let root_arg = self.root_arg(call, root)?;
        let is_root = root == self.rank;
        let bytes = count.saturating_mul(dtype.size_bytes());
        if is_root {
            checked_bytes(call, count, dtype, dst.len())?;
        } else if matches!(src, Source::InPlace) {
            return Err(in_place_off_root(call));
        }
        let send = source_ptr(src, bytes, call)?;
        let n = count_arg(call, count)?;
        // SAFETY: the send buffer holds `count` elements; the receive buffer too at the root (it is
        // not accessed elsewhere).
        check(call, self.rank, unsafe {
            ffi::MPI_Reduce(
                send,
                recv_ptr(dst),
                n,
                datatype(dtype),
                self.op(dtype, op),
                root_arg,
                self.comm,
            )
        })
    }

    fn broadcast(
        &mut self,
        src: Source,
        buffer: &mut [u8],
        count: usize,
        dtype: DataType,
        root: usize,
    ) -> Result<()> {
        let call = "MPI_Bcast";
        let root_arg = self.root_arg(call, root)?;
        let bytes = checked_bytes(call, count, dtype, buffer.len())?;
        let n = count_arg(call, count)?;
        // Every rank takes the same branch: MPI_Ibcast does not match MPI_Bcast.
        let overlapped = matches!(src, Source::Buffer(_)) && bytes >= OVERLAPPED_BROADCAST_BYTES;
        let root_data = match src {
            Source::Buffer(data) if self.rank == root => {
                Some(data.get(..bytes).ok_or_else(|| {
                    CollbenchError::Mpi(format!(
                    "{call}: the send buffer holds {} bytes but {bytes} are needed (internal size \
                     mismatch)",
                    data.len()
                ))
                })?)
            }
            _ => None,
        };
        if !overlapped {
            if let Some(data) = root_data {
                buffer[..bytes].copy_from_slice(data);
            }
            // SAFETY: the buffer holds `count` elements.
            return check(call, self.rank, unsafe {
                ffi::MPI_Bcast(recv_ptr(buffer), n, datatype(dtype), root_arg, self.comm)
            });
        }
        // The root's own copy overlaps the transfer (NCCL's kernel also writes the root's output
        // while it sends): a copy first and a broadcast after would cost the sum.
        let call = "MPI_Ibcast";
        let target = match root_data {
            // MPI does not write a broadcast root's buffer; the cast only fits the C signature.
            Some(data) => send_ptr(data) as *mut c_void,
            None => recv_ptr(buffer),
        };
        // SAFETY: a zeroed request is only a placeholder that MPI_Ibcast overwrites.
        let mut request = unsafe { std::mem::zeroed::<ffi::MPI_Request>() };
        // SAFETY: `target` holds `count` elements and stays borrowed until the MPI_Wait below.
        check(call, self.rank, unsafe {
            ffi::MPI_Ibcast(
                target,
                n,
                datatype(dtype),
                root_arg,
                self.comm,
                &mut request,
            )
        })?;
        if let Some(data) = root_data {
            buffer[..bytes].copy_from_slice(data);
        }
        // SAFETY: the request was started above on a buffer that is still borrowed.
        check("MPI_Wait", self.rank, unsafe {
            ffi::MPI_Wait(&mut request, ffi::RSMPI_STATUS_IGNORE)
        })
    }

    fn all_gather(
        &mut self,
        src: Source,
        dst: &mut [u8],
        count: usize,
        dtype: DataType,
    ) -> Result<()> {
        let call = "MPI_Allgather";
        checked_bytes(call, count.saturating_mul(self.nranks), dtype, dst.len())?;
        let send = source_ptr(src, count.saturating_mul(dtype.size_bytes()), call)?;
        let n = count_arg(call, count)?;
        count_arg(call, count.saturating_mul(self.nranks))?;
        let t = datatype(dtype);
        // SAFETY: send holds `count` elements, dst `count × nranks`.
        check(call, self.rank, unsafe {
            ffi::MPI_Allgather(send, n, t, recv_ptr(dst), n, t, self.comm)
        })
    }

    fn reduce_scatter_block(
        &mut self,
        src: Source,
        dst: &mut [u8],
        count: usize,
        dtype: DataType,
        op: WireOp,
    ) -> Result<()> {
        let call = "MPI_Reduce_scatter_block";
        let total = count.saturating_mul(self.nranks);
        match src {
            Source::InPlace => checked_bytes(call, total, dtype, dst.len())?,
            Source::Buffer(_) => checked_bytes(call, count, dtype, dst.len())?,
        };
        let send = source_ptr(src, total.saturating_mul(dtype.size_bytes()), call)?;
        let n = count_arg(call, count)?;
        count_arg(call, total)?;
        // SAFETY: the input holds count × nranks elements, the output count (or, in place, the
        // output buffer holds the whole input).
        check(call, self.rank, unsafe {
            ffi::MPI_Reduce_scatter_block(
                send,
                recv_ptr(dst),
                n,
                datatype(dtype),
                self.op(dtype, op),
                self.comm,
            )
        })
    }

    fn all_to_all(
        &mut self,
        src: Source,
        dst: &mut [u8],
        count: usize,
        dtype: DataType,
    ) -> Result<()> {
        let call = "MPI_Alltoall";
        let total = count.saturating_mul(self.nranks);
        let bytes = checked_bytes(call, total, dtype, dst.len())?;
        let send = source_ptr(src, bytes, call)?;
        let n = count_arg(call, count)?;
        count_arg(call, total)?;
        let t = datatype(dtype);
        // SAFETY: both buffers hold count × nranks elements.
        check(call, self.rank, unsafe {
            ffi::MPI_Alltoall(send, n, t, recv_ptr(dst), n, t, self.comm)
        })
    }

    fn gather(
        &mut self,
        src: Source,
        dst: &mut [u8],
        count: usize,
        dtype: DataType,
        root: usize,
    ) -> Result<()> {
        let call = "MPI_Gather";
        let root_arg = self.root_arg(call, root)?;
        let is_root = root == self.rank;
        let total = count.saturating_mul(self.nranks);
        if is_root {
            checked_bytes(call, total, dtype, dst.len())?;
        } else if matches!(src, Source::InPlace) {
            return Err(in_place_off_root(call));
        }
        let send = source_ptr(src, count.saturating_mul(dtype.size_bytes()), call)?;
        let n = count_arg(call, count)?;
        count_arg(call, total)?;
        let t = datatype(dtype);
        // SAFETY: send holds `count` elements; at the root dst holds count × nranks.
        check(call, self.rank, unsafe {
            ffi::MPI_Gather(send, n, t, recv_ptr(dst), n, t, root_arg, self.comm)
        })
    }

    fn scatter(
        &mut self,
        src: &[u8],
        dst: Sink,
        count: usize,
        dtype: DataType,
        root: usize,
    ) -> Result<()> {
        let call = "MPI_Scatter";
        let root_arg = self.root_arg(call, root)?;
        let is_root = root == self.rank;
        let total = count.saturating_mul(self.nranks);
        if is_root {
            checked_bytes(call, total, dtype, src.len())?;
        }
        let recv = match dst {
            Sink::Buffer(d) => {
                checked_bytes(call, count, dtype, d.len())?;
                recv_ptr(d)
            }
            Sink::InPlace if is_root => in_place(),
            Sink::InPlace => return Err(in_place_off_root(call)),
        };
        let n = count_arg(call, count)?;
        count_arg(call, total)?;
        let t = datatype(dtype);
        // SAFETY: at the root src holds count × nranks elements; recv holds `count` (or is in place).
        check(call, self.rank, unsafe {
            ffi::MPI_Scatter(send_ptr(src), n, t, recv, n, t, root_arg, self.comm)
        })
    }

    fn exchange(
        &mut self,
        send_buffer: &[u8],
        sends: &[Transfer],
        recv_buffer: &mut [u8],
        recvs: &[Transfer],
        dtype: DataType,
    ) -> Result<()> {
        let call = "MPI_Isend/MPI_Irecv";
        check_disjoint(recvs)?;
        let elt = dtype.size_bytes();
        for (t, available) in sends
            .iter()
            .map(|t| (t, send_buffer.len()))
            .chain(recvs.iter().map(|t| (t, recv_buffer.len())))
        {
            if t.offset
                .checked_add(t.len)
                .is_none_or(|end| end > available)
                || t.len % elt != 0
            {
                return Err(CollbenchError::Mpi(format!(
                    "{call}: transfer of {} bytes at offset {} lies outside a {available}-byte buffer",
                    t.len, t.offset
                )));
            }
            self.root_arg("point-to-point peer", t.peer)?;
            count_arg(call, t.len / elt)?;
        }
        let t = datatype(dtype);
        self.requests.clear();
        let base = recv_ptr(recv_buffer) as *mut u8;
        let send_base = send_ptr(send_buffer) as *const u8;
        let comm = self.comm;
        // Receives first, so eager messages find a posted buffer.
        self.start_each("MPI_Irecv", recvs, |r, request| {
            // SAFETY: the range was checked above and ranges are disjoint; the buffer outlives the
            // Waitall below.
            unsafe {
                let buf = base.add(r.offset).cast();
                ffi::MPI_Irecv(
                    buf,
                    (r.len / elt) as c_int,
                    t,
                    r.peer as c_int,
                    0,
                    comm,
                    request,
                )
            }
        })?;
        self.start_each("MPI_Isend", sends, |s, request| {
            // SAFETY: as above, for the send buffer.
            unsafe {
                let buf = send_base.add(s.offset).cast();
                ffi::MPI_Isend(
                    buf,
                    (s.len / elt) as c_int,
                    t,
                    s.peer as c_int,
                    0,
                    comm,
                    request,
                )
            }
        })?;
        if self.requests.is_empty() {
            return Ok(());
        }
        // SAFETY: every request was started above on buffers that are still borrowed.
        check("MPI_Waitall", self.rank, unsafe {
            ffi::MPI_Waitall(
                self.requests.len() as c_int,
                self.requests.as_mut_ptr(),
                ffi::RSMPI_STATUSES_IGNORE,
            )
        })
    }
}
