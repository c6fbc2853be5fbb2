//! Typed access to the objects of nccl-tests' JSON, naming the file and the key path in every
//! error.

use super::bad;
use crate::compare::imported::shortened;
use crate::error::{CollbenchError, Result};
use serde_json::{Map, Value};

/// A value as quoted in a message: its JSON, at most 40 characters.
pub(super) fn shown(value: &Value) -> String {
    shortened(&value.to_string(), 40)
}

/// Typed access to one object, naming `origin` and the key path in every error.
pub(super) struct Object<'a> {
    pub(super) origin: &'a str,
    path: String,
    pub(super) map: &'a Map<String, Value>,
}

impl<'a> Object<'a> {
    pub(super) fn new(origin: &'a str, path: &str, value: &'a Value) -> Result<Self> {
        match value.as_object() {
            Some(map) => Ok(Object {
                origin,
                path: path.to_string(),
                map,
            }),
            None => Err(bad(
                origin,
                path,
                format!("is {}, not an object", shown(value)),
            )),
        }
    }

    fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    pub(super) fn error(&self, key: &str, what: String) -> CollbenchError {
        bad(self.origin, &self.key_path(key), what)
    }

    /// `None` when the key is absent or `null`.
    pub(super) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub(super) fn required(&self, key: &str) -> Result<&'a Value> {
        self.get(key)
            .ok_or_else(|| bad(self.origin, &self.path_or_top(), format!("has no `{key}`")))
    }

    fn path_or_top(&self) -> String {
        if self.path.is_empty() {
            "(top level)".into()
        } else {
            self.path.clone()
        }
    }

    pub(super) fn object(&self, key: &str) -> Result<Option<Object<'a>>> {
        self.get(key)
            .map(|v| Object::new(self.origin, &self.key_path(key), v))
            .transpose()
    }

    pub(super) fn string(&self, key: &str) -> Result<Option<&'a str>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.error(key, format!("is {}, not a string", shown(other)))),
        }
    }

    /// A whole number >= 0 (`%d`, `%zu`, or a double such as `nwrong`'s `0.000000`).
    pub(super) fn count(&self, key: &str) -> Result<Option<u64>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let number = v
            .as_u64()
            .or_else(|| {
                v.as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= u64::MAX as f64)
                    .map(|f| f as u64)
            })
            .ok_or_else(|| self.error(key, format!("is {}, not a whole number >= 0", shown(v))))?;
        Ok(Some(number))
    }

    pub(super) fn count_or_zero(&self, key: &str) -> Result<u64> {
        Ok(self.count(key)?.unwrap_or(0))
    }

    /// A number >= 0 (`jsonDouble`); `Ok(None)` for the string "nan" it writes for NaN.
    pub(super) fn measure(&self, key: &str) -> Result<Option<f64>> {
        match self.required(key)? {
            Value::String(s) if s == "nan" || s == "-nan" => Ok(None),
            v => v
                .as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(Some)
                .ok_or_else(|| {
                    self.error(
                        key,
                        format!("is {}, not a number >= 0 (or \"nan\")", shown(v)),
                    )
                }),
        }
    }

    /// `jsonBool` writes the strings "true" and "false".
    pub(super) fn flag(&self, key: &str) -> Result<bool> {
        match self.get(key) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::String(s)) if s == "true" => Ok(true),
            Some(Value::String(s)) if s == "false" => Ok(false),
            Some(other) => Err(self.error(
                key,
                format!("is {}, not \"true\" or \"false\"", shown(other)),
            )),
        }
    }
}

pub(super) fn string_list(top: &Object, key: &str) -> Result<Vec<String>> {
    match top.get(key) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s.clone()),
                other => Err(bad(
                    top.origin,
                    &format!("{key}[{i}]"),
                    format!("is {}, not a string", shown(other)),
                )),
            })
            .collect(),
        Some(other) => Err(top.error(key, format!("is {}, not a list of strings", shown(other)))),
    }
}
