//! Property: for any sequence of finance events, every posting balances
//! (each currency and book sums to zero) and no accepted draw leaves
//! availability negative.

mod support;

use offtake_finance::{AdvanceStatus, TrancheStatus};
use offtake_testkit::TestStore;
use proptest::prelude::*;
use support::*;
use time::macros::date;
use time::Duration;

#[derive(Clone, Debug)]
enum Event {
    Commit { units: u32, days_out: u16 },
    Draw { amount_units: u32 },
    Decide { pick: usize, approve: bool },
    Deliver { pick: usize },
    Accrue { days: u16 },
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        (1u32..500, 0u16..400).prop_map(|(units, days_out)| Event::Commit { units, days_out }),
        (1u32..40_000).prop_map(|amount_units| Event::Draw { amount_units }),
        (0usize..8, any::<bool>()).prop_map(|(pick, approve)| Event::Decide { pick, approve }),
        (0usize..8).prop_map(|pick| Event::Deliver { pick }),
        (1u16..60).prop_map(|days| Event::Accrue { days }),
    ]
}

async fn run(events: Vec<Event>) {
    let ts = TestStore::sqlite().await;
    let fin = finance(ts.store.clone()).await;
    let mut t = terms(2_000_000_000);
    t.concentration_bps = 10_000;
    open_accepted(&fin, "f1", "lender-l", "maker-m", t, date!(2026 - 01 - 01)).await.unwrap();
    let mut today = date!(2026 - 01 - 02);
    let mut n = 0;
    for e in events {
        n += 1;
        let stamp = format!("{today}T10:00:00Z");
        match e {
            Event::Commit { units, days_out } => {
                let start = today + Duration::days(i64::from(days_out));
                let doc =
                    commitment(&format!("po{n}"), "brand-a", "maker-m", &[("t1", &units.to_string(), "100.00", start)]);
                fin.submit_commitment(&doc).await.unwrap();
            }
            Event::Draw { amount_units } => {
                let req = request(&format!("d{n}"), "f1", "maker-m", &format!("{amount_units}.00"), &stamp);
                match fin.request_advance(&req, now(&stamp)).await {
                    Ok(_) => {
                        let a = fin.availability("f1", today).await.unwrap();
                        assert!(a.available_minor >= 0, "accepted draw left availability {}", a.available_minor);
                    }
                    Err(e) => assert_eq!(e.code(), "insufficient_availability", "{e}"),
                }
            }
            Event::Decide { pick, approve } => {
                let pending: Vec<_> =
                    fin.advances().await.unwrap().into_iter().filter(|a| a.status == AdvanceStatus::Pending).collect();
                if let Some(adv) = pending.get(pick % pending.len().max(1)) {
                    let doc = fin.document(&adv.request_hash).await.unwrap().expect("request stored");
                    let decision = if approve { "approve" } else { "reject" };
                    fin.decide_advance(&approval(&doc, "f1", "lender-l", decision, &stamp)).await.unwrap();
                }
            }
            Event::Deliver { pick } => {
                let open: Vec<_> = fin
                    .commitments()
                    .await
                    .unwrap()
                    .into_iter()
                    .filter(|c| c.tranches[0].status == TrancheStatus::Scheduled)
                    .collect();
                if let Some(c) = open.get(pick % open.len().max(1)) {
                    fin.deliver(&c.doc_id, "t1", today).await.unwrap();
                }
            }
            Event::Accrue { days } => {
                today += Duration::days(i64::from(days));
                fin.accrue("f1", today).await.unwrap();
            }
        }
        assert_books_balance(&fin).await;
    }
    // Accruing through the same day twice books nothing the second time.
    fin.accrue("f1", today).await.unwrap();
    assert_books_balance(&fin).await;
    let head = fin.store().head(fin.ledger()).await.unwrap();
    fin.accrue("f1", today).await.unwrap();
    assert_eq!(fin.store().head(fin.ledger()).await.unwrap(), head);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    #[test]
    fn any_event_sequence_keeps_the_books_balanced(events in prop::collection::vec(event(), 1..14)) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(run(events));
    }
}
