//! Pages of lists: `items` and an opaque `next_cursor`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Declares one named page type per item type (named types give clients
/// readable class names; a generic `Page<T>` would not).
macro_rules! page_type {
    ($name:ident, $item:ty) => {
        #[doc = concat!("One page of ", stringify!($item), " objects. Pass `next_cursor` as `cursor` for the next page; it is absent on the last page.")]
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
        pub struct $name {
            pub items: Vec<$item>,
            /// Opaque; absent (or null) on the last page.
            #[serde(default)]
            pub next_cursor: Option<String>,
        }

        impl $name {
            pub fn new(items: Vec<$item>, next_cursor: Option<String>) -> Self {
                $name { items, next_cursor }
            }

            /// A store's page, each item converted.
            pub fn from_page<T>(page: offtake_ledger::Page<T>, f: impl Fn(T) -> $item) -> Self {
                $name { items: page.items.into_iter().map(f).collect(), next_cursor: page.next_cursor }
            }
        }
    };
}

use crate::{Account, Advance, ApiKey, Commitment, Entry, Facility, Invoice, Party, Payment, SigningKey};

page_type!(PartyPage, Party);
page_type!(ApiKeyPage, ApiKey);
page_type!(AccountPage, Account);
page_type!(EntryPage, Entry);
page_type!(SigningKeyPage, SigningKey);
page_type!(CommitmentPage, Commitment);
page_type!(FacilityPage, Facility);
page_type!(AdvancePage, Advance);
page_type!(InvoicePage, Invoice);
page_type!(PaymentPage, Payment);
