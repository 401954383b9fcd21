//! Parsing: the fixture files of several banks' styles, and the refusals
//! (malformed, truncated, entities, oversize, unknown currency, scale).

use offtake_bank::{parse_statements, BankError, Direction, Format};
use offtake_ledger::Currency;
use time::macros::date;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

fn refused(bytes: &[u8]) -> BankError {
    parse_statements(bytes).expect_err("must be refused")
}

#[test]
fn camt053_structured_unstructured_batched_and_pending() {
    let s = parse_statements(&fixture("camt053_north_bank.xml")).unwrap();
    assert_eq!(s.len(), 1);
    let s = &s[0];
    assert_eq!(
        (s.format, s.id.as_str(), s.account.as_str(), s.currency),
        (Format::Camt053, "NB-700123456-20260405", "700123456", Currency::USD)
    );
    assert_eq!(s.opening.as_ref().map(|b| (b.date, b.amount_minor)), Some((date!(2026 - 04 - 05), 0)));
    assert_eq!(s.closing.as_ref().map(|b| b.amount_minor), Some(12_623_456));
    // The pending entry is not booked; the batch is two lines.
    let refs: Vec<&str> = s.lines.iter().map(|l| l.reference.as_str()).collect();
    assert_eq!(refs, ["NB2604050001", "NB2604050002", "NB2604050003-1", "NB2604050003-2"]);
    let acme = &s.lines[0];
    assert_eq!(acme.amount_minor, 5_000_000);
    assert_eq!(acme.direction, Direction::Credit);
    assert_eq!(acme.end_to_end_id.as_deref(), Some("ACME-PAY-20260405"));
    assert_eq!(acme.remittance.structured, ["po-acme-2026--t1"]);
    assert_eq!(acme.counterparty_name.as_deref(), Some("ACME APPAREL INC"));
    assert_eq!(acme.counterparty_account.as_deref(), Some("991100220033"));
    let unknown = &s.lines[1];
    assert_eq!(unknown.end_to_end_id, None, "NOTPROVIDED is no id");
    assert_eq!(unknown.remittance.unstructured, ["WIRE PAYMENT MARCH SAMPLES"]);
    assert_eq!(s.lines[2].amount_minor + s.lines[3].amount_minor, 7_500_000);
    assert_eq!(s.lines[3].value_date, date!(2026 - 04 - 06));
    assert_eq!(s.lines[3].remittance.unstructured, ["Invoice po-globex-2026--t1 part 2 of 2"]);
}

#[test]
fn camt054_iban_multi_line_text_and_a_return() {
    let s = parse_statements(&fixture("camt054_euro_bank.xml")).unwrap();
    let s = &s[0];
    assert_eq!((s.format, s.account.as_str()), (Format::Camt054, "DE89370400440532013000"));
    assert_eq!(s.opening, None);
    let credit = &s.lines[0];
    assert_eq!(credit.amount_minor, 15_000_000);
    assert_eq!(credit.remittance.unstructured, ["REMAINDER PO-ACME-2026 TRANCHE 1", "THANK YOU"]);
    assert_eq!(credit.counterparty_account.as_deref(), Some("GB29NWBK60161331926819"));
    let ret = &s.lines[1];
    assert!(ret.is_return);
    assert_eq!(ret.return_reason.as_deref(), Some("AC04"));
    assert_eq!(ret.end_to_end_id.as_deref(), Some("remit:f1:remit-0001"));
    assert_eq!(ret.amount_minor, 400_000);
}

#[test]
fn mt940_german_subfields() {
    let s = parse_statements(&fixture("mt940_hausbank.sta")).unwrap();
    let s = &s[0];
    assert_eq!((s.format, s.id.as_str(), s.account.as_str()), (Format::Mt940, "STARTUMSE/00091/001", "0634569870"));
    assert_eq!(s.opening.as_ref().map(|b| b.amount_minor), Some(100_000));
    assert_eq!(s.closing.as_ref().map(|b| (b.date, b.amount_minor)), Some((date!(2026 - 04 - 07), 2_519_950)));
    let l = &s.lines[0];
    assert_eq!((l.reference.as_str(), l.amount_minor), ("HB0407000123", 2_500_000));
    assert_eq!(l.end_to_end_id.as_deref(), Some("ACME-APR-PART2"));
    assert_eq!(l.counterparty_name.as_deref(), Some("ACME APPAREL INC"));
    assert_eq!(l.counterparty_account.as_deref(), Some("GB29NWBK60161331926819"));
    assert!(l.remittance.unstructured[0].contains("po-acme-2026--t1"), "{:?}", l.remittance);
    assert_eq!((s.lines[1].direction, s.lines[1].amount_minor), (Direction::Debit, 80_050));
}

#[test]
fn mt940_sepa_style_and_reversal() {
    let s = parse_statements(&fixture("mt940_ing_style.sta")).unwrap();
    let s = &s[0];
    let l = &s.lines[0];
    assert_eq!((l.reference.as_str(), l.amount_minor), ("ING26040800017", 1_250_000));
    assert_eq!(l.end_to_end_id.as_deref(), Some("ACME-0408-PO"));
    assert_eq!(l.remittance.unstructured, ["po-acme-2026 partial payment"]);
    assert_eq!(l.counterparty_name.as_deref(), Some("Acme Apparel Inc"));
    let r = &s.lines[1];
    assert!(r.is_return);
    assert_eq!(
        (r.direction, r.return_reason.as_deref(), r.end_to_end_id.as_deref()),
        (Direction::Credit, Some("AC04"), Some("adv-0001"))
    );
}

#[test]
fn bai2_totals_continuations_and_value_dates() {
    let s = parse_statements(&fixture("bai2_first_us.bai")).unwrap();
    let s = &s[0];
    assert_eq!(
        (s.format, s.account.as_str(), s.id.as_str()),
        (Format::Bai2, "700123456", "260409A/700123456/2026-04-08")
    );
    assert_eq!(s.opening.as_ref().map(|b| b.amount_minor), Some(5_000_000));
    assert_eq!(s.closing.as_ref().map(|b| b.amount_minor), Some(5_748_000));
    assert_eq!(s.lines.len(), 3);
    assert_eq!(s.lines[0].counterparty_name.as_deref(), Some("ACME APPAREL INC"));
    assert_eq!(s.lines[0].remittance.structured, ["po-acme-2026--t1"]);
    assert_eq!(s.lines[1].value_date, date!(2026 - 04 - 09));
    assert!(s.lines[1].remittance.unstructured[0].contains("PO-GLOBEX-2026--T1"));
    assert_eq!(s.lines[2].direction, Direction::Debit);
}

#[test]
fn truncated_files_are_refused_whole() {
    for name in ["camt053_north_bank.xml", "camt054_euro_bank.xml", "mt940_hausbank.sta", "bai2_first_us.bai"] {
        let full = fixture(name);
        // Cut before the end: every format must notice.
        let cut = &full[..full.len() * 2 / 3];
        let e = refused(cut);
        assert_eq!(e.code(), "malformed_file", "{name}: {e}");
    }
}

#[test]
fn errors_name_the_line_or_element() {
    let xml = String::from_utf8(fixture("camt053_north_bank.xml"))
        .unwrap()
        .replace("<Amt Ccy=\"USD\">1234.56</Amt>", "<Amt Ccy=\"USD\">12x4.56</Amt>");
    let e = refused(xml.as_bytes());
    assert_eq!(e.code(), "malformed_file");
    assert!(e.to_string().contains("Ntry[2]/Amt"), "{e}");

    let bai = String::from_utf8(fixture("bai2_first_us.bai")).unwrap().replace("16,195,275000", "16,195,275001");
    let e = refused(bai.as_bytes());
    assert!(e.to_string().contains("record 49"), "{e}");

    let mt = String::from_utf8(fixture("mt940_hausbank.sta")).unwrap().replace("D800,50", "D800,40");
    let e = refused(mt.as_bytes());
    assert!(e.to_string().contains("closing"), "{e}");

    let batch = String::from_utf8(fixture("camt053_north_bank.xml"))
        .unwrap()
        .replace("<Amt Ccy=\"USD\">35000.00</Amt>", "<Amt Ccy=\"USD\">35000.01</Amt>");
    let e = refused(batch.as_bytes());
    assert!(e.to_string().contains("batched"), "{e}");
}

#[test]
fn unknown_currency_and_scale_are_refused() {
    let xml = String::from_utf8(fixture("camt053_north_bank.xml")).unwrap();
    let e = refused(xml.replace("<Ccy>USD</Ccy>", "<Ccy>XYZ</Ccy>").as_bytes());
    assert_eq!(e.code(), "unknown_currency", "{e}");
    let e = refused(xml.replace(">1234.56<", ">1234.567<").as_bytes());
    assert_eq!(e.code(), "amount_scale", "{e}");
    let mt = String::from_utf8(fixture("mt940_hausbank.sta")).unwrap();
    let e = refused(mt.replace("C260406USD1000,00", "C260406ZZZ1000,00").as_bytes());
    assert_eq!(e.code(), "unknown_currency", "{e}");
    let e = refused(mt.replace("D800,50N", "D800,505N").as_bytes());
    assert_eq!(e.code(), "amount_scale", "{e}");
}

#[test]
fn xml_bombs_and_entities_are_refused() {
    let bomb = br#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><Stmt><Id>&lol2;</Id></Stmt></BkToCstmrStmt></Document>"#;
    assert_eq!(refused(bomb).code(), "xml_entity_refused");
    let external = br#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><Stmt><Id>&xxe;</Id></Stmt></BkToCstmrStmt></Document>"#;
    assert_eq!(refused(external).code(), "xml_entity_refused");
    // Predefined entities and character references are plain text.
    let xml = String::from_utf8(fixture("camt053_north_bank.xml"))
        .unwrap()
        .replace("WIRE PAYMENT MARCH SAMPLES", "R&amp;D &#x41;");
    let s = parse_statements(xml.as_bytes()).unwrap();
    assert_eq!(s[0].lines[1].remittance.unstructured, ["R&D A"]);
}

#[test]
fn oversize_and_unknown_files_are_refused() {
    let big = vec![b' '; offtake_bank::MAX_FILE_BYTES + 1];
    assert_eq!(refused(&big).code(), "file_too_large");
    assert_eq!(refused(b"hello").code(), "unknown_format");
    let deep = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
    assert_eq!(refused(deep.as_bytes()).code(), "malformed_file");
}

/// Every truncation and many single-byte changes of every fixture parse to
/// a statement or a refusal; none panics.
#[test]
fn damaged_files_never_panic() {
    let names = [
        "camt053_north_bank.xml",
        "camt054_euro_bank.xml",
        "mt940_hausbank.sta",
        "mt940_ing_style.sta",
        "bai2_first_us.bai",
    ];
    for name in names {
        let full = fixture(name);
        for cut in (0..full.len()).step_by(3) {
            let _ = parse_statements(&full[..cut]);
        }
        for (i, replacement) in
            (0..full.len()).step_by(7).zip([b'9', b'-', b',', b'/', b'<', b'&', 0xC3, b'\n', b':', b'?'].iter().cycle())
        {
            let mut bent = full.clone();
            bent[i] = *replacement;
            let _ = parse_statements(&bent);
        }
    }
    let status = fixture("pain002_north_bank.xml");
    for cut in 0..status.len() {
        let _ = offtake_bank::pain002::parse(&status[..cut]);
    }
}
