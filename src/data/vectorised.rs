//! Runs the generator's block loops compiled for the widest vector instructions this CPU has, with
//! a portable fallback. The hash needs 64-bit multiplies, which x86-64's baseline (SSE2) cannot do
//! on vectors; AVX2 builds them from 32-bit ones four lanes at a time, and AVX-512 (DQ) has them
//! natively, eight lanes at a time. The loops themselves are plain generic Rust,
//! `#[inline(always)]`, so they are compiled into whichever caller runs them: the values are the
//! same bits either way (integer arithmetic and exact float conversions only).

/// Calls `body`, compiled with AVX-512 (F, DQ, VL) where this CPU supports it, else with AVX2
/// where it supports that: the loops of the integer and float-sum generators run about twice as
/// fast with AVX-512 here (benches/data.rs).
#[inline(always)]
pub fn vectorised<R>(body: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if allowed(Isa::Avx512) && has_avx512() {
        // SAFETY: `with_avx512` only needs the CPU to support these, checked just above.
        return unsafe { with_avx512(body) };
    }
    vectorised_avx2(body)
}

/// [`vectorised`] without AVX-512, for loops that it compiles slower here (benches/data.rs): the
/// float-sanitising loop of the non-reduction generators (float 1.5 GB/s instead of 3.7, bfloat16
/// 0.8 instead of 2.0) and the narrowing stores of wider-than-byte elements (float fill 3.3 GB/s
/// instead of 4.0).
#[inline(always)]
pub fn vectorised_avx2<R>(body: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if allowed(Isa::Avx2) && std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: `with_avx2` only needs the CPU to support AVX2, checked just above.
        return unsafe { with_avx2(body) };
    }
    body()
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn has_avx512() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512dq")
        && std::arch::is_x86_feature_detected!("avx512vl")
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2")]
fn with_avx512<R>(body: impl FnOnce() -> R) -> R {
    body()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn with_avx2<R>(body: impl FnOnce() -> R) -> R {
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
