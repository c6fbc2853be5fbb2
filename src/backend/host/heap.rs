//! The C heap of a host-backend run: freed blocks stay in the process, so the MPI library's
//! per-call scratch buffers do not fault in fresh pages on every call.
//!
//! Open MPI's reduce_scatter and allreduce allocate a scratch buffer of about the message size
//! per call. With glibc's defaults a block of that size is handed back to the kernel when freed
//! (mmap above the adaptive threshold, or a heap top trimmed past 128 KiB), so the next call
//! writes into zeroed pages again: perf on a 2-rank 1 MiB MPI_Reduce_scatter_block loop showed
//! `clear_page_erms` and page faults under `process_vm_rw`, and the loop ran 1.1-1.4 ms per call
//! against 0.45-0.5 ms with the two thresholds below. How fast the peers are depends on the heap
//! their own allocations left (IMB was 2-3x faster than OSU and collbench there).

/// Blocks below this come from the heap (glibc's largest allowed value, 32 MiB on 64-bit).
const MMAP_THRESHOLD_BYTES: i32 = 32 << 20;
/// Freed memory at the top of the heap kept up to this much.
const TRIM_THRESHOLD_BYTES: i32 = 256 << 20;

/// The environment variables through which a user sets these thresholds themselves.
const USER_SETTINGS: [&str; 3] = [
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TRIM_THRESHOLD_",
    "GLIBC_TUNABLES",
];

/// Sets the thresholds, unless the user set glibc's malloc up through the environment. Returns
/// whether it did. Call before MPI starts (its allocations then follow the same rules).
pub fn keep_freed_memory() -> bool {
    if USER_SETTINGS
        .iter()
        .any(|name| std::env::var_os(name).is_some())
    {
        return false;
    }
    set_thresholds()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn set_thresholds() -> bool {
    // SAFETY: mallopt only changes glibc's allocation parameters; it takes plain integers.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
            && libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_thresholds() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// glibc accepts both values (an out-of-range threshold makes mallopt return 0).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn glibc_takes_both_thresholds() {
        assert!(set_thresholds());
    }
}
