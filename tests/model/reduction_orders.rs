//! Proves the generator's reduction scheme: for N ranks in {1, 2, 3, 8, 64, 1000, 4096}, every dtype
//! and every op, the N ranks' contributions reduced in several orders (left fold, right fold, random
//! shuffles, pairwise trees over shuffles) with the arithmetic done in the target type, rounding after
//! every step, give exactly the value `expected_bits` predicts (float avg: within the documented
//! tolerance, for both sum-then-divide and premultiply-by-1/n). Large N sample indices to stay fast.

use crate::support::model::{fold, int_divide, premultiply, round, tree, value};
use collbench::data::{
    expected_bits, mulsum_scalar, within_avg_tolerance, ElementSource, GenParams, Scheme,
};
use collbench::types::{DataType, ReduceOp};
use rand::seq::SliceRandom;
use rand::{rngs::StdRng, SeedableRng};

const RANK_COUNTS: [usize; 7] = [1, 2, 3, 8, 64, 1000, 4096];

fn sampled_indices(nranks: usize) -> Vec<usize> {
    let n = if nranks >= 1000 { 6 } else { 48 };
    // Spread over a large buffer, including index 0.
    (0..n).map(|k| k * 7_919 + k * k * 104_729).collect()
}

/// Orders a library might combine ranks in.
fn orders(nranks: usize, rng: &mut StdRng) -> Vec<Vec<usize>> {
    let forward: Vec<usize> = (0..nranks).collect();
    let backward: Vec<usize> = (0..nranks).rev().collect();
    let mut shuffled = forward.clone();
    shuffled.shuffle(rng);
    let mut shuffled2 = forward.clone();
    shuffled2.shuffle(rng);
    vec![forward, backward, shuffled, shuffled2]
}

/// Every way this test reduces the column: (description, result bits).
fn reductions(
    dtype: DataType,
    op: ReduceOp,
    column: &[u64],
    nranks: usize,
    rng: &mut StdRng,
) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    for (k, order) in orders(nranks, rng).iter().enumerate() {
        match op {
            ReduceOp::MulSum => {
                let pre: Vec<u64> = (0..nranks)
                    .map(|r| premultiply(dtype, column[r], mulsum_scalar(r, nranks, dtype)))
                    .collect();
                out.push((
                    format!("premul+fold order {k}"),
                    fold(dtype, ReduceOp::Sum, &pre, order),
                ));
                out.push((
                    format!("premul+tree order {k}"),
                    tree(dtype, ReduceOp::Sum, &pre, order),
                ));
            }
            ReduceOp::Avg => {
                let sum_fold = fold(dtype, ReduceOp::Sum, column, order);
                let sum_tree = tree(dtype, ReduceOp::Sum, column, order);
                for (name, sum) in [("fold", sum_fold), ("tree", sum_tree)] {
                    let avg = if dtype.is_float() {
                        round(dtype, value(dtype, sum) / nranks as f64)
                    } else {
                        int_divide(dtype, sum, nranks)
                    };
                    out.push((format!("sum-then-divide {name} order {k}"), avg));
                }
                if dtype.is_float() {
                    // NCCL's float avg: premultiply every input by 1/n rounded to the type, then sum.
                    let inverse = round(dtype, 1.0 / nranks as f64);
                    let pre: Vec<u64> = column
                        .iter()
                        .map(|&x| premultiply(dtype, x, inverse))
                        .collect();
                    out.push((
                        format!("premul-1/n fold order {k}"),
                        fold(dtype, ReduceOp::Sum, &pre, order),
                    ));
                    out.push((
                        format!("premul-1/n tree order {k}"),
                        tree(dtype, ReduceOp::Sum, &pre, order),
                    ));
                }
            }
            _ => {
                out.push((format!("fold order {k}"), fold(dtype, op, column, order)));
                out.push((format!("tree order {k}"), tree(dtype, op, column, order)));
            }
        }
    }
    out
}

#[test]
fn every_order_gives_the_expected_result_for_every_dtype_op_and_rank_count() {
    let mut rng = StdRng::seed_from_u64(0xC011_BE4C);
    let mut checked = 0u64;
    for &nranks in &RANK_COUNTS {
        for dtype in DataType::ALL {
            for op in ReduceOp::ALL {
                let p = GenParams {
                    seed: 0x5EED ^ nranks as u64,
                    nranks,
                    dtype,
                    op: Some(op),
                };
                let scheme = Scheme::new(&p);
                let keys: Vec<u64> = (0..nranks).map(|r| scheme.rank_key(r)).collect();
                for index in sampled_indices(nranks) {
                    let column: Vec<u64> = (0..nranks)
                        .map(|r| scheme.input_bits_keyed(r, keys[r], index as u64))
                        .collect();
                    let expected = expected_bits(&p, ElementSource::Reduce, index);
                    let (_, quotient) = scheme.expected_reduce(index as u64);
                    for (how, got) in reductions(dtype, op, &column, nranks, &mut rng) {
                        let ok = if op == ReduceOp::Avg && dtype.is_float() {
                            within_avg_tolerance(dtype, got, quotient)
                        } else {
                            got == expected
                        };
                        assert!(
                            ok,
                            "n={nranks} {dtype} {op} index {index} ({how}): got {got:#x}, expected {expected:#x} \
                             (quotient {quotient}); column starts {:x?}",
                            &column[..column.len().min(8)]
                        );
                        checked += 1;
                    }
                    if op == ReduceOp::Avg && dtype.is_float() {
                        // The reported expected value is the correctly rounded quotient.
                        assert_eq!(
                            expected,
                            round(dtype, quotient),
                            "n={nranks} {dtype} avg index {index}"
                        );
                    }
                }
            }
        }
    }
    println!("checked {checked} reductions");
}

#[test]
fn float_reductions_are_not_trivial() {
    // The scheme must exercise real values: sums with mixed signs and several contributors, products
    // away from 1, averages away from zero.
    for dtype in DataType::ALL.into_iter().filter(|d| d.is_float()) {
        for op in [ReduceOp::Sum, ReduceOp::Prod, ReduceOp::Avg, ReduceOp::Max] {
            let p = GenParams {
                seed: 7,
                nranks: 8,
                dtype,
                op: Some(op),
            };
            let scheme = Scheme::new(&p);
            let distinct: std::collections::HashSet<u64> =
                (0..512u64).map(|i| scheme.expected_reduce(i).0).collect();
            // fp8 averages have few possible values: (0..=M·S)/n with M = 1 or 2, S = 2.
            let enough = if dtype.is_fp8() && op == ReduceOp::Avg {
                3
            } else {
                5
            };
            assert!(
                distinct.len() >= enough,
                "{dtype} {op}: only {} distinct results",
                distinct.len()
            );
            let nonzero_inputs = (0..512u64)
                .filter(|&i| scheme.input_bits(3, i) != 0)
                .count();
            assert!(nonzero_inputs > 0, "{dtype} {op}: rank 3 never contributes");
        }
    }
}

#[test]
fn integer_sums_wrap_and_stay_exact() {
    // Integer sums use the whole range (wrapping): the references above fold with wrapping adds.
    let p = GenParams {
        seed: 1,
        nranks: 4096,
        dtype: DataType::Int8,
        op: Some(ReduceOp::Sum),
    };
    let scheme = Scheme::new(&p);
    let column: Vec<u64> = (0..4096).map(|r| scheme.input_bits(r, 12)).collect();
    let expected = scheme.expected_reduce(12).0;
    let manual = column.iter().fold(0u64, |a, &b| a.wrapping_add(b)) & 0xFF;
    assert_eq!(expected, manual);
    assert!(column.iter().filter(|&&v| v != 0).count() <= 4);
}
