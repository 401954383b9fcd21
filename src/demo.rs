//! `offtake demo`: the story, told by the real code on a fresh SQLite file.

use std::sync::Arc;

use anyhow::Context;
use offtake_ledger::{
    verify_chain, AccountCode, Action, AmountMinor, AsOf, Book, Command, Currency, LedgerId, LedgerStore, NewAccount,
    NewLeg, Side,
};

const USD: Currency = Currency::USD;

struct Demo {
    store: Arc<dyn LedgerStore>,
    ledger: LedgerId,
    date: time::Date,
}

impl Demo {
    async fn open(&self, code: &str, side: Side, book: Book, non_negative: bool) -> anyhow::Result<()> {
        let spec = NewAccount { code: AccountCode::new(code)?, currency: USD, normal_side: side, book, non_negative };
        self.store.create_account(&self.ledger, &spec).await?;
        Ok(())
    }

    fn leg(code: &str, side: Side, amount: &str) -> anyhow::Result<NewLeg> {
        Ok(NewLeg {
            account: AccountCode::new(code)?,
            side,
            currency: USD,
            amount_minor: AmountMinor::parse(amount, USD)?,
        })
    }

    fn command(&self, key: &str, kind: &str, action: Action) -> Command {
        Command {
            idempotency_key: key.to_owned(),
            kind: kind.to_owned(),
            effective_date: self.date,
            metadata: serde_json::json!({ "story": "demo" }),
            source_hash: None,
            action,
        }
    }

    async fn book(&self, key: &str, kind: &str, legs: Vec<NewLeg>, pending: bool) -> anyhow::Result<i64> {
        let c = self.store.commit(&self.ledger, self.command(key, kind, Action::Record { legs, pending })).await?;
        Ok(c.seq)
    }

    async fn show(&self, code: &str) -> anyhow::Result<()> {
        let b = self.store.balance(&self.ledger, &AccountCode::new(code)?, AsOf::Now).await?;
        println!(
            "      {:<28} posted {:>12}  available {:>12}",
            code,
            AmountMinor::new(b.posted_minor).format(USD),
            AmountMinor::new(b.available_minor).format(USD)
        );
        Ok(())
    }
}

pub async fn run(store: Arc<dyn LedgerStore>, where_: &str) -> anyhow::Result<()> {
    let ledger = LedgerId::new("demo")?;
    store.ensure_ledger(&ledger).await?;
    let date = time::macros::date!(2026 - 01 - 05);
    let d = Demo { store: store.clone(), ledger: ledger.clone(), date };
    println!("offtake demo — ledger \"demo\" on {} ({where_})\n", store.backend());

    println!("1. Chart of accounts for lender L1, maker M1, facility F1, brand B1");
    for (code, side, book, nn) in [
        ("cash:lender:l1", Side::Debit, Book::Main, true),
        ("equity:lender:l1", Side::Credit, Book::Main, false),
        ("facility:f1:principal", Side::Debit, Book::Main, false),
        ("facility:f1:interest", Side::Debit, Book::Main, false),
        ("facility:f1:fees", Side::Debit, Book::Main, false),
        ("income:l1:interest", Side::Credit, Book::Main, false),
        ("income:l1:fees", Side::Credit, Book::Main, false),
        ("cash:collection:f1", Side::Debit, Book::Main, true),
        ("memo:brand:b1:obligation", Side::Debit, Book::Memo, false),
        ("memo:maker:m1:backlog", Side::Credit, Book::Memo, false),
    ] {
        d.open(code, side, book, nn).await?;
    }
    println!("   10 accounts; cash accounts may never go below zero\n");

    println!("2. Brand B1 commits to buy 240,000.00 of goods (memo book)");
    d.book(
        "commitment-b1-1",
        "commitment_signed",
        vec![
            Demo::leg("memo:brand:b1:obligation", Side::Debit, "240000.00")?,
            Demo::leg("memo:maker:m1:backlog", Side::Credit, "240000.00")?,
        ],
        false,
    )
    .await?;
    println!("3. Lender L1 puts 1,000,000.00 into the program");
    d.book(
        "fund-l1",
        "lender_funding",
        vec![
            Demo::leg("cash:lender:l1", Side::Debit, "1000000.00")?,
            Demo::leg("equity:lender:l1", Side::Credit, "1000000.00")?,
        ],
        false,
    )
    .await?;
    d.show("cash:lender:l1").await?;

    println!("\n4. Maker M1 requests an advance of 80,000.00: a pending hold");
    let hold = d
        .book(
            "advance-1",
            "advance_requested",
            vec![
                Demo::leg("facility:f1:principal", Side::Debit, "80000.00")?,
                Demo::leg("cash:lender:l1", Side::Credit, "80000.00")?,
            ],
            true,
        )
        .await?;
    d.show("cash:lender:l1").await?;

    println!("\n5. Lender L1 approves: the hold is posted and the 1% fee (800.00) booked");
    d.store
        .commit(
            &ledger,
            d.command(
                "advance-1-funded",
                "advance_funded",
                Action::PostPending { pending_seq: hold, amount_minor: None },
            ),
        )
        .await?;
    d.book(
        "advance-1-fee",
        "advance_fee",
        vec![
            Demo::leg("facility:f1:fees", Side::Debit, "800.00")?,
            Demo::leg("income:l1:fees", Side::Credit, "800.00")?,
        ],
        false,
    )
    .await?;
    println!("6. 90 days of interest at 12% ACT/360 on 80,000.00 = 2,400.00");
    let interest_seq = d
        .book(
            "interest-q1",
            "interest_accrual",
            vec![
                Demo::leg("facility:f1:interest", Side::Debit, "2400.00")?,
                Demo::leg("income:l1:interest", Side::Credit, "2400.00")?,
            ],
            false,
        )
        .await?;
    d.show("facility:f1:principal").await?;

    println!("\n7. Brand B1 pays 50,000.00; the waterfall pays fees, interest, then principal");
    d.book(
        "payment-bank-ref-0001",
        "brand_payment",
        vec![
            Demo::leg("cash:collection:f1", Side::Debit, "50000.00")?,
            Demo::leg("equity:lender:l1", Side::Credit, "50000.00")?,
        ],
        false,
    )
    .await?;
    d.book(
        "waterfall-bank-ref-0001",
        "waterfall",
        vec![
            Demo::leg("cash:lender:l1", Side::Debit, "50000.00")?,
            Demo::leg("cash:collection:f1", Side::Credit, "50000.00")?,
            Demo::leg("equity:lender:l1", Side::Debit, "50000.00")?,
            Demo::leg("facility:f1:fees", Side::Credit, "800.00")?,
            Demo::leg("facility:f1:interest", Side::Credit, "2400.00")?,
            Demo::leg("facility:f1:principal", Side::Credit, "46800.00")?,
        ],
        false,
    )
    .await?;
    for code in ["facility:f1:fees", "facility:f1:interest", "facility:f1:principal", "cash:lender:l1"] {
        d.show(code).await?;
    }

    println!("\n8. The bank notification arrives again: same key, same payload → nothing new");
    let replay = d
        .store
        .commit(
            &ledger,
            d.command(
                "payment-bank-ref-0001",
                "brand_payment",
                Action::Record {
                    legs: vec![
                        Demo::leg("cash:collection:f1", Side::Debit, "50000.00")?,
                        Demo::leg("equity:lender:l1", Side::Credit, "50000.00")?,
                    ],
                    pending: false,
                },
            ),
        )
        .await?;
    println!("   replayed: {} (entry {})", replay.replayed, replay.seq);

    println!("\n9. Bad input is refused with a stable code and writes nothing");
    let head_before = d.store.head(&ledger).await?;
    match AmountMinor::parse("10.001", USD) {
        Err(e) => println!("   amount \"10.001\" USD       → {}", e.code()),
        Ok(_) => anyhow::bail!("over-scale amount accepted"),
    }
    let overdraft = d
        .book(
            "too-much",
            "transfer",
            vec![
                Demo::leg("facility:f1:principal", Side::Debit, "5000000.00")?,
                Demo::leg("cash:lender:l1", Side::Credit, "5000000.00")?,
            ],
            false,
        )
        .await;
    match overdraft {
        Err(e) => println!(
            "   draw 5,000,000.00          → {}",
            e.downcast_ref::<offtake_ledger::LedgerError>().map_or("error", |l| l.code())
        ),
        Ok(_) => anyhow::bail!("overdraft accepted"),
    }
    anyhow::ensure!(d.store.head(&ledger).await? == head_before, "a refused entry wrote something");

    println!("\n10. History: principal as of entry {interest_seq} (before the payment)");
    let b = d.store.balance(&ledger, &AccountCode::new("facility:f1:principal")?, AsOf::Seq(interest_seq)).await?;
    println!("      facility:f1:principal posted {}", AmountMinor::new(b.posted_minor).format(USD));

    println!("\n11. Verify the hash chain from the first entry");
    let report = verify_chain(store.as_ref(), &ledger).await.context("verify chain")?;
    println!("   chain ok: {} entries, head hash {}", report.entries, hex::encode(report.head.hash));
    Ok(())
}
