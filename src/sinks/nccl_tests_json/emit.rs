//! The JSON values nccl-tests' `src/util.cu` writes, spelled as it spells them: compact (no
//! whitespace), keys in the order given, doubles as C's `%lf` (six decimals) with NaN as the string
//! `"nan"`, booleans as the strings `"true"`/`"false"`. serde_json's own encoder would sort keys
//! (no `preserve_order`) and print doubles in shortest form, which readers take alike but diffs
//! against nccl-tests' files do not.

use crate::sinks::cfmt;

/// One value of the document.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    /// `%d`.
    Int(i64),
    /// `%zu`.
    Size(u64),
    /// `%lf`, or `"nan"`.
    Double(f64),
    Str(String),
    List(Vec<Value>),
    Object(Vec<(&'static str, Value)>),
}

impl Value {
    /// `jsonBool`: nccl-tests writes a boolean as a string.
    pub fn flag(on: bool) -> Value {
        Value::Str(if on { "true" } else { "false" }.to_string())
    }

    pub fn str(text: impl Into<String>) -> Value {
        Value::Str(text.into())
    }

    /// The value as nccl-tests writes it.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Int(v) => out.push_str(&v.to_string()),
            Value::Size(v) => out.push_str(&v.to_string()),
            Value::Double(v) if v.is_finite() => out.push_str(&cfmt::fixed(*v, 0, 6)),
            // `%lf` would print inf, which no JSON reader takes; NaN is nccl-tests' own "nan".
            Value::Double(v) => out.push_str(&format!("\"{}\"", cfmt::fixed(*v, 0, 6))),
            Value::Str(text) => out.push_str(&quoted(text)),
            Value::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Value::Object(fields) => {
                out.push('{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&quoted(key));
                    out.push(':');
                    value.write(out);
                }
                out.push('}');
            }
        }
    }
}

/// A JSON string. nccl-tests cuts a string short at the first character it cannot quote; every
/// character is kept here (serde_json escapes what JSON requires).
fn quoted(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_spelled_as_nccl_tests_spells_them() {
        let doc = Value::Object(vec![
            ("version", Value::Int(3)),
            ("size", Value::Size(8)),
            ("time", Value::Double(6.396)),
            ("nan", Value::Double(f64::NAN)),
            ("okay", Value::flag(true)),
            ("nwrong", Value::Null),
            (
                "args",
                Value::List(vec![Value::str("-b"), Value::str("a\"b")]),
            ),
            ("empty", Value::List(vec![])),
        ]);
        assert_eq!(
            doc.encode(),
            r#"{"version":3,"size":8,"time":6.396000,"nan":"nan","okay":"true","nwrong":null,"args":["-b","a\"b"],"empty":[]}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&doc.encode()).unwrap();
        assert_eq!(parsed["time"], serde_json::json!(6.396));
    }
}
