//! `docs/report.schema.json`, the contract of the `-J` report, and reading JSON files.

use serde_json::Value;
use std::path::Path;

/// A validator of `docs/report.schema.json` (formats checked too).
pub fn validator() -> jsonschema::Validator {
    let schema = json_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json"));
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema itself is valid")
}

/// Schema errors of `instance` under `validator`, each with where it is; empty when it validates.
pub fn errors_under(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

/// Schema errors of a `-J` report; empty when it validates.
pub fn schema_errors(instance: &Value) -> Vec<String> {
    errors_under(&validator(), instance)
}

/// A JSON file, parsed (panics naming the file when it is missing or not JSON).
pub fn json_file(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// A `-J` report, parsed and checked against the schema.
pub fn read_report(path: &Path) -> Value {
    let report = json_file(path);
    let errors = schema_errors(&report);
    assert!(
        errors.is_empty(),
        "{} does not validate: {errors:#?}",
        path.display()
    );
    report
}
