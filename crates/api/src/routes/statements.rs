//! `/v1/parties/{id}/statement`: a party's own position — a maker's
//! facilities, draws and dues; a lender's exposure; a brand's commitments,
//! invoices and credit. Visible to the party itself (and admins and
//! auditors); anyone else gets `404`.

use axum::extract::State;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::facilities::AsOfDate;
use super::query_day_or_today;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::parties::{self, PartyKind};
use crate::state::AppState;
use offtake_wire as wire;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(party_statement))
}

/// A maker's, lender's or brand's statement, as of a day.
#[utoipa::path(get, path = "/parties/{id}/statement", tag = "parties",
    params(("id" = String, Path, description = "Party id"), AsOfDate),
    responses((status = 200, body = wire::PartyStatement)))]
async fn party_statement(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<AsOfDate>,
) -> Result<Json<wire::PartyStatement>, ApiError> {
    let not_found = || ApiError::not_found(format!("statement of party {id:?}"));
    if !principal.can_see([id.as_str()]) {
        return Err(not_found());
    }
    let party = parties::find_party(state.store(), state.ledger(), &id).await?.ok_or_else(not_found)?;
    let as_of = query_day_or_today("as_of", q.as_of.as_deref())?;
    let fin = state.finance();
    let doc = match party.kind {
        PartyKind::Maker => wire::PartyStatement::Maker(fin.maker_statement(&party.id, as_of).await?.try_into()?),
        PartyKind::Lender => wire::PartyStatement::Lender(fin.lender_statement(&party.id, as_of).await?.try_into()?),
        PartyKind::Brand => {
            let statement = fin.brand_statement(&party.id).await?;
            wire::PartyStatement::Brand(wire::BrandStatement::of(statement, &fin.invoices_of_brand(&party.id).await?)?)
        }
        PartyKind::Operator | PartyKind::Auditor => return Err(not_found()),
    };
    Ok(Json(doc))
}
