//! Matching rules, pure: each decision and its explanation.

use offtake_bank::matching::{consume, decide, normal_name, Decision, MatchConfig, OpenInvoice, PayerMapping, Rule};
use offtake_bank::parse_statements;
use offtake_ledger::Currency;
use time::macros::date;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

fn invoices() -> Vec<OpenInvoice> {
    let inv = |id: &str, brand: &str, commitment: &str, open_minor: i64, due| OpenInvoice {
        id: id.into(),
        brand: brand.into(),
        facility: "f1".into(),
        commitment: commitment.into(),
        currency: Currency::USD,
        open_minor,
        due_on: due,
    };
    vec![
        inv("po-acme-2026--t1", "acme", "po-acme-2026", 20_000_000, date!(2026 - 04 - 14)),
        inv("po-acme-2026--t2", "acme", "po-acme-2026", 20_000_000, date!(2026 - 07 - 30)),
        inv("po-globex-2026--t1", "globex", "po-globex-2026", 7_500_000, date!(2026 - 05 - 15)),
    ]
}

fn payers() -> Vec<PayerMapping> {
    vec![
        PayerMapping { brand: "acme".into(), account: Some("GB29NWBK60161331926819".into()), name: None },
        PayerMapping { brand: "globex".into(), account: None, name: Some("Globex Retail Corporation".into()) },
    ]
}

fn payment(d: &Decision) -> &offtake_bank::matching::PaymentMatch {
    match d {
        Decision::Payment(p) => p,
        other => panic!("expected a payment, got {other:?}"),
    }
}

#[test]
fn structured_reference_names_the_invoice() {
    let s = parse_statements(&fixture("camt053_north_bank.xml")).unwrap().remove(0);
    let d = decide(&s.lines[0], &invoices(), &[], MatchConfig::default());
    let p = payment(&d);
    assert_eq!((p.brand.as_str(), p.facility.as_str()), ("acme", "f1"));
    assert_eq!(p.explanation.rule, Rule::InvoiceReference);
    assert_eq!(p.explanation.fields, ["remittance.structured[0]"]);
    assert_eq!(p.allocations.len(), 1);
    assert_eq!((p.allocations[0].invoice.as_str(), p.allocations[0].amount_minor), ("po-acme-2026--t1", 5_000_000));
}

#[test]
fn free_text_without_reference_or_known_payer_is_unmatched() {
    let s = parse_statements(&fixture("camt053_north_bank.xml")).unwrap().remove(0);
    let d = decide(&s.lines[1], &invoices(), &payers(), MatchConfig::default());
    assert!(matches!(d, Decision::Unmatched { .. }), "{d:?}");
}

#[test]
fn several_payments_for_one_invoice_and_overpayment_beyond_tolerance() {
    let s = parse_statements(&fixture("camt053_north_bank.xml")).unwrap().remove(0);
    let mut open = invoices();
    let first = decide(&s.lines[2], &open, &[], MatchConfig::default());
    consume(&mut open, payment(&first));
    let second = decide(&s.lines[3], &open, &[], MatchConfig::default());
    assert_eq!(payment(&second).allocations[0].amount_minor, 3_500_000);
    assert_eq!(payment(&second).explanation.fields, ["remittance.unstructured[0]"]);
    consume(&mut open, payment(&second));
    // The invoice is now fully taken: the same credit again does not match.
    let again = decide(&s.lines[3], &open, &[], MatchConfig::default());
    assert!(matches!(again, Decision::Unmatched { ref reason } if reason.contains("already paid")), "{again:?}");
}

#[test]
fn one_payment_for_several_invoices_must_cover_them() {
    let mut line = parse_statements(&fixture("camt053_north_bank.xml")).unwrap().remove(0).lines.remove(1);
    line.remittance.unstructured = vec!["INV po-acme-2026--t1 + po-acme-2026--t2".into()];
    line.amount_minor = 40_000_000;
    let p = decide(&line, &invoices(), &[], MatchConfig::default());
    let p = payment(&p);
    assert_eq!(p.allocations.iter().map(|a| a.amount_minor).collect::<Vec<_>>(), [20_000_000, 20_000_000]);
    line.amount_minor = 30_000_000;
    let short = decide(&line, &invoices(), &[], MatchConfig::default());
    assert!(matches!(short, Decision::Unmatched { ref reason } if reason.contains("which invoice")), "{short:?}");
}

#[test]
fn tolerance_is_configurable() {
    let mut line = parse_statements(&fixture("camt053_north_bank.xml")).unwrap().remove(0).lines.remove(0);
    line.amount_minor = 20_000_025; // 0.25 over the invoice
    assert!(matches!(decide(&line, &invoices(), &[], MatchConfig::default()), Decision::Unmatched { .. }));
    let d = decide(&line, &invoices(), &[], MatchConfig { tolerance_minor: 50 });
    assert!(payment(&d).explanation.detail.contains("25 over within tolerance"), "{d:?}");
}

#[test]
fn commitment_reference_pays_its_invoices_oldest_first() {
    let s = parse_statements(&fixture("camt054_euro_bank.xml")).unwrap().remove(0);
    let d = decide(&s.lines[0], &invoices(), &[], MatchConfig::default());
    let p = payment(&d);
    assert_eq!(p.explanation.rule, Rule::CommitmentReference);
    assert_eq!(
        p.allocations.iter().map(|a| (a.invoice.as_str(), a.amount_minor)).collect::<Vec<_>>(),
        [("po-acme-2026--t1", 15_000_000)]
    );
}

#[test]
fn payer_account_then_name_mapped_to_a_brand() {
    let mut line = parse_statements(&fixture("camt054_euro_bank.xml")).unwrap().remove(0).lines.remove(0);
    line.remittance.unstructured = vec!["PAYMENT".into()];
    line.amount_minor = 20_000_000;
    let p = decide(&line, &invoices(), &payers(), MatchConfig::default());
    let p = payment(&p);
    assert_eq!(
        (p.brand.as_str(), p.explanation.rule, p.explanation.fields[0].as_str()),
        ("acme", Rule::PayerMapping, "counterparty_account")
    );
    assert_eq!(p.allocations[0].invoice, "po-acme-2026--t1");

    line.counterparty_account = None;
    line.counterparty_name = Some("GLOBEX RETAIL CORPORATION".into());
    line.amount_minor = 1_000_000;
    let p = decide(&line, &invoices(), &payers(), MatchConfig::default());
    let p = payment(&p);
    assert_eq!((p.brand.as_str(), p.explanation.fields[0].as_str()), ("globex", "counterparty_name"));
    assert_eq!(normal_name("Globex Retail Corp."), "globex retail");
}

#[test]
fn debits_and_returns_are_not_brand_payments() {
    let s = parse_statements(&fixture("mt940_ing_style.sta")).unwrap().remove(0);
    let d = decide(&s.lines[1], &invoices(), &payers(), MatchConfig::default());
    assert_eq!(d, Decision::Return { end_to_end_id: Some("adv-0001".into()), reason: Some("AC04".into()) });
    let h = parse_statements(&fixture("mt940_hausbank.sta")).unwrap().remove(0);
    assert_eq!(decide(&h.lines[1], &invoices(), &payers(), MatchConfig::default()), Decision::Outgoing);
}

#[test]
fn an_id_inside_a_longer_id_is_not_named() {
    let mut line = parse_statements(&fixture("camt053_north_bank.xml")).unwrap().remove(0).lines.remove(1);
    line.remittance.unstructured = vec!["po-acme-2026--t10".into()];
    assert!(matches!(decide(&line, &invoices(), &[], MatchConfig::default()), Decision::Unmatched { .. }));
}
