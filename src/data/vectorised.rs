//! Runs the generator's block loops compiled for AVX2 where the CPU has it, with a portable
//! fallback. The hash needs 64-bit multiplies, which x86-64's baseline (SSE2) cannot do on
//! vectors; AVX2 does them four lanes at a time. The loops themselves are plain generic Rust,
//! `#[inline(always)]`, so they are compiled into whichever of the two callers runs them: the
//! values are the same bits either way (integer arithmetic and exact float conversions only).

/// Calls `body`, compiled with AVX2 enabled when this CPU supports it.
#[inline(always)]
pub fn vectorised<R>(body: impl FnOnce() -> R) -> R {
    #[cfg(test)]
    if PORTABLE_ONLY.with(std::cell::Cell::get) {
        return body();
    }
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: `with_avx2` only needs the CPU to support AVX2, checked just above.
            return unsafe { with_avx2(body) };
        }
    }
    body()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn with_avx2<R>(body: impl FnOnce() -> R) -> R {
    body()
}

#[cfg(test)]
thread_local! {
    static PORTABLE_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `body` with every [`vectorised`] call on this thread taking the portable path, so tests
/// on an AVX2 machine cover both.
#[cfg(test)]
pub fn portable_only<R>(body: impl FnOnce() -> R) -> R {
    PORTABLE_ONLY.with(|p| p.set(true));
    let result = body();
    PORTABLE_ONLY.with(|p| p.set(false));
    result
}
