//! Lists read through a secondary index where one applies and stop after
//! the server's scan budget: a page costs at most that many records,
//! whatever the program's size, and following `next_cursor` to its end
//! yields exactly the visible items, in id order, once each.

use crate::support::api as api_support;
use api_support::{sqlite_with, TestServer};
use offtake_api::ApiConfig;
use serde_json::{json, Value};

/// Every item of a list, page by page, and how many pages it took.
async fn follow(s: &TestServer, path: &str, key: &str) -> (Vec<String>, usize) {
    let (mut ids, mut pages, mut cursor) = (Vec::new(), 0, String::new());
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = if cursor.is_empty() { path.to_owned() } else { format!("{path}{sep}cursor={cursor}") };
        let page = s.get(&url, key).await.assert_status(200).clone();
        pages += 1;
        assert!(pages < 100, "the list ends");
        ids.extend(page["items"].as_array().expect("items").iter().map(|i| i["id"].as_str().expect("id").to_owned()));
        match &page["next_cursor"] {
            Value::String(c) => cursor = c.clone(),
            Value::Null => return (ids, pages),
            other => panic!("next_cursor {other:?}"),
        }
    }
}

fn terms(id: &str, lender: &str, maker: &str) -> Value {
    json!({
        "id": id, "lender": lender, "maker": maker, "currency": "USD", "limit": "1000.00",
        "advance_rate_bps": 8000, "eligibility_days": 180, "concentration_bps": 10000, "rate_bps": 1200,
        "day_count": "act360", "fee_bps": 100, "default_margin_bps": 400, "late_fee_bps": 100, "grace_days": 5,
        "rounding": "half_even", "opened_on": "2026-01-05",
    })
}

#[tokio::test]
async fn a_page_reads_at_most_the_scan_budget_and_the_cursor_walks_the_rest() {
    let s = sqlite_with(ApiConfig { list_scan_budget: 3, webhooks: None, ..ApiConfig::default() }).await;
    let lender_a = s.party("lender-a", "lender").await;
    let lender_b = s.party("lender-b", "lender").await;
    s.party("maker-1", "maker").await;
    s.party("maker-2", "maker").await;
    // Seven offers, alternating between the two lenders.
    for n in 1..=7 {
        let (lender, key, maker) =
            if n % 2 == 1 { ("lender-a", &lender_a, "maker-1") } else { ("lender-b", &lender_b, "maker-2") };
        s.post("/v1/facilities", key, &terms(&format!("f{n}"), lender, maker)).await.assert_status(201);
    }
    let all: Vec<String> = (1..=7).map(|n| format!("f{n}")).collect();
    let mine: Vec<String> = ["f1", "f3", "f5", "f7"].map(String::from).to_vec();

    // An admin's list reads the kind in id order: full pages of two.
    let (ids, pages) = follow(&s, "/v1/facilities?limit=2", &s.admin_key).await;
    assert_eq!((ids, pages), (all.clone(), 4));
    // A lender's reads the party index: its four, never the other's, in
    // pages of at most the budget's three records.
    let (ids, pages) = follow(&s, "/v1/facilities", &lender_a).await;
    assert_eq!((ids, pages), (mine.clone(), 2));
    // A filter that matches nothing still answers a page per three
    // records read, each empty with a cursor, until the kind ends.
    let (ids, pages) = follow(&s, "/v1/facilities?status=open", &s.admin_key).await;
    assert_eq!((ids.len(), pages), (0, 3));
    let first = s.get("/v1/facilities?status=open", &s.admin_key).await.assert_status(200).clone();
    assert_eq!(first["items"], json!([]));
    assert_eq!(first["next_cursor"], "f3", "the cursor is the last record read");
    // Another lender's filter from a lender: nothing, as if it did not exist.
    let (ids, _) = follow(&s, "/v1/facilities?lender=lender-b", &lender_a).await;
    assert!(ids.is_empty());
    let (ids, _) = follow(&s, "/v1/facilities?lender=lender-a&limit=1", &lender_a).await;
    assert_eq!(ids, mine);
}
