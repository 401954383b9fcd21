//! Bank files over HTTP (crates/bank): statement import with matching
//! (`POST /v1/bank-statements`, `dry_run` to preview), the reconciliation
//! queue and hand matches, payout files (`POST /v1/payouts`,
//! `GET /v1/payouts/{batch}`), bank status reports and the cash
//! reconciliation. Lender operations: admin keys (the lender's
//! operators); the queue, hand matches and the cash reconciliation also
//! to a lender key, for the accounts of its own facilities only.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use offtake_bank::import::{ImportReport, LineOutcome};
use offtake_bank::payouts::{Owed, PayoutBatch};
use offtake_bank::status::StatusImport;
use offtake_bank::{Bank, BankAccount, BankError, Decision, HandMatch, MatchConfig, PayerMapping, Purpose};
use offtake_ledger::Currency;
use offtake_wire::{BankQueueItem, CashReconDay};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::created;
use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_statement))
        .routes(routes!(register_account, list_accounts))
        .routes(routes!(map_payer))
        .routes(routes!(queue))
        .routes(routes!(match_line))
        .routes(routes!(create_payouts, owed_payouts))
        .routes(routes!(get_payouts))
        .routes(routes!(import_status))
        .routes(routes!(reconciliation))
}

fn bank(state: &AppState, tolerance_minor: i64) -> Bank {
    Bank::new(state.settlement().clone(), MatchConfig { tolerance_minor })
}

/// Bank errors as problems: bad files and unknown accounts are 422,
/// conflicts with what was imported 409, missing things 404.
fn api_error(e: BankError) -> ApiError {
    let code = e.code();
    match e {
        BankError::Settlement(inner) => inner.into(),
        BankError::NotFound { kind, id } => ApiError::not_found(format!("{kind} {id:?}")),
        BankError::StatementConflict(_) | BankError::EntryConflict(_) | BankError::InvalidState { .. } => {
            ApiError::Conflict { code, detail: e.to_string() }
        }
        other => ApiError::unprocessable(code, other.to_string()),
    }
}

/// Amounts are the wire's one money object.
use offtake_wire::Money as BankMoney;

fn money(minor: i64, currency: Currency) -> BankMoney {
    BankMoney::new(minor, currency)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatementUpload {
    /// The file's text: camt.053, camt.054, MT940 or BAI2.
    pub file: String,
    /// Say what the import would do; write nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// A credit may exceed the invoices it pays by this much (minor units).
    #[serde(default)]
    pub tolerance_minor: i64,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct StatementLineDoc {
    pub key: String,
    pub reference: String,
    /// `new` or `already_imported`.
    pub status: String,
    /// `credit` or `debit`.
    pub direction: String,
    pub money: BankMoney,
    /// `YYYY-MM-DD`.
    pub booking_date: String,
    pub value_date: String,
    /// `payment`, `unmatched`, `outgoing` or `return`.
    pub decision: String,
    /// For a payment: the brand, facility, invoices and the rule that
    /// matched (with the fields it read); otherwise the reason.
    pub detail: LineDetail,
}

/// Why a statement line got its decision.
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct LineDetail {
    /// The brand a matched credit pays for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facility: Option<String>,
    /// Invoices a matched credit pays, with the minor units each gets.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allocations: Vec<AllocationDoc>,
    /// The matching rule (`invoice_reference`, `commitment_reference`, `payer_mapping`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The statement fields the rule read (`remittance.structured[0]`, `end_to_end_id`, …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// In words: what matched, or why nothing did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A return's end-to-end id (the payout it sends back).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_to_end_id: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AllocationDoc {
    pub invoice: String,
    pub amount_minor: i64,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct StatementDocB {
    pub key: String,
    pub id: String,
    pub account: String,
    pub format: String,
    pub status: String,
    pub lines: Vec<StatementLineDoc>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ImportReportDoc {
    pub dry_run: bool,
    pub matched: usize,
    pub queued: usize,
    pub already_imported: usize,
    pub statements: Vec<StatementDocB>,
}

/// A unit enum variant's serde name (`Rule::InvoiceReference` → `invoice_reference`).
fn enum_name<T: Serialize>(value: &T) -> Result<String, ApiError> {
    match serde_json::to_value(value).map_err(|e| ApiError::Internal(e.to_string()))? {
        serde_json::Value::String(name) => Ok(name),
        other => Ok(other.to_string()),
    }
}

fn line_doc(l: &LineOutcome) -> Result<StatementLineDoc, ApiError> {
    let (decision, detail) = match &l.decision {
        Decision::Payment(p) => (
            "payment",
            LineDetail {
                brand: Some(p.brand.clone()),
                facility: Some(p.facility.clone()),
                allocations: p
                    .allocations
                    .iter()
                    .map(|a| AllocationDoc { invoice: a.invoice.clone(), amount_minor: a.amount_minor })
                    .collect(),
                rule: Some(enum_name(&p.explanation.rule)?),
                fields: p.explanation.fields.clone(),
                reason: Some(p.explanation.detail.clone()),
                end_to_end_id: None,
            },
        ),
        Decision::Unmatched { reason } => {
            ("unmatched", LineDetail { reason: Some(reason.clone()), ..Default::default() })
        }
        Decision::Outgoing => ("outgoing", LineDetail::default()),
        Decision::Return { end_to_end_id, reason } => (
            "return",
            LineDetail { end_to_end_id: end_to_end_id.clone(), reason: reason.clone(), ..Default::default() },
        ),
    };
    Ok(StatementLineDoc {
        key: l.key.clone(),
        reference: l.reference.clone(),
        status: l.status.to_owned(),
        direction: format!("{:?}", l.line.direction).to_lowercase(),
        money: money(l.line.amount_minor, l.line.currency),
        booking_date: l.line.booking_date.to_string(),
        value_date: l.line.value_date.to_string(),
        decision: decision.to_owned(),
        detail,
    })
}

fn report_doc(r: &ImportReport) -> Result<ImportReportDoc, ApiError> {
    let mut statements = Vec::new();
    for s in &r.statements {
        statements.push(StatementDocB {
            key: s.key.clone(),
            id: s.id.clone(),
            account: s.account.clone(),
            format: s.format.as_str().to_owned(),
            status: s.status.to_owned(),
            lines: s.lines.iter().map(line_doc).collect::<Result<_, _>>()?,
        });
    }
    Ok(ImportReportDoc {
        dry_run: r.dry_run,
        matched: r.matched,
        queued: r.queued,
        already_imported: r.already_imported,
        statements,
    })
}

/// Import a bank statement (admin). Matched credits go to the settlement
/// queue, the rest to the reconciliation queue; the same file again
/// changes nothing. A dry run answers `200` and writes nothing.
#[utoipa::path(post, path = "/bank-statements", tag = "bank", request_body = StatementUpload,
    responses((status = 201, description = "Imported", body = ImportReportDoc),
              (status = 200, description = "Dry run: what an import would do", body = ImportReportDoc)))]
async fn import_statement(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<StatementUpload>,
) -> Result<Response, ApiError> {
    principal.require_admin()?;
    if body.tolerance_minor < 0 {
        return Err(ApiError::unprocessable("invalid_input", "tolerance_minor must not be negative"));
    }
    let report =
        bank(&state, body.tolerance_minor).import(body.file.as_bytes(), body.dry_run).await.map_err(api_error)?;
    let doc = report_doc(&report)?;
    if body.dry_run {
        return Ok((StatusCode::OK, Json(doc)).into_response());
    }
    Ok(created("/v1/bank-queue", doc))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BankAccountInput {
    /// IBAN or account number.
    pub account: String,
    #[schema(example = "USD")]
    pub currency: String,
    pub holder: String,
    pub bic: Option<String>,
    /// `collection` (a facility's), `disbursement` (a lender's) or `payee`.
    #[schema(example = "collection")]
    pub purpose: String,
    /// The facility, lender or party the purpose names.
    pub owner: String,
}

fn account_doc(a: &BankAccount) -> BankAccountInput {
    let (purpose, owner) = match &a.purpose {
        Purpose::Collection { facility } => ("collection", facility),
        Purpose::Disbursement { lender } => ("disbursement", lender),
        Purpose::Payee { party } => ("payee", party),
    };
    BankAccountInput {
        account: a.account.clone(),
        currency: a.currency.to_string(),
        holder: a.holder.clone(),
        bic: a.bic.clone(),
        purpose: purpose.to_owned(),
        owner: owner.clone(),
    }
}

/// Register a bank account (admin).
#[utoipa::path(post, path = "/bank-accounts", tag = "bank", request_body = BankAccountInput,
    responses((status = 201, body = BankAccountInput)))]
async fn register_account(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<BankAccountInput>,
) -> Result<Response, ApiError> {
    principal.require_admin()?;
    let purpose = match body.purpose.as_str() {
        "collection" => Purpose::Collection { facility: body.owner },
        "disbursement" => Purpose::Disbursement { lender: body.owner },
        "payee" => Purpose::Payee { party: body.owner },
        other => {
            return Err(ApiError::unprocessable(
                "invalid_input",
                format!("purpose {other:?}: collection, disbursement or payee"),
            ))
        }
    };
    let currency = Currency::from_code(&body.currency)?;
    let acct = BankAccount { account: body.account, currency, holder: body.holder, bic: body.bic, purpose };
    let done = bank(&state, 0).register_account(acct).await.map_err(api_error)?;
    Ok(created("/v1/bank-accounts", account_doc(&done)))
}

/// The registered bank accounts (admin).
#[utoipa::path(get, path = "/bank-accounts", tag = "bank", operation_id = "list_bank_accounts",
    responses((status = 200, body = Vec<BankAccountInput>)))]
async fn list_accounts(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Vec<BankAccountInput>>, ApiError> {
    principal.require_admin()?;
    Ok(Json(bank(&state, 0).accounts().await.map_err(api_error)?.iter().map(account_doc).collect()))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayerInput {
    pub brand: String,
    pub account: Option<String>,
    pub name: Option<String>,
}

/// Map a payer's account or name to a brand (admin).
#[utoipa::path(post, path = "/bank-payers", tag = "bank", request_body = PayerInput,
    responses((status = 201, body = PayerInput)))]
async fn map_payer(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<PayerInput>,
) -> Result<Response, ApiError> {
    principal.require_admin()?;
    let m = bank(&state, 0)
        .map_payer(PayerMapping { brand: body.brand, account: body.account, name: body.name })
        .await
        .map_err(api_error)?;
    Ok(created("/v1/bank-payers", PayerInput { brand: m.brand, account: m.account, name: m.name }))
}

/// The bank accounts a caller works: every one for an operator (`None`),
/// a lender's own (its facilities' collection accounts, its disbursement
/// account); anyone else is refused.
async fn worked_accounts(b: &Bank, principal: &Principal) -> Result<Option<Vec<String>>, ApiError> {
    if principal.is_admin() {
        return Ok(None);
    }
    if principal.role != Role::Lender {
        return Err(ApiError::forbidden("the bank queue and cash reconciliation are the lender's"));
    }
    Ok(Some(b.lender_accounts(principal.party_id.as_str()).await.map_err(api_error)?))
}

fn works(accounts: &Option<Vec<String>>, account: &str) -> bool {
    accounts.as_ref().is_none_or(|a| a.iter().any(|x| x == account))
}

/// Credits waiting to be matched by hand: an operator sees every
/// account's, a lender its own accounts'.
#[utoipa::path(get, path = "/bank-queue", tag = "bank", responses((status = 200, body = Vec<BankQueueItem>)))]
async fn queue(State(state): State<AppState>, principal: Principal) -> Result<Json<Vec<BankQueueItem>>, ApiError> {
    let b = bank(&state, 0);
    let mine = worked_accounts(&b, &principal).await?;
    let items = b.queue().await.map_err(api_error)?;
    Ok(Json(items.iter().filter(|q| works(&mine, &q.account)).map(BankQueueItem::from).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchInput {
    pub brand: String,
    pub facility: String,
    /// Invoices it pays, in order (empty: the brand's open invoices).
    #[serde(default)]
    pub invoices: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MatchDoc {
    pub key: String,
    /// The payment notice queued for settlement.
    pub payment: String,
    pub by: String,
}

/// Match a queued credit by hand (an operator, or the lender of the
/// account; another lender's line answers like a missing one); it is
/// queued for settlement.
#[utoipa::path(post, path = "/bank-queue/{key}/match", tag = "bank",
    params(("key" = String, Path, description = "The line's key")), request_body = MatchInput,
    responses((status = 201, body = MatchDoc)))]
async fn match_line(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(key): ApiPath<String>,
    ApiJson(body): ApiJson<MatchInput>,
) -> Result<Response, ApiError> {
    let b = bank(&state, 0);
    let mine = worked_accounts(&b, &principal).await?;
    let line = b.line(&key).await.map_err(api_error)?;
    if line.is_none_or(|l| !works(&mine, &l.account)) {
        return Err(api_error(BankError::NotFound { kind: "statement line", id: key }));
    }
    let by = format!("api:{}", principal.key_id);
    let m = HandMatch { brand: body.brand, facility: body.facility, invoices: body.invoices, by: by.clone() };
    let line = b.match_by_hand(&key, m).await.map_err(api_error)?;
    let payment = match &line.state {
        offtake_bank::LineState::MatchedByHand { notice, .. } => notice.clone(),
        _ => String::new(),
    };
    Ok(created(&format!("/v1/payments/{payment}"), MatchDoc { key, payment, by }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayoutsInput {
    /// Batch id, the file's MsgId (at most 30 characters).
    #[schema(example = "PB-20260411")]
    pub batch: String,
    /// Requested execution date `YYYY-MM-DD` (default: today, UTC).
    pub on: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PayoutDoc {
    pub end_to_end_id: String,
    /// `advance` or `remittance`.
    pub kind: String,
    pub party: String,
    pub money: BankMoney,
    pub on: String,
    /// Why it cannot go out yet, if so.
    pub blocked: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PayoutBatchDoc {
    pub id: String,
    pub execution_date: String,
    pub payouts: Vec<String>,
    pub file_sha256: String,
    /// The ledger entry recording the file's hash.
    pub ledger_seq: i64,
    /// The pain.001.001.09 file.
    pub xml: String,
}

fn batch_doc(b: PayoutBatch) -> PayoutBatchDoc {
    PayoutBatchDoc {
        id: b.id,
        execution_date: b.execution_date.to_string(),
        payouts: b.payouts,
        file_sha256: b.file_sha256,
        ledger_seq: b.ledger_seq,
        xml: b.xml,
    }
}

fn owed_doc(o: &Owed) -> PayoutDoc {
    PayoutDoc {
        end_to_end_id: o.end_to_end_id.clone(),
        kind: format!("{:?}", o.kind).to_lowercase(),
        party: o.party.clone(),
        money: money(o.amount_minor, o.currency),
        on: o.on.to_string(),
        blocked: o.blocked.clone(),
    }
}

/// Write the payouts owed as a pain.001.001.09 batch (admin). The same
/// batch id again answers the same file.
#[utoipa::path(post, path = "/payouts", tag = "bank", request_body = PayoutsInput,
    responses((status = 201, body = PayoutBatchDoc)))]
async fn create_payouts(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<PayoutsInput>,
) -> Result<Response, ApiError> {
    principal.require_admin()?;
    let on = offtake_ledger::date::date_or_today(body.on.as_deref())?;
    let b = bank(&state, 0).create_batch(&body.batch, on).await.map_err(api_error)?;
    Ok(created(&format!("/v1/payouts/{}", b.id), batch_doc(b)))
}

/// Payouts owed and not yet in a batch (admin).
#[utoipa::path(get, path = "/payouts", tag = "bank", responses((status = 200, body = Vec<PayoutDoc>)))]
async fn owed_payouts(State(state): State<AppState>, principal: Principal) -> Result<Json<Vec<PayoutDoc>>, ApiError> {
    principal.require_admin()?;
    Ok(Json(bank(&state, 0).owed_payouts().await.map_err(api_error)?.iter().map(owed_doc).collect()))
}

/// One payout batch and its file (admin).
#[utoipa::path(get, path = "/payouts/{batch}", tag = "bank",
    params(("batch" = String, Path, description = "Batch id")), responses((status = 200, body = PayoutBatchDoc)))]
async fn get_payouts(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(batch): ApiPath<String>,
) -> Result<Json<PayoutBatchDoc>, ApiError> {
    principal.require_admin()?;
    if offtake_ledger::record::check_record_key("batch", &batch).is_err() {
        return Err(ApiError::not_found(format!("payout batch {batch:?}")));
    }
    Ok(Json(batch_doc(bank(&state, 0).batch(&batch).await.map_err(api_error)?)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusUpload {
    /// The pain.002 file's text.
    pub file: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentStatusDoc {
    pub end_to_end_id: String,
    /// `accepted`, `rejected`, `pending` or `unchanged`.
    pub result: String,
    /// The reversal of a rejected payout.
    pub reversal_seq: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusImportDoc {
    pub report: String,
    pub batch: String,
    pub payments: Vec<PaymentStatusDoc>,
}

fn status_doc(s: StatusImport) -> StatusImportDoc {
    StatusImportDoc {
        report: s.report,
        batch: s.batch,
        payments: s
            .payments
            .into_iter()
            .map(|p| PaymentStatusDoc {
                end_to_end_id: p.end_to_end_id,
                result: p.result.to_owned(),
                reversal_seq: p.reversal_seq,
            })
            .collect(),
    }
}

/// Import a pain.002 status report (admin): rejected payouts are reversed.
#[utoipa::path(post, path = "/payout-status-reports", tag = "bank", request_body = StatusUpload,
    responses((status = 201, body = StatusImportDoc)))]
async fn import_status(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<StatusUpload>,
) -> Result<Response, ApiError> {
    principal.require_admin()?;
    let s = bank(&state, 0).import_status(body.file.as_bytes()).await.map_err(api_error)?;
    Ok(created(&format!("/v1/payouts/{}", s.batch), status_doc(s)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ThroughQuery {
    /// `YYYY-MM-DD` (default: today, UTC).
    pub through: Option<String>,
}

/// Statement balances against the ledger's cash accounts, per account and
/// day, with the items that explain each difference: an operator sees
/// every account, a lender its own.
#[utoipa::path(get, path = "/cash-reconciliation", tag = "bank", params(ThroughQuery),
    responses((status = 200, body = Vec<CashReconDay>)))]
async fn reconciliation(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<ThroughQuery>,
) -> Result<Json<Vec<CashReconDay>>, ApiError> {
    let through = offtake_ledger::date::date_or_today(q.through.as_deref())?;
    let b = bank(&state, 0);
    let mine = worked_accounts(&b, &principal).await?;
    let accounts = b.accounts().await.map_err(api_error)?;
    let days = b.reconcile(through).await.map_err(api_error)?;
    Ok(Json(
        days.iter()
            .filter(|d| works(&mine, &d.account))
            .map(|d| {
                let c = accounts.iter().find(|a| a.account == d.account).map_or(Currency::USD, |a| a.currency);
                CashReconDay::new(d, c)
            })
            .collect(),
    ))
}
