//! The import decides a line over the invoices it read for that line (the
//! working set), not over every invoice: the same decisions, line after
//! line, as deciding over all of them (`offtake_bank::lookup`).

use offtake_bank::lookup::{lookups, references, Lookups, WorkingSet, MAX_REFERENCES_PER_LINE};
use offtake_bank::matching::{consume, decide, Decision, MatchConfig, OpenInvoice, PayerMapping};
use offtake_bank::{Direction, Line, Remittance};
use offtake_ledger::Currency;
use proptest::prelude::*;
use time::macros::date;
use time::Duration;

/// An invoice and whether its status is open (what `open_by_brand` files).
#[derive(Clone, Debug)]
struct Stored {
    inv: OpenInvoice,
    status_open: bool,
}

/// Ids that collide in case, prefix one another, continue with `-`, hold
/// punctuation: what a lower-cased whole-token search can confuse.
const COMMITMENTS: &[&str] = &["po-1", "PO-1", "po-1-2", "c.7", "C.7/x", "k", "po"];
const SUFFIXES: &[&str] = &["", "--t1", "--t2", "-a", ".1", "A", "/2"];
const NOISE: &[&str] = &["thanks", "inv", "ref:", "payment", "po-", "-", "1", "t1", "#"];
const WRAP: &[(&str, &str)] =
    &[("", ""), ("(", ")"), ("ref:", ","), ("#", "."), ("x", ""), ("", "y"), ("é", "€"), ("", "-")];

fn invoice_strategy() -> impl Strategy<Value = Stored> {
    (0..COMMITMENTS.len(), 0..SUFFIXES.len(), 0..2usize, 0..2usize, any::<bool>(), 0i64..3_000, 0i64..90, any::<bool>())
        .prop_map(|(c, sfx, brand, facility, status_open, open, due, usd)| Stored {
            inv: OpenInvoice {
                id: format!("{}{}", COMMITMENTS[c], SUFFIXES[sfx]),
                brand: format!("b{brand}"),
                facility: format!("f{facility}"),
                commitment: COMMITMENTS[c].to_owned(),
                currency: if usd { Currency::USD } else { Currency::EUR },
                open_minor: if status_open { open } else { 0 },
                due_on: date!(2026 - 01 - 01) + Duration::days(due),
            },
            status_open,
        })
}

/// One token of a text: an invoice id, a commitment or noise, in some case,
/// wrapped in some punctuation.
fn token_strategy(ids: Vec<String>) -> impl Strategy<Value = String> {
    let pool: Vec<String> = ids
        .into_iter()
        .chain(COMMITMENTS.iter().map(|c| c.to_string()))
        .chain(NOISE.iter().map(|n| n.to_string()))
        .collect();
    (proptest::sample::select(pool), 0..3usize, proptest::sample::select(WRAP.to_vec())).prop_map(
        |(t, case, (a, b))| {
            let t = match case {
                0 => t,
                1 => t.to_uppercase(),
                _ => t.to_lowercase(),
            };
            format!("{a}{t}{b}")
        },
    )
}

fn text_strategy(ids: Vec<String>) -> impl Strategy<Value = String> {
    (proptest::collection::vec(token_strategy(ids), 0..4), proptest::sample::select(vec![" ", "", "/", ";"]))
        .prop_map(|(tokens, sep)| tokens.join(sep))
}

fn line_strategy(ids: Vec<String>) -> impl Strategy<Value = Line> {
    (
        proptest::collection::vec(text_strategy(ids.clone()), 0..2),
        proptest::collection::vec(text_strategy(ids.clone()), 0..2),
        proptest::option::of(text_strategy(ids)),
        1i64..6_000,
        any::<bool>(),
        0..4usize,
        0..10usize,
    )
        .prop_map(|(structured, unstructured, end_to_end_id, amount_minor, usd, payer, kind)| Line {
            reference: "r".into(),
            direction: if kind == 0 { Direction::Debit } else { Direction::Credit },
            amount_minor,
            currency: if usd { Currency::USD } else { Currency::EUR },
            booking_date: date!(2026 - 04 - 10),
            value_date: date!(2026 - 04 - 10),
            end_to_end_id,
            remittance: Remittance { structured, unstructured },
            counterparty_name: (payer == 1).then(|| "Brand One Ltd".to_owned()),
            counterparty_account: (payer == 2).then(|| "ACC-B0".to_owned()),
            is_return: kind == 1,
            return_reason: None,
        })
}

fn payers() -> Vec<PayerMapping> {
    vec![
        PayerMapping { brand: "b0".into(), account: Some("ACC-B0".into()), name: None },
        PayerMapping { brand: "b1".into(), account: None, name: Some("Brand One".into()) },
    ]
}

fn program() -> impl Strategy<Value = (Vec<Stored>, Vec<Line>)> {
    proptest::collection::vec(invoice_strategy(), 0..24).prop_flat_map(|mut invoices| {
        invoices.sort_by(|a, b| a.inv.id.cmp(&b.inv.id));
        invoices.dedup_by(|a, b| a.inv.id == b.inv.id);
        let ids: Vec<String> = invoices.iter().map(|s| s.inv.id.clone()).collect();
        let ids = if ids.is_empty() { vec!["none".to_owned()] } else { ids };
        (Just(invoices), proptest::collection::vec(line_strategy(ids), 1..6))
    })
}

/// What the store's indexes answer for the keys (`invoice.reference`,
/// `invoice.open_by_brand` in the catalogue).
fn read(all: &[Stored], keys: &Lookups) -> Vec<OpenInvoice> {
    all.iter()
        .filter(|s| {
            keys.references.iter().any(|r| s.inv.id.to_lowercase() == *r || s.inv.commitment.to_lowercase() == *r)
                || keys.brand.as_deref().is_some_and(|b| s.status_open && s.inv.brand == b)
        })
        .map(|s| s.inv.clone())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn deciding_over_the_working_set_is_deciding_over_all_invoices((stored, lines) in program(), tolerance in 0i64..3) {
        let config = MatchConfig { tolerance_minor: tolerance };
        prop_assume!(lines.iter().all(|l| references(l).is_some()));
        let payers = payers();
        let mut all: Vec<OpenInvoice> = stored.iter().map(|s| s.inv.clone()).collect();
        let mut working = WorkingSet::default();
        for line in &lines {
            let keys = lookups(line, &payers).expect("under the cap (assumed)");
            let unread = working.unread(&keys);
            working.add(&unread, read(&stored, &unread));
            let got = decide(line, working.invoices(), &payers, config);
            let want = decide(line, &all, &payers, config);
            prop_assert_eq!(&got, &want, "line {:?}", line);
            if let Decision::Payment(m) = &want {
                consume(&mut all, m);
                consume(working.invoices_mut(), m);
            }
            for w in working.invoices() {
                prop_assert_eq!(Some(w), all.iter().find(|a| a.id == w.id), "open amounts agree");
            }
        }
    }

    /// Every id a text names (as the rules see it) is among the references.
    #[test]
    fn the_references_hold_every_named_id((stored, lines) in program()) {
        for line in &lines {
            let Some(refs) = references(line) else { continue };
            for s in &stored {
                let one = decide(&credit(line), std::slice::from_ref(&s.inv), &[], MatchConfig { tolerance_minor: i64::MAX / 4 });
                let named = matches!(&one, Decision::Payment(p) if p.explanation.rule == offtake_bank::matching::Rule::InvoiceReference)
                    || matches!(&one, Decision::Unmatched { reason } if reason.ends_with("already paid"));
                if named && s.inv.currency == line.currency {
                    prop_assert!(refs.contains(&s.inv.id.to_lowercase()), "{} named in {:?}, refs {:?}", s.inv.id, line, refs);
                }
            }
        }
    }
}

fn credit(line: &Line) -> Line {
    Line { direction: Direction::Credit, is_return: false, ..line.clone() }
}

#[test]
fn a_line_with_too_many_possible_references_is_queued_unsearched() {
    let text: String = (0..(MAX_REFERENCES_PER_LINE * 2)).map(|n| format!("r{n} ")).collect();
    let line = Line {
        reference: "r".into(),
        direction: Direction::Credit,
        amount_minor: 100,
        currency: Currency::USD,
        booking_date: date!(2026 - 04 - 10),
        value_date: date!(2026 - 04 - 10),
        end_to_end_id: None,
        remittance: Remittance { structured: vec![], unstructured: vec![text] },
        counterparty_name: None,
        counterparty_account: None,
        is_return: false,
        return_reason: None,
    };
    assert_eq!(references(&line), None);
    let too_many = lookups(&line, &[]).unwrap_err();
    assert!(matches!(too_many.decision(), Decision::Unmatched { reason } if reason.contains("match it by hand")));
}

#[test]
fn references_are_the_whole_tokens_in_lower_case() {
    let line = Line {
        reference: "r".into(),
        direction: Direction::Credit,
        amount_minor: 100,
        currency: Currency::USD,
        booking_date: date!(2026 - 04 - 10),
        value_date: date!(2026 - 04 - 10),
        end_to_end_id: Some("E2E-9".into()),
        remittance: Remittance { structured: vec!["(INV-7a)".into()], unstructured: vec![] },
        counterparty_name: None,
        counterparty_account: None,
        is_return: false,
        return_reason: None,
    };
    let refs = references(&line).unwrap();
    for want in ["inv-7a", "(inv-7a)", "7a", "e2e-9", "9"] {
        assert!(refs.contains(&want.to_owned()), "{want} in {refs:?}");
    }
    // `inv` continues with `-`: no name ends there.
    assert!(!refs.contains(&"inv".to_owned()));
    assert!(!refs.contains(&"e2e".to_owned()));
}
