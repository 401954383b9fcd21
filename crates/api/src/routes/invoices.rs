//! `/v1/invoices`: invoices to brands, raised when a tranche is delivered.
//! Visible to the brand, the maker and the facility's lender.

use axum::extract::State;
use axum::Json;
use offtake_finance::Invoice;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::views::{page_of, InvoiceDoc, InvoicePage};
use super::PageQuery;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_invoices)).routes(routes!(get_invoice))
}

async fn visible(state: &AppState, principal: &Principal, i: &Invoice) -> Result<bool, ApiError> {
    if principal.can_see([i.brand.as_str(), i.maker.as_str()]) {
        return Ok(true);
    }
    let lender = state.finance().facility(&i.facility).await.map(|f| f.lender).unwrap_or_default();
    Ok(principal.can_see([lender.as_str()]))
}

/// List the invoices the caller may see.
#[utoipa::path(get, path = "/invoices", tag = "invoices", params(PageQuery),
    responses((status = 200, body = InvoicePage)))]
async fn list_invoices(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<InvoicePage>, ApiError> {
    let mut mine = Vec::new();
    for i in state.finance().invoices().await? {
        if visible(&state, &principal, &i).await? {
            mine.push(i);
        }
    }
    mine.sort_by(|a, b| a.id.cmp(&b.id));
    let (items, next_cursor) = page_of(mine, &q, |i| i.id.clone())?;
    Ok(Json(InvoicePage { items: items.iter().map(InvoiceDoc::of).collect::<Result<_, _>>()?, next_cursor }))
}

/// One invoice.
#[utoipa::path(get, path = "/invoices/{id}", tag = "invoices",
    params(("id" = String, Path, description = "Invoice id")),
    responses((status = 200, body = InvoiceDoc)))]
async fn get_invoice(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<InvoiceDoc>, ApiError> {
    let not_found = || ApiError::not_found(format!("invoice {id:?}"));
    let invoice = match state.finance().invoice(&id).await {
        Ok(i) => i,
        Err(offtake_finance::FinanceError::NotFound { .. })
        | Err(offtake_finance::FinanceError::Ledger(offtake_ledger::LedgerError::InvalidInput { .. })) => {
            return Err(not_found())
        }
        Err(e) => return Err(e.into()),
    };
    if !visible(&state, &principal, &invoice).await? {
        return Err(not_found());
    }
    Ok(Json(InvoiceDoc::of(&invoice)?))
}
