//! The JSON Schema as the tests use it. The published schema
//! (`doc/git-osa-json.schema.json`) is open: readers ignore fields they do not know, so a
//! document with more fields than it describes still validates against it. The tests check
//! git-osa's output against a strict variant made from it, where every object but the
//! document itself allows only the fields it describes: a field added to the output and
//! not to the schema fails them.
//!
//! Shared by the library's unit tests (`src/json`) and the integration tests (`tests/cli`).

use std::path::Path;

use serde_json::Value;

/// The schema as published.
pub fn published() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("doc/git-osa-json.schema.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The published schema, closed: `additionalProperties: false` on every object schema
/// below the top (whose properties are only `version` and `kind`, the rest being each
/// kind's).
pub fn strict() -> Value {
    let mut schema = published();
    for defs in schema.as_object_mut().unwrap().values_mut() {
        close(defs);
    }
    schema
}

fn close(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if map.contains_key("properties") {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            map.values_mut().for_each(close);
        }
        Value::Array(items) => items.iter_mut().for_each(close),
        _ => {}
    }
}

/// What is wrong with `doc` against `schema`, one line per error.
pub fn errors(schema: &Value, doc: &Value) -> Vec<String> {
    let validator = jsonschema::draft202012::new(schema).unwrap();
    validator.iter_errors(doc).map(|e| e.to_string()).collect()
}
