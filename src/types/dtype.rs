use serde::{Deserialize, Serialize};
use std::fmt;

/// Element type of a collective, in NCCL's enum order (`ncclDataType_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataType {
    Int8,
    Uint8,
    Int32,
    Uint32,
    Int64,
    Uint64,
    Half,
    Float,
    Double,
    Bfloat16,
    #[serde(rename = "f8e4m3")]
    Fp8E4M3,
    #[serde(rename = "f8e5m2")]
    Fp8E5M2,
}

impl DataType {
    /// Every type, in the order `-d all` runs them (nccl-tests' order).
    pub const ALL: [DataType; 12] = [
        DataType::Int8,
        DataType::Uint8,
        DataType::Int32,
        DataType::Uint32,
        DataType::Int64,
        DataType::Uint64,
        DataType::Half,
        DataType::Float,
        DataType::Double,
        DataType::Bfloat16,
        DataType::Fp8E4M3,
        DataType::Fp8E5M2,
    ];

    pub fn size_bytes(self) -> usize {
        match self {
            DataType::Int8 | DataType::Uint8 | DataType::Fp8E4M3 | DataType::Fp8E5M2 => 1,
            DataType::Half | DataType::Bfloat16 => 2,
            DataType::Int32 | DataType::Uint32 | DataType::Float => 4,
            DataType::Int64 | DataType::Uint64 | DataType::Double => 8,
        }
    }

    /// The name printed in the `type` column (nccl-tests spelling).
    pub fn name(self) -> &'static str {
        match self {
            DataType::Int8 => "int8",
            DataType::Uint8 => "uint8",
            DataType::Int32 => "int32",
            DataType::Uint32 => "uint32",
            DataType::Int64 => "int64",
            DataType::Uint64 => "uint64",
            DataType::Half => "half",
            DataType::Float => "float",
            DataType::Double => "double",
            DataType::Bfloat16 => "bfloat16",
            DataType::Fp8E4M3 => "f8e4m3",
            DataType::Fp8E5M2 => "f8e5m2",
        }
    }

    /// Parses a `-d` value: the printed names plus the aliases nccl-tests accepts.
    pub fn parse(s: &str) -> Option<DataType> {
        let t = match s {
            "int8" | "char" => DataType::Int8,
            "uint8" => DataType::Uint8,
            "int32" | "int" => DataType::Int32,
            "uint32" => DataType::Uint32,
            "int64" => DataType::Int64,
            "uint64" => DataType::Uint64,
            "half" | "float16" | "fp16" => DataType::Half,
            "float" | "float32" | "fp32" => DataType::Float,
            "double" | "float64" | "fp64" => DataType::Double,
            "bfloat16" | "bf16" => DataType::Bfloat16,
            "f8e4m3" | "fp8_e4m3" | "e4m3" => DataType::Fp8E4M3,
            "f8e5m2" | "fp8_e5m2" | "e5m2" => DataType::Fp8E5M2,
            _ => return None,
        };
        Some(t)
    }

    /// `ncclDataType_t` value.
    pub fn nccl_enum(self) -> i32 {
        self as i32
    }

    pub fn is_float(self) -> bool {
        matches!(
            self,
            DataType::Half
                | DataType::Float
                | DataType::Double
                | DataType::Bfloat16
                | DataType::Fp8E4M3
                | DataType::Fp8E5M2
        )
    }

    pub fn is_fp8(self) -> bool {
        matches!(self, DataType::Fp8E4M3 | DataType::Fp8E5M2)
    }

    pub fn is_signed_int(self) -> bool {
        matches!(self, DataType::Int8 | DataType::Int32 | DataType::Int64)
    }

    /// Accepted `-d` spellings, for error messages.
    pub fn accepted() -> String {
        let mut names: Vec<&str> = DataType::ALL.iter().map(|t| t.name()).collect();
        names.push("all");
        names.join(", ")
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_enum_order_matches_nccl() {
        for (i, t) in DataType::ALL.iter().enumerate() {
            assert_eq!(DataType::parse(t.name()), Some(*t));
            assert_eq!(t.nccl_enum(), i as i32);
        }
        assert_eq!(DataType::parse("fp9"), None);
    }
}
