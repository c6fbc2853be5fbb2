//! Which ranks measure against which in `collbench fabric pingpong`.

/// One measured pair: the lower rank initiates (and times), the higher one responds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pair {
    pub round: usize,
    pub initiator: usize,
    pub responder: usize,
}

/// Rounds of disjoint pairs: (0,1), (2,3) … in round 0; with an odd number of ranks the last
/// rank, idle in round 0, measures against rank 0 in round 1, so every rank is tested.
pub fn schedule(ranks: usize) -> Vec<Pair> {
    let mut pairs: Vec<Pair> = (0..ranks / 2)
        .map(|i| Pair {
            round: 0,
            initiator: 2 * i,
            responder: 2 * i + 1,
        })
        .collect();
    if ranks % 2 == 1 && ranks > 1 {
        pairs.push(Pair {
            round: 1,
            initiator: 0,
            responder: ranks - 1,
        });
    }
    pairs
}

/// Number of rounds in a schedule.
pub fn rounds(pairs: &[Pair]) -> usize {
    pairs.iter().map(|p| p.round + 1).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_counts_pair_neighbours_in_one_round() {
        let pairs = schedule(4);
        assert_eq!(pairs.len(), 2);
        assert_eq!((pairs[1].initiator, pairs[1].responder), (2, 3));
        assert_eq!(rounds(&pairs), 1);
    }

    #[test]
    fn an_odd_last_rank_meets_rank_zero_in_a_second_round() {
        let pairs = schedule(5);
        assert_eq!(pairs.len(), 3);
        assert_eq!(
            pairs[2],
            Pair {
                round: 1,
                initiator: 0,
                responder: 4
            }
        );
        assert_eq!(rounds(&pairs), 2);
        for rank in 0..5 {
            assert!(
                pairs
                    .iter()
                    .any(|p| p.initiator == rank || p.responder == rank),
                "rank {rank} untested"
            );
        }
        assert!(schedule(1).is_empty());
        assert_eq!(schedule(3).len(), 2);
    }
}
