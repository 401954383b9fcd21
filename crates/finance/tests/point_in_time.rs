//! Property (issue 18, rule 5): for any sequence of dated events, the
//! availability (with its whole breakdown) and the aging computed on day D
//! equal the figures recomputed at the end for `as_of = D`.

mod support;

use offtake_finance::{AdvanceStatus, InvoicePayment, InvoiceStatus, Reserve, ReserveAmount, TrancheStatus};
use offtake_testkit::TestStore;
use proptest::prelude::*;
use support::*;
use time::macros::date;
use time::Duration;

#[derive(Clone, Debug)]
enum Event {
    Commit { units: u32, days_out: u16, brand_b: bool },
    Draw { amount_units: u32 },
    Decide { pick: usize, approve: bool },
    Deliver { pick: usize, part: Option<u32> },
    Pay { pick: usize, share_pct: u8 },
    Reserve { bps: u32 },
    Wait { days: u16 },
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        (1u32..500, 0u16..120, any::<bool>()).prop_map(|(units, days_out, brand_b)| Event::Commit {
            units,
            days_out,
            brand_b
        }),
        (1u32..30_000).prop_map(|amount_units| Event::Draw { amount_units }),
        (0usize..8, any::<bool>()).prop_map(|(pick, approve)| Event::Decide { pick, approve }),
        (0usize..8, prop::option::of(1u32..400)).prop_map(|(pick, part)| Event::Deliver { pick, part }),
        (0usize..8, 1u8..=100).prop_map(|(pick, share_pct)| Event::Pay { pick, share_pct }),
        (1u32..2_000).prop_map(|bps| Event::Reserve { bps }),
        (1u16..45).prop_map(|days| Event::Wait { days }),
    ]
}

async fn run(events: Vec<Event>) {
    let ts = TestStore::sqlite().await;
    let fin = finance(ts.store.clone()).await;
    let mut t = terms(2_000_000_000);
    t.concentration_bps = 7_000;
    open_accepted(&fin, "f1", "lender-l", "maker-m", t, date!(2026 - 01 - 01)).await.unwrap();
    let mut today = date!(2026 - 01 - 02);
    let mut seen = Vec::new();
    for (n, e) in events.into_iter().enumerate() {
        let stamp = format!("{today}T10:00:00Z");
        match e {
            Event::Commit { units, days_out, brand_b } => {
                let start = today + Duration::days(i64::from(days_out));
                let brand = if brand_b { "brand-b" } else { "brand-a" };
                let mut doc =
                    commitment(&format!("po{n}"), brand, "maker-m", &[("t1", &units.to_string(), "100.00", start)]);
                doc.body["issued_at"] = stamp.clone().into();
                doc.body_hash = offtake_ledger::hash::sha256(&serde_json::to_vec(&doc.body).unwrap());
                fin.submit_commitment(&doc).await.unwrap();
            }
            Event::Draw { amount_units } => {
                let req = request(&format!("d{n}"), "f1", "maker-m", &format!("{amount_units}.00"), &stamp);
                if let Err(e) = fin.request_advance(&req, now(&stamp)).await {
                    assert!(["insufficient_availability", "overadvanced"].contains(&e.code()), "{e}");
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
            Event::Deliver { pick, part } => {
                let open: Vec<_> = fin
                    .commitments()
                    .await
                    .unwrap()
                    .into_iter()
                    .filter(|c| c.tranches[0].status == TrancheStatus::Scheduled)
                    .collect();
                if let Some(c) = open.get(pick % open.len().max(1)) {
                    let q = part.map(|p| p.to_string());
                    match fin.deliver_part(&c.doc_id, "t1", today, q.as_deref()).await {
                        Ok(_) => {}
                        Err(e) => assert_eq!(e.code(), "invalid_input", "{e}"),
                    }
                }
            }
            Event::Pay { pick, share_pct } => {
                let open: Vec<_> =
                    fin.invoices().await.unwrap().into_iter().filter(|i| i.status == InvoiceStatus::Open).collect();
                if let Some(inv) = open.get(pick % open.len().max(1)) {
                    let amount_minor = (inv.open_minor() * i64::from(share_pct) / 100).max(1);
                    let p = InvoicePayment { value_date: today, amount_minor, reference: format!("p{n}") };
                    fin.record_invoice_payment(&inv.id, p).await.unwrap();
                }
            }
            Event::Reserve { bps } => {
                let r =
                    Reserve { name: "dilution".into(), effective_on: today, amount: ReserveAmount::Percent { bps } };
                fin.set_reserve("f1", r).await.unwrap();
            }
            Event::Wait { days } => {
                // The day closes: its figures are taken before time moves on.
                seen.push((fin.availability("f1", today).await.unwrap(), fin.aging("f1", today).await.unwrap()));
                today += Duration::days(i64::from(days));
            }
        }
    }
    seen.push((fin.availability("f1", today).await.unwrap(), fin.aging("f1", today).await.unwrap()));
    for (availability, aging) in seen {
        let d = availability.as_of;
        assert_eq!(fin.availability("f1", d).await.unwrap(), availability, "availability of {d} changed");
        assert_eq!(fin.aging("f1", d).await.unwrap(), aging, "aging of {d} changed");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    #[test]
    fn figures_of_a_past_day_recompute_to_what_they_were(events in prop::collection::vec(event(), 1..24)) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(run(events));
    }
}
