use serde::{Deserialize, Serialize};
use std::fmt;

/// Reduction operator. `MulSum` is NCCL's pre-multiplied sum (`ncclRedOpCreatePreMulSum`): each rank's
/// input is multiplied by a per-rank scalar before summing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReduceOp {
    Sum,
    Prod,
    Max,
    Min,
    Avg,
    MulSum,
}

impl ReduceOp {
    /// Every operator, in the order `-o all` runs them (nccl-tests' order).
    pub const ALL: [ReduceOp; 6] = [
        ReduceOp::Sum,
        ReduceOp::Prod,
        ReduceOp::Max,
        ReduceOp::Min,
        ReduceOp::Avg,
        ReduceOp::MulSum,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "sum",
            ReduceOp::Prod => "prod",
            ReduceOp::Max => "max",
            ReduceOp::Min => "min",
            ReduceOp::Avg => "avg",
            ReduceOp::MulSum => "mulsum",
        }
    }

    pub fn parse(s: &str) -> Option<ReduceOp> {
        ReduceOp::ALL.iter().copied().find(|o| o.name() == s)
    }

    /// `ncclRedOp_t` value for the built-in operators; `None` for `MulSum`, which is created per
    /// communicator at run time.
    pub fn nccl_enum(self) -> Option<i32> {
        match self {
            ReduceOp::MulSum => None,
            other => Some(other as i32),
        }
    }

    pub fn accepted() -> String {
        let mut names: Vec<&str> = ReduceOp::ALL.iter().map(|o| o.name()).collect();
        names.push("all");
        names.join(", ")
    }
}

impl fmt::Display for ReduceOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_builtin_enum_values() {
        for o in ReduceOp::ALL {
            assert_eq!(ReduceOp::parse(o.name()), Some(o));
        }
        assert_eq!(ReduceOp::Sum.nccl_enum(), Some(0));
        assert_eq!(ReduceOp::Avg.nccl_enum(), Some(4));
        assert_eq!(ReduceOp::MulSum.nccl_enum(), None);
        assert_eq!(ReduceOp::parse("foo"), None);
    }
}
