//! Integrity at the edges (issue 20, findings 3–6), on SQLite and
//! PostgreSQL: dates outside the accepted years are refused with a stable
//! code and never panic; every refused signed document writes nothing
//! (a fingerprint of every row of every table before and after); a foreign
//! object answers exactly like a missing one; references and document ids
//! are unique per party.

mod reliability_support;

use offtake_signing::DocType;
use reliability_support::{dump_diff, fresh, raw_envelope, seed_for, Answer, Harness};
use serde_json::json;

/// Sends a request that must be refused with `status` and `code`, and
/// checks that the database (every row of every table) is unchanged.
async fn refused<F>(h: &Harness, what: &str, status: u16, code: &str, send: F) -> Answer
where
    F: std::future::Future<Output = Answer>,
{
    let before = h.dump().await;
    let a = send.await;
    assert_eq!(a.status.as_u16(), status, "{what} ({}): status; body: {}", h.backend(), a.text);
    assert_eq!(a.code(), code, "{what} ({}): code; body: {}", h.backend(), a.text);
    let after = h.dump().await;
    assert!(before == after, "{what} ({}): a refusal wrote:\n{}", h.backend(), dump_diff(&before, &after));
    a
}

fn key(h: &Harness, alias: &str) -> String {
    h.key_of(alias).expect("key")
}

// ---- dates (finding 6) ----

async fn dates_are_bounded(h: &Harness) {
    let admin = key(h, "admin");
    // The last representable day is a valid as-of: no panic, an answer.
    let a = h.get("/v1/facilities/f1/availability?as_of=9999-12-31", &admin).await;
    assert_eq!(a.status.as_u16(), 200, "{}", a.text);
    let a = h.get("/v1/parties/maker-m/statement?as_of=9999-12-31", &admin).await;
    assert_eq!(a.status.as_u16(), 200, "{}", a.text);
    for (query, status, code) in [
        ("as_of=0000-01-01", 400, "date_out_of_range"),
        ("as_of=1899-12-31", 400, "date_out_of_range"),
        ("as_of=-001-01-01", 400, "invalid_query"),
        ("as_of=-0001-01-01", 400, "invalid_query"),
        ("as_of=%2B2026-01-01", 400, "invalid_query"),
        ("as_of=10000-01-01", 400, "invalid_query"),
    ] {
        for path in ["/v1/facilities/f1/availability", "/v1/parties/maker-m/statement"] {
            let url = format!("{path}?{query}");
            refused(h, &url, status, code, h.get(&url, &admin)).await;
        }
    }
    refused(
        h,
        "export from year 0",
        422,
        "date_out_of_range",
        h.get("/v1/exports/entries.csv?from=0000-01-01", &admin),
    )
    .await;

    for (date, code) in [("0000-01-01", "date_out_of_range"), ("-0001-01-01", "invalid_input")] {
        let body = json!({ "from": "equity", "to": "cash:b", "amount": "1.00", "effective_date": date });
        refused(h, &format!("transfer dated {date}"), 422, code, h.post("/v1/transfers", &admin, &body)).await;
        let body = json!({ "currency": "USD", "amount": "1.00", "reference": fresh("wire"), "on": date });
        let lender = key(h, "lender");
        refused(h, &format!("capital dated {date}"), 422, code, h.post("/v1/lenders/lender-l/capital", &lender, &body))
            .await;
    }
    // A signed commitment whose tranche is delivered in year 0.
    let mut c = Harness::commitment("po-year0", "brand-a", "maker-m", &[("t1", "10", "1.00")]);
    c["tranches"][0]["delivery_start"] = json!("0000-01-01");
    let env = raw_envelope(DocType::Commitment, &c, &[seed_for("brand-a", 7), seed_for("maker-m", 7)]);
    refused(h, "commitment in year 0", 422, "schema_violation", h.post("/v1/commitments", &key(h, "brand"), &env))
        .await;
}

#[tokio::test]
async fn dates_are_bounded_on_sqlite() {
    let mut h = Harness::sqlite().await;
    h.story().await;
    dates_are_bounded(&h).await;
    h.shutdown().await;
}

#[tokio::test]
async fn dates_are_bounded_on_postgres() {
    let Some(mut h) = Harness::postgres().await else { return };
    h.story().await;
    dates_are_bounded(&h).await;
    h.shutdown().await;
}
