//! `/v1/invoices`: invoices to brands, raised when a tranche is delivered.
//! Visible to the brand, the maker and the facility's lender.

use axum::extract::State;
use axum::Json;
use offtake_finance::model::{index, kind};
use offtake_finance::Invoice;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::views::{scan_page, FacilityParties, Keep, Source};
use super::{in_range, list_query, query_day};
use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;
use offtake_wire as wire;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_invoices)).routes(routes!(get_invoice))
}

/// Whether the caller sees an invoice: its brand and maker do, and the
/// lender of its facility (looked up once into `lenders`, which a page of
/// invoices shares).
async fn visible(
    state: &AppState,
    principal: &Principal,
    i: &Invoice,
    lenders: &FacilityParties,
) -> Result<bool, ApiError> {
    if principal.can_see([i.brand.as_str(), i.maker.as_str()]) {
        return Ok(true);
    }
    let lender = lenders.lender(state, &i.facility).await;
    Ok(principal.can_see([lender.as_str()]))
}

list_query! {
    /// Filters of `GET /v1/invoices` (all optional, combined with AND).
    InvoiceQuery {
        /// Only invoices in this status.
        status: Option<wire::InvoiceStatus>,
        /// Only invoices to this brand.
        #[param(pattern = "^[a-z0-9][a-z0-9_.-]{0,63}$")]
        brand: Option<String>,
        /// Only invoices collected through this facility.
        #[param(pattern = "^[a-z0-9][a-z0-9_.-]{0,63}$")]
        facility: Option<String>,
        /// Due on or after this day.
        #[param(format = Date, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
        due_from: Option<String>,
        /// Due on or before this day.
        #[param(format = Date, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
        due_to: Option<String>,
    }
}

/// List the invoices the caller may see, by id.
#[utoipa::path(get, path = "/invoices", tag = "invoices", params(InvoiceQuery),
    responses((status = 200, body = wire::InvoicePage)))]
async fn list_invoices(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<InvoiceQuery>,
) -> Result<Json<wire::InvoicePage>, ApiError> {
    Ok(Json(invoice_page(&state, &principal, &q).await?))
}

/// A page of `GET /v1/invoices`: a facility or brand filter, or a brand's
/// or maker's own list, reads only what its index files under it; a
/// lender's or an admin's reads the invoices in id order (see
/// [`scan_page`]).
pub async fn invoice_page(
    state: &AppState,
    principal: &Principal,
    q: &InvoiceQuery,
) -> Result<wire::InvoicePage, ApiError> {
    let from = query_day("due_from", q.due_from.as_deref())?;
    let to = query_day("due_to", q.due_to.as_deref())?;
    let wanted = |i: &Invoice| {
        q.status.is_none_or(|s| s == wire::InvoiceStatus::from(i.status))
            && q.brand.as_ref().is_none_or(|b| *b == i.brand)
            && q.facility.as_ref().is_none_or(|f| *f == i.facility)
            && in_range(i.due_on, from, to)
    };
    let me = principal.party_id.as_str();
    let source = match (&q.facility, &q.brand, principal.role) {
        (Some(f), _, _) => Source::index(kind::INVOICE, index::FACILITY, f),
        (None, Some(b), _) => Source::index(kind::INVOICE, index::BRAND, b),
        (None, None, Role::Brand) => Source::index(kind::INVOICE, index::BRAND, me),
        (None, None, Role::Maker) => Source::index(kind::INVOICE, index::MAKER, me),
        (None, None, _) => Source::Kind(kind::INVOICE),
    };
    let lenders = FacilityParties::default();
    let (lenders, wanted) = (&lenders, &wanted);
    let keep = |i: Invoice| -> Keep<'_, Invoice> {
        Box::pin(async move {
            let yes = wanted(&i) && visible(state, principal, &i, lenders).await?;
            Ok(yes.then_some(i))
        })
    };
    let (items, next_cursor) = scan_page(state, &source, &q.page(), keep).await?;
    Ok(wire::InvoicePage::new(items.into_iter().map(wire::Invoice::from).collect(), next_cursor))
}

/// One invoice.
#[utoipa::path(get, path = "/invoices/{id}", tag = "invoices",
    params(("id" = String, Path, description = "Invoice id")),
    responses((status = 200, body = wire::Invoice)))]
async fn get_invoice(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<wire::Invoice>, ApiError> {
    let not_found = || ApiError::not_found(format!("invoice {id:?}"));
    let invoice = match state.finance().invoice(&id).await {
        Ok(i) => i,
        Err(offtake_finance::FinanceError::NotFound { .. })
        | Err(offtake_finance::FinanceError::Ledger(offtake_ledger::LedgerError::InvalidInput { .. })) => {
            return Err(not_found())
        }
        Err(e) => return Err(e.into()),
    };
    if !visible(&state, &principal, &invoice, &FacilityParties::default()).await? {
        return Err(not_found());
    }
    Ok(Json(invoice.into()))
}
