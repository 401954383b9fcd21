//! The dashboard's server-rendered views over a real `offtake serve`,
//! without a browser: each role's page shows what the API reports for
//! that key, and nothing of another program's parties.
//! (`tests/it/web/dashboard.rs` drives the same pages in Chromium.)

use crate::support::web as web_support;

use serde_json::Value;
use web_support::{advance_approval, advance_request, program, usd, Http, Served, FACILITY, OTHER_FACILITY};

/// The `data-amount` of the element with this id.
fn amount_of(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let rest = &html[at..];
    let start = rest.find("data-amount=\"")? + "data-amount=\"".len();
    Some(rest[start..start + rest[start..].find('"')?].to_owned())
}

#[track_caller]
fn assert_absent(html: &str, who: &str, words: &[&str]) {
    for w in words {
        assert!(!html.contains(w), "{who}'s page shows {w:?}");
    }
}

#[tokio::test]
async fn each_role_sees_its_own_figures_and_nothing_of_the_other_program() {
    let s = Served::start();
    let p = program(&s).await;
    let http = Http::new(&s.base);
    let page = |key: String| {
        let http = http.clone();
        async move {
            let (status, html) = http.get_text("/app/dashboard", &key).await;
            assert_eq!(status, 200, "{html}");
            html
        }
    };

    // Maker: the availability the API reports, with its breakdown.
    let (_, avail) = http.get(&format!("/v1/facilities/{FACILITY}/availability"), &p.maker.api).await;
    assert_eq!(avail["available"]["amount_minor"], 22_400_000, "{avail}");
    let maker = page(p.maker.api.clone()).await;
    assert!(maker.contains(r#"data-role="maker""#));
    assert_eq!(amount_of(&maker, &format!("available-{FACILITY}")).as_deref(), Some("224000.00"));
    assert_eq!(amount_of(&maker, &format!("base-{FACILITY}")).as_deref(), Some("224000.00"));
    for shown in ["po-acme-1 / t1", "po-acme-1 / t2", "po-beta-1 / t1", "Not yet: delivery starts after", "Counts"] {
        assert!(maker.contains(shown), "maker page lacks {shown:?}");
    }
    assert!(maker.contains(r#"data-amount="20000.00""#), "acme's 20,000.00 above the 60 % cap is shown");
    assert!(maker.contains(r#"<svg class="chart" id="chart-fac-alpha""#), "the chart is drawn");
    assert!(maker.contains(r#"<form id="draw-form""#) && maker.contains(r#"data-maker="mill-works""#));
    assert_absent(&maker, "mill-works", &[OTHER_FACILITY, "po-other-9", "other-brand", "other-lender"]);

    // A draw requested through the API shows as pending to the maker and
    // waits for the lender's decision on the lender's page.
    let requested =
        http.post("/v1/advances", &p.maker.api, advance_request(&p.maker, FACILITY, "adv-web-1", "25000.00")).await;
    let request_hash = requested["request_hash"].as_str().unwrap().to_owned();
    let maker = page(p.maker.api.clone()).await;
    assert!(
        maker.contains(r#"data-advance-status="adv-web-1"><span class="badge badge-pendingapproval">pending approval"#)
    );
    assert_eq!(amount_of(&maker, &format!("pending-{FACILITY}")).as_deref(), Some("25000.00"));
    assert_eq!(amount_of(&maker, &format!("available-{FACILITY}")).as_deref(), Some("199000.00"));

    let lender = page(p.lender.api.clone()).await;
    assert!(lender.contains(r#"data-role="lender""#));
    assert!(lender.contains(&format!(r#"data-advance="adv-web-1" data-facility="{FACILITY}" data-lender="harbor-capital" data-request-hash="{request_hash}""#)));
    for shown in ["exposure-makers", "exposure-brands", "acme-apparel", "beta-brands", "over cap", "income-table"] {
        assert!(lender.contains(shown), "lender page lacks {shown:?}");
    }
    assert_absent(&lender, "harbor-capital", &[OTHER_FACILITY, "other-maker", "other-brand", "po-other-9"]);

    let other_lender = page(p.other_lender.api.clone()).await;
    assert!(other_lender.contains(OTHER_FACILITY));
    assert!(other_lender.contains("Nothing waits for your approval."));
    assert_absent(&other_lender, "other-lender", &[FACILITY, "adv-web-1", "mill-works", "acme-apparel", "beta-brands"]);

    // Approved through the API: funded, the fee booked, the availability down.
    http.post(
        "/v1/advances/adv-web-1/approve",
        &p.lender.api,
        advance_approval(&p.lender, FACILITY, "adv-web-1", &request_hash),
    )
    .await;
    let maker = page(p.maker.api.clone()).await;
    assert!(maker.contains(r#"data-advance-status="adv-web-1"><span class="badge badge-funded">funded"#));
    let (_, avail) = http.get(&format!("/v1/facilities/{FACILITY}/availability"), &p.maker.api).await;
    let available = avail["available"]["amount_minor"].as_i64().unwrap();
    assert_eq!(amount_of(&maker, &format!("available-{FACILITY}")), Some(usd(available)));
    assert_eq!(amount_of(&maker, &format!("outstanding-{FACILITY}")).as_deref(), Some("25000.00"));
    assert!(maker.contains(r#"data-amount="250.00""#), "the 1 % fee is due");

    // Brands: their own commitments and nothing of another brand's, even
    // with the same maker.
    let brand = page(p.brand.api.clone()).await;
    assert!(brand.contains(r#"data-role="brand""#) && brand.contains(r#"id="commitment-po-acme-1""#));
    assert_absent(&brand, "acme-apparel", &["po-beta-1", "beta-brands", "po-other-9", FACILITY, "adv-web-1"]);
    let second = page(p.second_brand.api.clone()).await;
    assert!(second.contains(r#"id="commitment-po-beta-1""#));
    assert_absent(&second, "beta-brands", &["po-acme-1", "acme-apparel", "po-other-9"]);
    let other_brand = page(p.other_brand.api.clone()).await;
    assert!(other_brand.contains(r#"id="commitment-po-other-9""#));
    assert_absent(&other_brand, "other-brand", &["po-acme-1", "po-beta-1", "mill-works"]);
    let other_maker = page(p.other_maker.api.clone()).await;
    assert_absent(&other_maker, "other-maker", &[FACILITY, "po-acme-1", "adv-web-1", "harbor-capital"]);

    // Auditor: the chain head the API reports, and a verification.
    let (_, head) = http.get("/v1/chain/head", &p.auditor).await;
    let auditor = page(p.auditor.clone()).await;
    assert!(auditor.contains(r#"data-role="auditor""#));
    assert!(auditor.contains(&format!(r#"<dd id="chain-seq">{}</dd>"#, head["seq"])));
    assert!(auditor.contains(head["hash"].as_str().unwrap()));
    let (status, verified) = http.get_text("/app/chain-verify", &p.auditor).await;
    assert_eq!(status, 200);
    assert!(verified.contains("Chain intact"), "{verified}");
    // Parties may not verify the raw chain: the API's 403 comes through.
    let (status, _) = http.get_text("/app/chain-verify", &p.maker.api).await;
    assert_eq!(status, 403);

    // The operator sees every facility.
    let admin = page(s.admin.clone()).await;
    assert!(admin.contains(FACILITY) && admin.contains(OTHER_FACILITY) && admin.contains("chain-seq"));
}

#[tokio::test]
async fn unknown_keys_get_no_page() {
    let s = Served::start();
    let http = Http::new(&s.base);
    let fake = format!("otk_{}_{}", "a".repeat(24), "b".repeat(64));
    for key in [fake.as_str(), "nonsense"] {
        let (status, body): (u16, Value) = http.get("/app/dashboard", key).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["code"], "unauthenticated");
    }
    let shell = http.client.get(format!("{}/app/", s.base)).send().await.unwrap();
    assert_eq!(shell.status(), 200);
    assert!(shell.headers()["content-security-policy"].to_str().unwrap().contains("script-src 'self'"));
}

#[tokio::test]
async fn a_signed_checkpoint_is_checked_against_the_live_chain() {
    let s = Served::start();
    let p = program(&s).await;
    let http = Http::new(&s.base);
    let key = s.dir.path().join("ledger.key");
    let cp = s.dir.path().join("cp.json");
    let public = s.cli(&["audit", "keygen", "--key", key.to_str().unwrap()]);
    let public = public.split_whitespace().last().unwrap().to_owned();
    s.cli(&["audit", "checkpoint", "--key", key.to_str().unwrap(), "--out", cp.to_str().unwrap()]);
    let body = std::fs::read_to_string(&cp).unwrap();
    // More history after the checkpoint.
    http.post("/v1/advances", &p.maker.api, advance_request(&p.maker, FACILITY, "adv-cp-1", "10.00")).await;

    let check = |query: String, body: String| {
        let http = http.clone();
        let auditor = p.auditor.clone();
        async move {
            let r = http
                .client
                .post(format!("{}/app/checkpoint{query}", http.base))
                .bearer_auth(&auditor)
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.text().await.unwrap()
        }
    };
    let ok = check(format!("?public_key={public}"), body.clone()).await;
    assert!(ok.contains("Checkpoint valid and consistent with the live chain"), "{ok}");
    assert!(ok.contains("1 entries appended since") && ok.contains("signed by the key you expect"), "{ok}");
    let other = "11".repeat(32);
    let pinned = check(format!("?public_key={other}"), body.clone()).await;
    assert!(pinned.contains("not by the key you expect"), "{pinned}");
    let mut forged: Value = serde_json::from_str(&body).unwrap();
    forged["checkpoint"]["tree_size"] = serde_json::json!(1);
    let forged = check(String::new(), forged.to_string()).await;
    assert!(forged.contains("The signature does not verify"), "{forged}");
    let junk = check(String::new(), "{}".to_owned()).await;
    assert!(junk.contains("Not a signed checkpoint"), "{junk}");
}

#[tokio::test]
async fn a_delivery_paid_through_the_waterfall_shows_on_every_page() {
    let s = Served::start();
    let p = program(&s).await;
    let http = Http::new(&s.base);
    let page = |key: String| {
        let http = http.clone();
        async move {
            let (status, html) = http.get_text("/app/dashboard", &key).await;
            assert_eq!(status, 200, "{html}");
            html
        }
    };
    // 100,000.00 drawn and funded (fee 1,000.00); acme's first tranche
    // delivered today and invoiced at 200,000.00; acme pays 210,000.00.
    let requested =
        http.post("/v1/advances", &p.maker.api, advance_request(&p.maker, FACILITY, "adv-flow", "100000.00")).await;
    let hash = requested["request_hash"].as_str().unwrap().to_owned();
    http.post("/v1/advances/adv-flow/approve", &p.lender.api, advance_approval(&p.lender, FACILITY, "adv-flow", &hash))
        .await;
    let today = time::OffsetDateTime::now_utc().date();
    let invoice = http
        .post(
            "/v1/commitments/po-acme-1/tranches/t1/deliver",
            &p.maker.api,
            serde_json::json!({ "delivered_on": today.to_string() }),
        )
        .await;
    let invoice_id = invoice["id"].as_str().unwrap().to_owned();
    let now = time::OffsetDateTime::now_utc();
    let notice = serde_json::json!({
        "type": "payment_notice", "version": 1, "doc_id": "pay-web-1",
        "issued_at": web_support::rfc3339(now - time::Duration::seconds(10)),
        "expires_at": web_support::rfc3339(now + time::Duration::days(7)),
        "nonce": "nonce-pay-web-1-0000000", "brand": p.brand.id, "facility": FACILITY, "amount": "210000.00",
        "currency": "USD", "value_date": today.to_string(), "external_ref": "bank-web-1", "invoice": invoice_id,
    });
    let notice = web_support::envelope(offtake_signing::DocType::PaymentNotice, &notice, &[&p.brand.signer]);
    http.post("/v1/payments", &p.brand.api, notice).await;
    let run = http.post("/v1/settlement-runs", &s.admin, Value::Null).await;
    assert_eq!(run["applied"], 1, "{run}");
    http.post(
        &format!("/v1/facilities/{FACILITY}/remittances"),
        &s.admin,
        serde_json::json!({ "reference": "remit-web-1" }),
    )
    .await;

    // Maker: the principal repaid, the fee paid, the rest remitted.
    let maker = page(p.maker.api.clone()).await;
    assert_eq!(amount_of(&maker, &format!("outstanding-{FACILITY}")).as_deref(), Some("0.00"));
    assert_eq!(amount_of(&maker, &format!("payable-{FACILITY}")).as_deref(), Some("0.00"));
    assert!(maker.contains("bank-web-1") && maker.contains("remit-web-1"), "statement lines");
    assert!(
        maker.contains(r#"data-amount="99000.00""#),
        "199,000.00 applied less 100,000.00 principal and 1,000.00 fee"
    );

    // Brand: the invoice paid, the payment applied, the overpayment a credit.
    let brand = page(p.brand.api.clone()).await;
    assert!(brand.contains(&format!(r#"<th scope="row">{invoice_id}</th>"#)));
    assert!(brand.contains(r#"badge-paid">paid"#) && brand.contains(r#"badge-applied">applied"#), "{brand}");
    assert_eq!(amount_of(&brand, "credit-usd").as_deref(), Some("10000.00"));
    assert!(brand.contains(r#"badge-delivered">delivered"#) || brand.contains(r#"badge-invoiced">invoiced"#));
    assert_absent(&brand, "acme-apparel", &["po-beta-1"]);
    let second = page(p.second_brand.api.clone()).await;
    assert_absent(&second, "beta-brands", &["bank-web-1", &invoice_id]);

    // Lender: the fee booked and collected.
    let lender = page(p.lender.api.clone()).await;
    assert_eq!(amount_of(&lender, "income-fees-usd").as_deref(), Some("1000.00"));
    let other = page(p.other_lender.api.clone()).await;
    assert_absent(&other, "other-lender", &["bank-web-1", &invoice_id, "adv-flow"]);
}

/// The printable certificate at `/app/certificate`: the day's figures as
/// the API's certificate states them, its hash, the chart of the period;
/// another party's facility is the API's 404.
#[tokio::test]
async fn the_printable_certificate_shows_the_days_figures() {
    let s = Served::start();
    let p = program(&s).await;
    let http = Http::new(&s.base);
    let today = time::OffsetDateTime::now_utc().date();
    let (_, cert) = http.get(&format!("/v1/facilities/{FACILITY}/certificate?as_of={today}"), &p.lender.api).await;
    let path = format!("/app/certificate?facility={FACILITY}&as_of={today}");
    let (status, html) = http.get_text(&path, &p.lender.api).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(amount_of(&html, "cert-base").as_deref(), cert["base"]["amount"].as_str());
    assert_eq!(amount_of(&html, "cert-available").as_deref(), cert["available"]["amount"].as_str());
    assert_eq!(amount_of(&html, "cert-drawn").as_deref(), cert["drawn"]["amount"].as_str());
    assert!(html.contains(cert["certificate_hash"].as_str().unwrap()), "the certificate's hash");
    assert!(html.contains("Not signed yet"), "no signature yet");
    assert!(html.contains(r#"<svg class="chart" id="cert-chart-fac-alpha""#), "the chart of the period");
    let (status, _) = http.get_text(&path, &p.other_lender.api).await;
    assert_eq!(status, 404, "another lender's facility does not exist for it");
}
