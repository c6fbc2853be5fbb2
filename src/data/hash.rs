//! The generator's only source of randomness: a splitmix64-style mixer. Plain 64-bit integer
//! arithmetic, so `kernels/collbench.cu` (`cb_mix64`, `cb_lane_key`, `cb_element_hash`) mirrors it
//! exactly.

/// 2^64 / golden ratio, splitmix64's increment.
pub const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// Lane of the per-element layout hash (which ranks contribute, scale exponent, integer average).
pub const LAYOUT_LANE: u64 = 0xFFFF_FFFF_FFFF_FFFF;
/// Lanes `RANK_LANE_BASE + rank` hold the data of non-reduction collectives.
pub const RANK_LANE_BASE: u64 = 1 << 32;
/// Salt of the per-rank `mulsum` factor.
pub const MULSUM_SALT: u64 = 0x6D75_6C73_756D_0001;

/// splitmix64's finaliser: a bijection of u64 with good avalanche.
#[inline(always)]
pub fn mix64(z: u64) -> u64 {
    let z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform value in `0..range` from a hash: the high 64 bits of `hash × range` (Lemire's
/// multiply-shift, `__umul64hi` on GPUs) instead of a slow 64-bit `%`.
#[inline(always)]
pub fn below(hash: u64, range: u64) -> u64 {
    ((hash as u128 * range as u128) >> 64) as u64
}

/// [`below`] for a range that fits 32 bits, from two 32×32-bit products instead of one
/// 64×64→128-bit product: the same value (the carry of the low product is added before the
/// shift), in arithmetic that vectorises.
#[inline(always)]
pub fn below_u32(hash: u64, range: u32) -> u64 {
    let range = range as u64;
    let high = (hash >> 32) * range;
    let low = (hash & 0xFFFF_FFFF) * range;
    (high + (low >> 32)) >> 32
}

/// [`below`] for any range from four 32×32-bit products (the high half of the 128-bit product,
/// limb by limb): the same value, in arithmetic that vectorises.
#[inline(always)]
pub fn below_by_limbs(hash: u64, range: u64) -> u64 {
    const LOW: u64 = 0xFFFF_FFFF;
    let (hash_low, hash_high) = (hash & LOW, hash >> 32);
    let (range_low, range_high) = (range & LOW, range >> 32);
    let low_low = hash_low * range_low;
    let low_high = hash_low * range_high;
    let high_low = hash_high * range_low;
    let middle = (low_low >> 32) + (low_high & LOW) + (high_low & LOW);
    hash_high * range_high + (low_high >> 32) + (high_low >> 32) + (middle >> 32)
}

/// Key of one independent stream ("lane") of a seed. Computed once per fill or check, not per element.
#[inline(always)]
pub fn lane_key(seed: u64, lane: u64) -> u64 {
    mix64(seed ^ mix64(lane.wrapping_add(GOLDEN)))
}

/// Hash of element `index` in the stream `key`: one mix per element.
#[inline(always)]
pub fn element_hash(key: u64, index: u64) -> u64 {
    scrambled_hash(key, index.wrapping_mul(GOLDEN))
}

/// [`element_hash`] from `index × GOLDEN` (mod 2^64), which a loop over consecutive indices
/// keeps by adding GOLDEN instead of multiplying per element.
#[inline(always)]
pub fn scrambled_hash(key: u64, scrambled_index: u64) -> u64 {
    mix64(scrambled_index ^ key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix64_matches_the_splitmix64_reference_values() {
        // splitmix64 with state 0 yields mix64(GOLDEN) first: a published reference value.
        assert_eq!(mix64(GOLDEN), 0xE220_A839_7B1D_CDAF);
        assert_eq!(mix64(GOLDEN.wrapping_mul(2)), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut seen = [0u32; 7];
        for i in 0..7000 {
            let v = below(mix64(i), 7);
            seen[v as usize] += 1;
        }
        assert!(seen.iter().all(|&c| c > 800), "{seen:?}");
        assert_eq!(below(u64::MAX, 1 << 51), (1 << 51) - 1);
        assert_eq!(below(0, 5), 0);
    }

    #[test]
    fn below_u32_equals_below() {
        let ranges = [
            1u32,
            2,
            3,
            5,
            7,
            17,
            513,
            (1 << 22) + 1,
            (1 << 31) + 1,
            u32::MAX,
        ];
        let hashes = (0..20_000u64).map(mix64).chain([
            0,
            1,
            u64::MAX,
            u64::MAX - 1,
            1 << 63,
            0xFFFF_FFFF,
            1 << 32,
        ]);
        for hash in hashes {
            for &range in &ranges {
                assert_eq!(
                    below_u32(hash, range),
                    below(hash, range as u64),
                    "{hash:#x} {range}"
                );
            }
        }
    }

    #[test]
    fn below_by_limbs_equals_below() {
        let ranges = [
            1u64,
            3,
            1 << 32,
            (1 << 32) + 1,
            (1 << 51) + 1,
            u64::MAX / 3,
            u64::MAX,
        ];
        let hashes = (0..20_000u64)
            .map(mix64)
            .chain([0, 1, u64::MAX, 1 << 63, 0xFFFF_FFFF]);
        for hash in hashes {
            for &range in &ranges {
                assert_eq!(
                    below_by_limbs(hash, range),
                    below(hash, range),
                    "{hash:#x} {range}"
                );
            }
        }
    }

    #[test]
    fn lanes_and_indices_give_distinct_streams() {
        let a = lane_key(1, 0);
        let b = lane_key(1, 1);
        let c = lane_key(2, 0);
        assert!(a != b && a != c && b != c);
        let hashes: std::collections::HashSet<u64> =
            (0..10_000).map(|i| element_hash(a, i)).collect();
        assert_eq!(hashes.len(), 10_000);
    }
}
