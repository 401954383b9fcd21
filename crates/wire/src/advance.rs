//! Advances: draws on a facility.

use offtake_finance::{Advance as DomainAdvance, AdvanceStatus as DomainAdvanceStatus};
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;

use crate::money::Money;

wire_enum! {
    AdvanceStatus from DomainAdvanceStatus {
        /// Requested; availability is held.
        Pending = "pending" <= Pending,
        Funded = "funded" <= Funded,
        Rejected = "rejected" <= Rejected,
        /// Not decided before the request expired; the hold was released.
        Expired = "expired" <= Expired,
    }
}

/// A draw: requested by the maker, funded or rejected by the lender.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Advance {
    /// The request's `doc_id`.
    #[schema(example = "adv-0001")]
    pub id: String,
    #[schema(example = "f1")]
    pub facility: String,
    #[schema(example = "maker-loom")]
    pub maker: String,
    pub amount: Money,
    pub status: AdvanceStatus,
    pub requested_on: Date,
    /// When the request lapses if undecided (RFC 3339, as signed).
    #[schema(format = DateTime, example = "2026-01-12T00:00:00Z")]
    pub expires_at: String,
    /// The ledger's pending entry holding availability.
    pub hold_seq: i64,
    /// SHA-256 (hex) of the signed request's body.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub request_hash: String,
    #[serde(default)]
    pub approval_hash: Option<String>,
    #[serde(default)]
    pub funded_on: Option<Date>,
    /// Fee booked at funding.
    pub fee: Money,
}

impl From<DomainAdvance> for Advance {
    fn from(a: DomainAdvance) -> Self {
        let c = a.currency;
        Advance {
            amount: Money::new(a.amount_minor, c),
            fee: Money::new(a.fee_minor, c),
            id: a.id,
            facility: a.facility,
            maker: a.maker,
            status: a.status.into(),
            requested_on: a.requested_on,
            expires_at: a.expires_at,
            hold_seq: a.hold_seq,
            request_hash: a.request_hash,
            approval_hash: a.approval_hash,
            funded_on: a.funded_on,
        }
    }
}
