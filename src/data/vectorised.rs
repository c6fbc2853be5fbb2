//! Runs the generator's block loops compiled for the widest vector instructions this CPU has, with
//! a portable fallback. The hash needs 64-bit multiplies, which x86-64's baseline (SSE2) cannot do
//! on vectors; AVX2 builds them from 32-bit ones four lanes at a time, and AVX-512 (DQ) has them
//! natively, eight lanes at a time. The loops themselves are plain generic Rust, compiled once
//! per instruction set into each expansion of [`vectorised!`]: the values are the same bits
//! either way (integer arithmetic and exact float conversions only).

/// Evaluates `$body` compiled with AVX-512 (F, DQ, VL) where this CPU supports it, else with AVX2
/// where it supports that: the loops of the integer and float-sum generators run about twice as
/// fast with AVX-512 here (benches/data.rs).
///
/// A macro rather than a function taking a closure: each expansion gives every instruction set
/// its own closure, called from one place, which LLVM always inlines into the target-feature
/// function. One closure called from three places is inlined only while small, and a larger
/// loop body then ran compiled for the baseline, without vectors (half sum 0.2 GB/s).
macro_rules! vectorised {
    ($body:expr) => {{
        use $crate::data::vectorised::{has_avx512, vectorised_avx2, with_avx512};
        if has_avx512() {
            // SAFETY: `with_avx512` only needs the CPU to support these, checked just above.
            unsafe { with_avx512(|| $body) }
        } else {
            vectorised_avx2!($body)
        }
    }};
}
pub(crate) use vectorised;

/// [`vectorised`] without AVX-512, for the loop that it compiles slower here (benches/data.rs):
/// the narrowing stores of wider-than-byte elements (float fill 3.3 GB/s instead of 4.0).
macro_rules! vectorised_avx2 {
    ($body:expr) => {{
        use $crate::data::vectorised::{has_avx2, with_avx2};
        if has_avx2() {
            // SAFETY: `with_avx2` only needs the CPU to support AVX2, checked just above.
            unsafe { with_avx2(|| $body) }
        } else {
            $body
        }
    }};
}
pub(crate) use vectorised_avx2;

/// Whether AVX-512 (F, DQ, VL) may be used: this CPU has it (and a test allows it).
#[inline(always)]
pub fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        allowed(Isa::Avx512)
            && std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx512vl")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Whether AVX2 may be used: this CPU has it (and a test allows it).
#[inline(always)]
pub fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        allowed(Isa::Avx2) && std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Runs `body` compiled with AVX-512. Caller: the CPU has it ([`has_avx512`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2")]
pub unsafe fn with_avx512<R>(body: impl FnOnce() -> R) -> R {
    body()
}

/// Runs `body` compiled with AVX2. Caller: the CPU has it ([`has_avx2`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub unsafe fn with_avx2<R>(body: impl FnOnce() -> R) -> R {
    body()
}

/// Never called off x86-64 ([`has_avx512`] is false there).
#[cfg(not(target_arch = "x86_64"))]
pub unsafe fn with_avx512<R>(body: impl FnOnce() -> R) -> R {
    body()
}

/// Never called off x86-64 ([`has_avx2`] is false there).
#[cfg(not(target_arch = "x86_64"))]
pub unsafe fn with_avx2<R>(body: impl FnOnce() -> R) -> R {
    body()
}

/// The instruction sets, narrowest first.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
#[cfg_attr(not(test), allow(dead_code))]
pub enum Isa {
    Portable,
    Avx2,
    Avx512,
}

/// Whether `isa` may be used: always, outside tests.
#[cfg(not(test))]
#[inline(always)]
fn allowed(_isa: Isa) -> bool {
    true
}

#[cfg(test)]
fn allowed(isa: Isa) -> bool {
    WIDEST_ALLOWED.with(std::cell::Cell::get) >= isa
}

#[cfg(test)]
thread_local! {
    static WIDEST_ALLOWED: std::cell::Cell<Isa> = const { std::cell::Cell::new(Isa::Avx512) };
}

/// Runs `body` with every [`vectorised`] call on this thread using at most `isa`, so tests on an
/// AVX-512 machine cover every path.
#[cfg(test)]
pub fn at_most<R>(isa: Isa, body: impl FnOnce() -> R) -> R {
    WIDEST_ALLOWED.with(|w| w.set(isa));
    let result = body();
    WIDEST_ALLOWED.with(|w| w.set(Isa::Avx512));
    result
}
