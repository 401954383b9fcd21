//! The program the bank tests run on: docs/financing.md's facility with the
//! parties the fixture files name, registered bank accounts and payers.

#![allow(dead_code)]

use offtake_bank::{Bank, BankAccount, MatchConfig, PayerMapping, Purpose};
use offtake_finance::PartyRole;
use offtake_ledger::{AmountMinor, Currency};
use offtake_settlement::Settlement;
use offtake_testkit::TestStore;
use time::macros::date;

#[path = "../../finance/tests/support/mod.rs"]
mod finance_support;
pub use finance_support::*;

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

/// Facility f1 (northbank → loomworks), an 80,000.00 advance funded,
/// Acme's first tranche (200,000.00) and Globex's (75,000.00) invoiced.
pub async fn program(ts: &TestStore) -> Bank {
    let fin = finance(ts.store.clone()).await;
    for (id, role, name) in [
        ("acme", PartyRole::Brand, "Acme Apparel Inc"),
        ("globex", PartyRole::Brand, "Globex Retail Corp."),
        ("loomworks", PartyRole::Maker, "Loomworks Ltd"),
        ("northbank", PartyRole::Lender, "North Bank"),
    ] {
        fin.register_party(id, role, name).await.unwrap();
    }
    fin.fund_lender("northbank", USD, AmountMinor::new(1_000_000_000), date!(2026 - 01 - 01), "seed").await.unwrap();
    open_accepted(&fin, "f1", "northbank", "loomworks", terms(50_000_000), date!(2026 - 01 - 01)).await.unwrap();
    let acme = commitment(
        "po-acme-2026",
        "acme",
        "loomworks",
        &[("t1", "1000", "200.00", date!(2026 - 02 - 01)), ("t2", "1000", "200.00", date!(2026 - 06 - 01))],
    );
    fin.submit_commitment(&acme).await.unwrap();
    let globex = commitment("po-globex-2026", "globex", "loomworks", &[("t1", "500", "150.00", date!(2026 - 02 - 15))]);
    fin.submit_commitment(&globex).await.unwrap();
    let req = request("adv-0001", "f1", "loomworks", "80000.00", "2026-01-05T10:00:00Z");
    fin.request_advance(&req, now("2026-01-05T10:00:00Z")).await.unwrap();
    fin.decide_advance(&approval(&req, "f1", "northbank", "approve", "2026-01-05T11:00:00Z")).await.unwrap();
    fin.deliver("po-acme-2026", "t1", date!(2026 - 03 - 15)).await.unwrap();
    fin.deliver("po-globex-2026", "t1", date!(2026 - 03 - 20)).await.unwrap();
    let bank = Bank::new(Settlement::new(fin), MatchConfig { tolerance_minor: 100 });
    let acct = |account: &str, holder: &str, bic: Option<&str>, purpose: Purpose| BankAccount {
        account: account.into(),
        currency: Currency::USD,
        holder: holder.into(),
        bic: bic.map(str::to_owned),
        purpose,
    };
    let f1 = || Purpose::Collection { facility: "f1".into() };
    for a in [
        acct("700123456", "OFFTAKE F1 COLLECTION", Some("NRTHUS33XXX"), f1()),
        acct("DE89 3704 0044 0532 0130 00", "OFFTAKE F1 COLLECTION EUR BANK", Some("COBADEFFXXX"), f1()),
        acct(
            "NB900100200",
            "North Bank Lending Program",
            Some("NRTHUS33XXX"),
            Purpose::Disbursement { lender: "northbank".into() },
        ),
        acct("GB82WEST12345698765432", "Loomworks Ltd", Some("WESTGB2L"), Purpose::Payee { party: "loomworks".into() }),
    ] {
        bank.register_account(a).await.unwrap();
    }
    bank.map_payer(PayerMapping { brand: "acme".into(), account: Some("GB29NWBK60161331926819".into()), name: None })
        .await
        .unwrap();
    bank.map_payer(PayerMapping {
        brand: "globex".into(),
        account: None,
        name: Some("Globex Retail Corporation".into()),
    })
    .await
    .unwrap();
    bank
}

/// Everything the stores hold for this ledger: the chain head, every
/// account's totals and every record of every kind the program writes.
pub async fn fingerprint(bank: &Bank) -> String {
    let fin = bank.finance();
    let store = fin.store();
    let ledger = fin.ledger();
    let mut out = format!("{:?}\n", store.head(ledger).await.unwrap());
    let mut cursor: Option<String> = None;
    loop {
        let page = store.list_accounts(ledger, cursor.as_deref(), 1_000).await.unwrap();
        for a in &page.items {
            let b = store.balance(ledger, &a.code, offtake_ledger::AsOf::Now).await.unwrap();
            out.push_str(&format!("{} {:?}\n", a.code, b.totals));
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    for kind in [
        "party",
        "facility",
        "commitment",
        "advance",
        "invoice",
        "document",
        "nonce",
        "key",
        "payment_notice",
        "remittance",
        "bank_account",
        "bank_payer",
        "bank_statement",
        "bank_line",
        "bank_payout",
        "bank_payout_batch",
    ] {
        for r in store.all_records(ledger, kind).await.unwrap() {
            out.push_str(&format!("{kind}/{}@{} {}\n", r.id, r.version, r.body));
        }
    }
    out
}
