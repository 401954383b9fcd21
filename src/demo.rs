//! `offtake demo`: the whole story, told by the real code on a fresh
//! embedded database — sign, fund, draw, accrue, deliver, invoice, pay,
//! settle, export, verify — printing what happened at each step.

use crate::output::out;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use offtake_audit_export::{export_bundle, verify_bundle, BundleOptions, LedgerKey, PeriodSpec};
use offtake_finance::{Availability, Eligibility, FacilityTerms, Finance, PartyRole};
use offtake_ledger::{verify_history, AccountCode, AmountMinor, AsOf, Currency, LedgerId, Store};
use offtake_settlement::{NoticeState, Settlement};
use offtake_signing::{seal, sign, DocType, Envelope, RegisteredKey, Role, SigningKey};
use serde_json::json;
use time::macros::{date, datetime};
use time::OffsetDateTime;

const USD: Currency = Currency::USD;
/// Every demo document stays valid until then.
const EXPIRES_AT: &str = "2027-12-31T00:00:00Z";

/// "1234567.8" → "1,234,567.80" in the currency's decimals.
pub fn money(minor: i64, currency: Currency) -> String {
    let plain = AmountMinor::new(minor.abs()).format(currency);
    let (int, frac) = plain.split_once('.').map_or((plain.as_str(), None), |(i, f)| (i, Some(f)));
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let sign = if minor < 0 { "-" } else { "" };
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

fn usd(minor: i64) -> String {
    money(minor, USD)
}

struct Story {
    fin: Finance,
    keys: Vec<(String, SigningKey)>,
    nonce: u32,
}

impl Story {
    fn key(&self, party: &str) -> anyhow::Result<&SigningKey> {
        self.keys.iter().find(|(p, _)| p == party).map(|(_, k)| k).context("demo key")
    }

    /// A document body with the common header, sealed and signed by `parties`.
    fn document(
        &mut self,
        doc_type: DocType,
        doc_id: &str,
        issued_at: &str,
        fields: serde_json::Value,
        parties: &[&str],
    ) -> anyhow::Result<Envelope> {
        self.nonce += 1;
        let mut body = json!({
            "type": doc_type.as_str(),
            "version": 1,
            "doc_id": doc_id,
            "issued_at": issued_at,
            "expires_at": EXPIRES_AT,
            "nonce": format!("demo-nonce-{:08}", self.nonce),
        });
        if let (Some(b), Some(f)) = (body.as_object_mut(), fields.as_object()) {
            b.extend(f.clone());
        }
        let mut env = seal(doc_type, &body)?;
        for p in parties {
            sign(&mut env, self.key(p)?)?;
        }
        Ok(env)
    }

    async fn posted(&self, code: &str) -> anyhow::Result<i64> {
        let b = self.fin.store().balance(self.fin.ledger(), &AccountCode::new(code)?, AsOf::Now).await?;
        Ok(b.posted_minor)
    }

    async fn show(&self, code: &str) -> anyhow::Result<()> {
        out!("      {:<34} {:>14}", code, usd(self.posted(code).await?));
        Ok(())
    }
}

fn at(text: &str) -> anyhow::Result<OffsetDateTime> {
    offtake_ledger::date::parse_rfc3339(text).with_context(|| format!("{text:?} is not an RFC 3339 time"))
}

fn print_availability(a: &Availability) {
    out!("      tranche                      delivery     value          counts");
    for t in &a.tranches {
        let why = match t.eligibility {
            Eligibility::Eligible => "eligible".to_owned(),
            Eligibility::TooFarOut => "no: delivery beyond the eligibility window".to_owned(),
            other => format!("no: {other:?}").to_lowercase(),
        };
        out!(
            "      {:<28} {}  {:>13}  {}",
            format!("{}/{} ({})", t.commitment, t.tranche, t.brand),
            t.delivery_start,
            usd(t.value_minor),
            why
        );
    }
    for b in &a.brands {
        if b.excess_minor > 0 {
            out!(
                "      concentration cap for {}: {} of {} eligible counts ({} above the cap)",
                b.brand,
                usd(b.counted_minor),
                usd(b.eligible_minor),
                usd(b.excess_minor)
            );
        }
    }
    out!(
        "      base {} × {}% = {}; limit {}; outstanding {}; pending {} → available {}",
        usd(a.counted_minor),
        a.advance_rate_bps / 100,
        usd(a.base_minor),
        usd(a.limit_minor),
        usd(a.outstanding_minor),
        usd(a.pending_minor),
        usd(a.available_minor)
    );
}

pub async fn run(store: Arc<dyn Store>, where_: &str) -> anyhow::Result<()> {
    let ledger = LedgerId::new("demo")?;
    let fin = Finance::open(store.clone(), ledger.clone()).await?;
    out!("offtake demo — ledger \"demo\" on {} ({where_})\n", store.backend());
    let mut story = Story::register_parties(fin.clone()).await?;
    story.open_facility().await?;
    let now = at("2026-01-05T09:00:00Z")?;
    story.sign_commitments(now).await?;
    story.draw(now).await?;
    let invoice = story.accrue_and_deliver().await?;
    story.settle(&invoice).await?;
    statements(&fin).await?;
    over_time(&fin).await?;
    books(store.as_ref(), &ledger).await?;

    out!("\n14. Audit export: a signed bundle, verified offline");
    // Unique per run: process ids are reused, and the ledger key refuses to
    // overwrite an existing file.
    let nanos = offtake_ledger::date::now().unix_timestamp_nanos();
    let dir = std::env::temp_dir().join(format!("offtake-demo-audit-{}-{nanos}", std::process::id()));
    let verified = audit(&fin, &dir).await?;
    out!("   {}", dir.display());
    out!("   bundle ok: {verified}");

    out!("\n15. Events: what the story told each party, in ledger order (offtake events list, GET /v1/events)");
    print_events(store.as_ref(), &ledger).await?;
    Ok(())
}

impl Story {
    /// Scene 1.
    async fn register_parties(fin: Finance) -> anyhow::Result<Story> {
        out!("1. Parties register, each with an Ed25519 signing key");
        let mut story = Story { fin: fin.clone(), keys: Vec::new(), nonce: 0 };
        for (id, role, name, signing_role) in [
            ("acme", PartyRole::Brand, "Acme Outdoor (brand)", Role::Brand),
            ("globex", PartyRole::Brand, "Globex Retail (brand)", Role::Brand),
            ("loomworks", PartyRole::Maker, "Loomworks Ltd (maker)", Role::Maker),
            ("northbank", PartyRole::Lender, "North Bank (lender)", Role::Lender),
        ] {
            fin.register_party(id, role, name).await?;
            let key = SigningKey::generate(id, signing_role)?;
            let reg = RegisteredKey::new(id, signing_role, &key.public_key_hex(), datetime!(2025-01-01 0:00 UTC))?;
            fin.keys().register(&reg).await?;
            out!("   {:<24} key {}", name, key.key_id());
            story.keys.push((id.to_owned(), key));
        }
        Ok(story)
    }

    /// Scene 2.
    async fn open_facility(&mut self) -> anyhow::Result<()> {
        let fin = self.fin.clone();
        out!("\n2. North Bank puts 500,000.00 into the program and opens facility F1 for Loomworks");
        fin.fund_lender("northbank", USD, AmountMinor::parse("500000.00", USD)?, date!(2026 - 01 - 02), "wire-0001")
            .await?;
        let mut terms = FacilityTerms::example(USD, AmountMinor::parse("300000.00", USD)?.get());
        terms.concentration_bps = 7_000;
        fin.open_facility("f1", "northbank", "loomworks", terms.clone(), date!(2026 - 01 - 02)).await?;
        out!(
            "   limit {}, advance rate {}%, concentration {}%, {}% {:?}, fee {}%, eligibility {} days",
            usd(terms.limit_minor.get()),
            terms.advance_rate_bps / 100,
            terms.concentration_bps / 100,
            terms.rate_bps / 100,
            terms.day_count,
            terms.fee_bps / 100,
            terms.eligibility_days
        );
        let acceptance = self.document(
            DocType::FacilityAcceptance,
            "accept-f1",
            "2026-01-02T15:00:00Z",
            json!({"facility": "f1", "lender": "northbank", "maker": "loomworks"}),
            &["loomworks"],
        )?;
        let f1 = fin.accept_facility_envelope(&acceptance, at("2026-01-02T15:00:00Z")?).await?;
        out!("   Loomworks signs its acceptance: f1 is {:?} (an offer cannot be drawn)", f1.status);
        Ok(())
    }

    /// Scene 3.
    async fn sign_commitments(&mut self, now: OffsetDateTime) -> anyhow::Result<()> {
        let fin = self.fin.clone();
        out!("\n3. Brands and Loomworks sign purchase commitments (both signatures required)");
        let acme = self.document(
        DocType::Commitment,
        "po-acme-2026",
        "2026-01-03T10:00:00Z",
        json!({
            "brand": "acme", "maker": "loomworks", "currency": "USD", "status": "active", "prev_hash": null,
            "tranches": [
                {"id": "t1", "quantity": "1000", "unit_price": "200.00", "delivery_start": "2026-03-01", "delivery_end": "2026-03-31"},
                {"id": "t2", "quantity": "1000", "unit_price": "200.00", "delivery_start": "2026-06-01", "delivery_end": "2026-06-30"},
                {"id": "t3", "quantity": "1000", "unit_price": "200.00", "delivery_start": "2027-01-04", "delivery_end": "2027-01-31"},
            ],
            "terms": {"payment_days": 30, "shortfall_pct": "10"},
        }),
        &["acme"],
    )?;
        match fin.submit_commitment_envelope(&acme, now).await {
            Err(e) => out!("   signed by Acme only            → refused [{}]", e.code()),
            Ok(_) => anyhow::bail!("a commitment signed by one party was accepted"),
        }
        let mut acme = acme;
        sign(&mut acme, self.key("loomworks")?)?;
        let c = fin.submit_commitment_envelope(&acme, now).await?;
        out!("   po-acme-2026 (Acme → Loomworks)  {} in 3 tranches, accepted", usd(c.undelivered_minor()));
        let globex = self.document(
        DocType::Commitment,
        "po-globex-2026",
        "2026-01-04T10:00:00Z",
        json!({
            "brand": "globex", "maker": "loomworks", "currency": "USD", "status": "active", "prev_hash": null,
            "tranches": [
                {"id": "t1", "quantity": "500", "unit_price": "150.00", "delivery_start": "2026-04-01", "delivery_end": "2026-04-30"},
            ],
            "terms": {"payment_days": 45, "shortfall_pct": "5"},
        }),
        &["globex", "loomworks"],
    )?;
        let c = fin.submit_commitment_envelope(&globex, now).await?;
        out!("   po-globex-2026 (Globex → Loomworks) {} in 1 tranche, accepted", usd(c.undelivered_minor()));
        out!("   memo book:");
        self.show("memo:maker:loomworks:backlog:usd").await?;
        Ok(())
    }

    /// Scenes 4 to 6: availability, a held request, a refused one, the
    /// lender's approval.
    async fn draw(&mut self, now: OffsetDateTime) -> anyhow::Result<()> {
        let fin = self.fin.clone();
        out!("\n4. Availability for Loomworks on 2026-01-05, with the breakdown");
        print_availability(&fin.availability("f1", date!(2026 - 01 - 05)).await?);

        out!("\n5. Loomworks signs a request for 80,000.00: availability is held (pending entry)");
        let request = self.document(
            DocType::AdvanceRequest,
            "adv-0001",
            "2026-01-05T08:00:00Z",
            json!({"facility": "f1", "maker": "loomworks", "amount": "80000.00", "currency": "USD"}),
            &["loomworks"],
        )?;
        let adv = fin.request_advance_envelope(&request, now).await?;
        out!("   advance {} pending (hold = entry {})", adv.id, adv.hold_seq);
        let too_much = self.document(
            DocType::AdvanceRequest,
            "adv-0002",
            "2026-01-05T08:30:00Z",
            json!({"facility": "f1", "maker": "loomworks", "amount": "250000.00", "currency": "USD"}),
            &["loomworks"],
        )?;
        match fin.request_advance_envelope(&too_much, now).await {
            Err(e) => out!("   a second request for 250,000.00 → refused [{}]: {e}", e.code()),
            Ok(_) => anyhow::bail!("an advance above availability was accepted"),
        }

        out!("\n6. North Bank countersigns the request: funded on 2026-01-05, fee 1% booked");
        let verified = fin.verify_envelope(&request, now).await?;
        let approval = self.document(
        DocType::AdvanceApproval,
        "apr-0001",
        "2026-01-05T08:45:00Z",
        json!({"facility": "f1", "lender": "northbank", "request_hash": verified.body_hash_hex(), "decision": "approve"}),
        &["northbank"],
    )?;
        let funded = fin.decide_advance_envelope(&approval, now).await?;
        out!("   advance {} {:?}, fee {}", funded.id, funded.status, usd(funded.fee_minor));
        self.show("facility:f1:principal").await?;
        self.show("facility:f1:fees").await?;
        Ok(())
    }

    /// Scenes 7 and 8: interest accrues; a delivery becomes an invoice.
    async fn accrue_and_deliver(&self) -> anyhow::Result<offtake_finance::Invoice> {
        let fin = &self.fin;
        out!("\n7. Interest accrues daily: the job runs through 2026-04-04 (90 days)");
        let report = fin.accrue("f1", date!(2026 - 04 - 04)).await?;
        let from_funding = (date!(2026 - 04 - 04) - date!(2026 - 01 - 05)).whole_days() + 1;
        out!(
            "   {} days on 80,000.00 at 12% ACT/360: interest {} (ACT/365F would give 2,367.12)",
            from_funding,
            usd(report.interest_total_minor)
        );
        let again = fin.accrue("f1", date!(2026 - 04 - 04)).await?;
        out!("   running it again books {} more: idempotent", usd(again.interest_minor));

        out!("\n8. Loomworks delivers Acme's first tranche: it leaves the base and becomes an invoice");
        let invoice = fin.deliver("po-acme-2026", "t1", date!(2026 - 03 - 15)).await?;
        out!("   invoice {} to {}: {} due {}", invoice.id, invoice.brand, usd(invoice.amount_minor), invoice.due_on);
        print_availability(&fin.availability("f1", date!(2026 - 03 - 15)).await?);
        Ok(invoice)
    }

    /// Scenes 9 and 10: the brand pays through the bank, the waterfall
    /// applies it, a credit is matched by hand, the maker is paid.
    async fn settle(&self, invoice: &offtake_finance::Invoice) -> anyhow::Result<()> {
        let (fin, story) = (&self.fin, self);
        out!(
        "\n9. Acme pays 50,000.00 (value 2026-04-05): North Bank's statement is imported, not typed; sent three times"
    );
        let settlement = Settlement::new(fin.clone());
        let scene = crate::demo_bank::BankScene::open(&settlement).await?;
        let mut owed_minor = 0;
        for part in ["principal", "interest", "fees"] {
            owed_minor += story.posted(&format!("facility:f1:{part}")).await?;
        }
        scene.first_statement(&invoice.id, owed_minor).await?;
        let run = settlement.settle_once("demo-worker").await?;
        out!("   settlement worker: {} applied (the replays were no-ops)", run.applied);
        let rec = settlement.notice(&scene.first_notice()).await?;
        let NoticeState::Applied { seq, breakdown } = rec.state else { anyhow::bail!("payment not applied") };
        out!("   entry {seq}, waterfall:");
        for p in &breakdown.debt {
            out!("      {:<10} {:>12}", p.part.as_str(), usd(p.amount_minor));
        }
        out!("      {:<10} {:>12}", "to maker", usd(breakdown.remainder_minor));
        story.show("facility:f1:principal").await?;
        story.show(&format!("invoice:{}", invoice.id)).await?;
        story.show("cash:lender:northbank:usd").await?;
        story.show("income:northbank:interest:usd").await?;
        story.show("income:northbank:fees:usd").await?;

        out!(
            "\n10. Acme pays the rest with a reference no rule knows; North Bank matches it by hand; Loomworks is paid"
        );
        let notice = scene.second_credit(&invoice.id).await?;
        settlement.settle_once("demo-worker").await?;
        scene.second_statement(&notice).await?;
        let remit = settlement.remit("remit-0001", "f1", date!(2026 - 04 - 11)).await?;
        let statement = settlement.remittance_statement("f1").await?;
        for l in &statement.lines {
            out!(
                "   {}  {}  applied {:>12}  to lender {:>12}  to maker {:>12}",
                l.value_date,
                l.external_ref,
                usd(l.applied_minor),
                usd(l.debt_paid_minor),
                usd(l.remainder_minor)
            );
        }
        out!("   remitted {} to Loomworks; still payable {}", usd(remit.amount_minor), usd(statement.payable_minor));
        story.show("facility:f1:principal").await?;
        scene.payout(date!(2026 - 04 - 11)).await?;
        scene.reconcile(date!(2026 - 04 - 11)).await?;
        Ok(())
    }
}

/// Scene 11: each party's statement.
async fn statements(fin: &Finance) -> anyhow::Result<()> {
    out!("\n11. Statements on 2026-04-11");
    let m = fin.maker_statement("loomworks", date!(2026 - 04 - 11)).await?;
    for f in &m.facilities {
        out!(
            "   Loomworks, {}: limit {}, base {}, drawn {}, available {}, interest due {}, fees due {}",
            f.facility,
            usd(f.limit_minor),
            usd(f.base_minor),
            usd(f.drawn_minor),
            usd(f.available_minor),
            usd(f.interest_due_minor),
            usd(f.fees_due_minor)
        );
    }
    let l = fin.lender_statement("northbank", date!(2026 - 04 - 11)).await?;
    for e in l.per_maker.iter().chain(l.per_brand.iter()) {
        out!("   North Bank exposure to {:<20} {:>14}", e.name, usd(e.exposure_minor));
    }
    for (kind, amount) in &l.income {
        out!("   North Bank income {:<24} {:>14}", kind, usd(*amount));
    }
    for brand in ["acme", "globex"] {
        let b = fin.brand_statement(brand).await?;
        let committed: i64 = b.commitments.iter().map(|c| c.committed_minor).sum();
        let delivered: i64 = b.commitments.iter().map(|c| c.delivered_minor).sum();
        out!(
            "   {brand}: committed {}, delivered {}, invoiced {}, paid {}, outstanding {}",
            usd(committed),
            usd(delivered),
            usd(b.invoiced_minor),
            usd(b.paid_minor),
            usd(b.outstanding_minor)
        );
    }
    Ok(())
}

/// Scene 13: every book sums to zero and both chains verify.
async fn books(store: &dyn Store, ledger: &LedgerId) -> anyhow::Result<()> {
    out!("\n13. The books: every currency and book sums to zero, and the chain verifies");
    let (mut posted_sum, mut accounts) = (0i64, 0);
    let mut cursor: Option<String> = None;
    loop {
        let page = store.list_accounts(ledger, cursor.as_deref(), 1_000).await?;
        for a in &page.items {
            let t = store.balance(ledger, &a.code, AsOf::Now).await?.totals;
            posted_sum += t.posted_debit_minor - t.posted_credit_minor;
            accounts += 1;
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    anyhow::ensure!(posted_sum == 0, "the books do not balance: {posted_sum}");
    out!("   {accounts} accounts, debits − credits = {}", usd(posted_sum));
    let history = verify_history(store, ledger).await.context("verify chain")?;
    let chain = &history.entries;
    out!("   chain ok: {} entries, head hash {}", chain.entries, hex::encode(chain.head.hash));
    out!("   record chain ok: {} record versions", history.records.versions);
    Ok(())
}

/// Every event of the story, one line each, and how many each party sees.
async fn print_events(store: &dyn Store, ledger: &LedgerId) -> anyhow::Result<()> {
    let everyone = |_: &[String]| true;
    let filter = offtake_events::Filter { types: None, visible: &everyone };
    let events = offtake_events::read(store, ledger, offtake_events::Position::START, &filter, 10_000).await?.events;
    let mut seen: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for e in &events {
        out!("   {:>4}  {:<22} {:<28} → {}", e.seq, e.payload.type_name(), e.payload.subject(), e.parties.join(", "));
        for p in &e.parties {
            *seen.entry(p.as_str()).or_default() += 1;
        }
    }
    let counts: Vec<String> = seen.iter().map(|(p, n)| format!("{p} {n}")).collect();
    out!("   {} events; each party sees only its own: {}", events.len(), counts.join(", "));
    Ok(())
}

/// Scene 12: the same program months later, every figure for its own
/// date (docs/collateral.md): Globex's April tranche is never delivered
/// and goes stale; Acme's June tranche is delivered but never paid, so
/// its invoice ages and the days-past-due covenant moves from `met` to
/// `near_breach` to `breached`; then the certificate of the last day.
async fn over_time(fin: &Finance) -> anyhow::Result<()> {
    out!("\n12. Months later: a tranche goes stale, a receivable ages, a covenant moves");
    for day in [date!(2026 - 05 - 15), date!(2026 - 05 - 16)] {
        let a = fin.availability("f1", day).await?;
        let globex = a.tranches.iter().find(|t| t.brand == "globex").context("globex tranche")?;
        out!(
            "   {day}  po-globex-2026/t1 {:<10} ineligible {:>12}  available {:>12}",
            globex.state.as_str(),
            usd(a.ineligible.values().sum()),
            usd(a.available_minor)
        );
    }
    let invoice = fin.deliver("po-acme-2026", "t2", date!(2026 - 06 - 20)).await?;
    out!("   Loomworks delivers Acme's t2 on 2026-06-20: invoice {} due {}, never paid", invoice.id, invoice.due_on);
    for day in [date!(2026 - 08 - 01), date!(2026 - 09 - 15), date!(2026 - 10 - 01)] {
        let aging = fin.aging("f1", day).await?;
        let line = aging.invoices.iter().find(|l| l.invoice == invoice.id).context("aged invoice")?;
        let bbc = fin.bbc("f1", day).await?;
        let dpd = bbc.covenants.iter().find(|c| c.name == "max_days_past_due").context("covenant")?;
        out!(
            "   {day}  {} {:<9} {:>3} days past due; covenant max_days_past_due (60) {:?}",
            line.invoice,
            line.state.as_str(),
            line.days_past_due,
            dpd.state
        );
    }
    let bbc = fin.bbc("f1", date!(2026 - 10 - 01)).await?;
    out!("   borrowing-base certificate, 2026-10-01 (schemas/bbc.schema.json; `offtake bbc show`):");
    for (reason, minor) in &bbc.ineligible {
        out!("      ineligible {:<22} {:>12}", reason, usd(*minor));
    }
    out!(
        "      base {}, limit {}, drawn {}, available {}",
        usd(bbc.base_minor),
        usd(bbc.limit_minor),
        usd(bbc.drawn_minor),
        usd(bbc.available_minor)
    );
    for c in &bbc.covenants {
        out!("      covenant {:<26} {:?}", c.name, c.state);
    }
    Ok(())
}

/// Exports the ledger with its signed source documents and verifies the
/// bundle as an auditor would (no database).
async fn audit(fin: &Finance, dir: &Path) -> anyhow::Result<String> {
    std::fs::create_dir_all(dir)?;
    let docs = dir.join("documents");
    std::fs::create_dir_all(&docs)?;
    let mut keys = serde_json::Map::new();
    for k in fin.keys().list().await? {
        keys.insert(k.key_id, k.public_key_hex.into());
    }
    let keys_file = dir.join("document-keys.json");
    std::fs::write(&keys_file, serde_json::to_vec_pretty(&keys)?)?;
    for rec in fin.store().all_records(fin.ledger(), offtake_finance::model::kind::DOCUMENT).await? {
        let doc: offtake_finance::SignedDocument = rec.decode()?;
        std::fs::write(docs.join(format!("{}.json", rec.id)), serde_json::to_vec(&doc.envelope)?)?;
    }
    let key = LedgerKey::generate(&dir.join("ledger.key"))?;
    let out = dir.join("bundle");
    let opts = BundleOptions {
        ledger: fin.ledger().clone(),
        period: PeriodSpec::default(),
        scope_prefix: None,
        out_dir: out.clone(),
        documents_dir: Some(docs),
        document_keys: Some(keys_file),
    };
    let ledger_store: &dyn offtake_ledger::LedgerStore = fin.store().as_ref();
    export_bundle(ledger_store, &key, &opts).await?;
    let report = verify_bundle(&out, Some(&key.public_key()))?;
    Ok(format!(
        "{} entries, {} accounts, {} signed documents, manifest signed by {}",
        report.entries,
        report.accounts,
        report.documents,
        &report.public_key[..16]
    ))
}
