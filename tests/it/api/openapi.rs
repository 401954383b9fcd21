//! The OpenAPI document: generated from the code, served at
//! `/openapi.json`, and checked in at `schemas/openapi.json`. This test
//! fails when the checked-in copy is stale; `UPDATE_OPENAPI=1 cargo test
//! --test it api::openapi` rewrites it.

use crate::support::api as api_support;

use std::path::PathBuf;

fn checked_in_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemas").join("openapi.json")
}

#[test]
fn checked_in_openapi_is_current() {
    let generated = offtake_api::openapi::to_pretty_json(&offtake_api::server::document());
    let path = checked_in_path();
    if std::env::var("UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &generated).expect("write schemas/openapi.json");
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "schemas/openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test -p offtake --test it api::openapi` and commit it"
    );
}

#[test]
fn every_v1_operation_declares_auth_and_problems() {
    let doc: serde_json::Value = serde_json::to_value(offtake_api::server::document()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.keys().any(|p| p == "/v1/transfers"));
    for (path, item) in paths.iter().filter(|(p, _)| p.starts_with("/v1/")) {
        for (method, op) in item.as_object().unwrap() {
            assert!(op["security"][0]["bearer"].is_array(), "{method} {path} has no bearer security");
            for status in ["401", "404", "422", "500"] {
                assert!(op["responses"][status].is_object(), "{method} {path} lacks {status}");
            }
            if method == "post" {
                let params = op["parameters"].as_array().unwrap();
                assert!(params.iter().any(|p| p["name"] == "Idempotency-Key" && p["required"] == true));
                assert!(op["responses"]["409"].is_object() && op["responses"]["413"].is_object());
            }
        }
    }
}

#[tokio::test]
async fn the_served_document_is_the_checked_in_one() {
    let s = api_support::sqlite().await;
    let served = s.client.get(s.url("/openapi.json")).send().await.unwrap().text().await.unwrap();
    assert_eq!(served, offtake_api::openapi::to_pretty_json(&offtake_api::server::document()));
}
