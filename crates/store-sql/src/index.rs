//! The secondary indexes of the record table: which latest record versions
//! a reader can find by a key instead of listing every record of a kind
//! (invoices of a facility, a brand's open invoices, open payment notices,
//! a party's facilities).
//!
//! Why a catalogue here, beside the SQL, rather than keys handed in by each
//! writer: an index is part of the database schema, like a `CREATE INDEX`.
//! Every path that writes a record version (single writes, records attached
//! to a ledger batch) derives the rows from the version's body in the same
//! transaction, so no writer can forget one and a refused write leaves
//! none. Index rows are derived data: they are not part of the record
//! chain, and the stores rebuild them from the records when the catalogue
//! changes (see [`CATALOGUE_VERSION`]). The ledger core stays free of
//! domain kinds; readers name an index with the constants below.

use offtake_ledger::record::index_key;
use serde_json::Value;

/// One index: for records of `kind` whose body satisfies `when`, the key is
/// the string fields at `fields` (JSON pointers), joined by
/// [`index_key`]. Several specs may share a name (a facility is found by
/// its lender and by its maker under `party`).
#[derive(Debug)]
pub struct IndexSpec {
    pub kind: &'static str,
    pub name: &'static str,
    pub fields: &'static [&'static str],
    /// A JSON pointer and the string values for which the record is in the
    /// index (`None`: always). An empty list of values means "present":
    /// any value there but `null` (a remittance that booked a payment has
    /// a `seq` number, one that booked nothing has `null`).
    pub when: Option<(&'static str, &'static [&'static str])>,
    /// Key on the fields lower-cased (ASCII ids, so `to_lowercase` is
    /// exact): for readers that hold a token from free text whose case the
    /// sender chose (a bank remittance naming an invoice) and must find
    /// the record whose id it names in any case. The reader lower-cases
    /// its key the same way and checks the record it gets.
    pub lowercase: bool,
}

impl IndexSpec {
    /// Whether a record version with this body is in the index (`when`).
    fn holds(&self, body: &Value) -> bool {
        let Some((pointer, values)) = self.when else { return true };
        match body.pointer(pointer) {
            None | Some(Value::Null) => false,
            Some(_) if values.is_empty() => true,
            Some(v) => v.as_str().is_some_and(|v| values.contains(&v)),
        }
    }
}

/// Bumped whenever [`CATALOGUE`] changes: a store whose index rows were
/// built under another version rebuilds them when it opens.
pub const CATALOGUE_VERSION: &str = "4";

/// Every index the stores maintain.
pub const CATALOGUE: &[IndexSpec] = &[
    IndexSpec { kind: "invoice", name: "facility", fields: &["/facility"], when: None, lowercase: false },
    IndexSpec { kind: "invoice", name: "brand", fields: &["/brand"], when: None, lowercase: false },
    IndexSpec { kind: "invoice", name: "maker", fields: &["/maker"], when: None, lowercase: false },
    IndexSpec {
        kind: "invoice",
        name: "open_by_brand_facility",
        fields: &["/brand", "/facility"],
        when: Some(("/status", &["open"])),
        lowercase: false,
    },
    IndexSpec {
        kind: "payment_notice",
        name: "open",
        fields: &[],
        when: Some(("/state/state", &["queued", "processing"])),
        lowercase: false,
    },
    IndexSpec { kind: "payment_notice", name: "facility", fields: &["/notice/facility"], when: None, lowercase: false },
    IndexSpec {
        kind: "payment_notice",
        name: "suspense",
        fields: &[],
        when: Some(("/state/state", &["suspense"])),
        lowercase: false,
    },
    IndexSpec { kind: "remittance", name: "facility", fields: &["/facility"], when: None, lowercase: false },
    IndexSpec { kind: "commitment", name: "maker", fields: &["/maker"], when: None, lowercase: false },
    IndexSpec { kind: "commitment", name: "brand", fields: &["/brand"], when: None, lowercase: false },
    IndexSpec { kind: "advance", name: "facility", fields: &["/facility"], when: None, lowercase: false },
    IndexSpec { kind: "advance", name: "request_hash", fields: &["/request_hash"], when: None, lowercase: false },
    IndexSpec {
        kind: "advance",
        name: "pending",
        fields: &[],
        when: Some(("/status", &["pending"])),
        lowercase: false,
    },
    IndexSpec { kind: "facility", name: "party", fields: &["/lender"], when: None, lowercase: false },
    IndexSpec { kind: "facility", name: "party", fields: &["/maker"], when: None, lowercase: false },
    // Issue 21, finance walks: open facilities (end of day, accrual), so a
    // run's cost follows the open facilities, not every one ever opened.
    IndexSpec { kind: "facility", name: "open", fields: &[], when: Some(("/status", &["open"])), lowercase: false },
    // Issue 21, bank files: statement import, payouts, the reconciliation
    // queue and cash reconciliation read these instead of whole kinds.
    IndexSpec { kind: "invoice", name: "reference", fields: &["/id"], when: None, lowercase: true },
    IndexSpec { kind: "invoice", name: "reference", fields: &["/commitment"], when: None, lowercase: true },
    IndexSpec {
        kind: "invoice",
        name: "open_by_brand",
        fields: &["/brand"],
        when: Some(("/status", &["open"])),
        lowercase: false,
    },
    IndexSpec { kind: "advance", name: "funded", fields: &[], when: Some(("/status", &["funded"])), lowercase: false },
    IndexSpec { kind: "remittance", name: "payable", fields: &[], when: Some(("/seq", &[])), lowercase: false },
    IndexSpec { kind: "bank_line", name: "queued", fields: &[], when: Some(("/state", &["queued"])), lowercase: false },
    IndexSpec { kind: "bank_line", name: "account", fields: &["/account"], when: None, lowercase: false },
    IndexSpec { kind: "bank_statement", name: "account", fields: &["/account"], when: None, lowercase: false },
    IndexSpec { kind: "bank_payout", name: "batch", fields: &["/batch"], when: None, lowercase: false },
];

/// The kinds that have at least one index (what a rebuild reads).
pub fn indexed_kinds() -> Vec<&'static str> {
    let mut kinds: Vec<&'static str> = CATALOGUE.iter().map(|s| s.kind).collect();
    kinds.sort_unstable();
    kinds.dedup();
    kinds
}

/// The `(index_name, index_key)` rows of one record version, deduplicated.
/// A field that is missing or not a string leaves the record out of that
/// index (the body is the domain's; the index never refuses a write).
pub fn index_rows(kind: &str, body: &Value) -> Vec<(&'static str, String)> {
    let mut rows: Vec<(&'static str, String)> = Vec::new();
    for spec in CATALOGUE.iter().filter(|s| s.kind == kind) {
        if !spec.holds(body) {
            continue;
        }
        let parts: Option<Vec<String>> = spec
            .fields
            .iter()
            .map(|f| {
                let v = body.pointer(f).and_then(Value::as_str)?;
                Some(if spec.lowercase { v.to_lowercase() } else { v.to_owned() })
            })
            .collect();
        let Some(parts) = parts else { continue };
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        let row = (spec.name, index_key(&parts));
        if !rows.contains(&row) {
            rows.push(row);
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The catalogue as text, one spec per line: what a change to it changes.
    fn catalogue_text() -> String {
        CATALOGUE
            .iter()
            .map(|s| {
                let lower = if s.lowercase { " lowercase" } else { "" };
                format!("{}.{} {:?} {:?}{lower}\n", s.kind, s.name, s.fields, s.when)
            })
            .collect()
    }

    /// Changing the catalogue without bumping [`CATALOGUE_VERSION`] would
    /// leave existing databases with index rows of the old catalogue (the
    /// stores rebuild only when the version differs). This pins the pair:
    /// after a change, bump the version and paste the new text here.
    #[test]
    fn the_catalogue_version_names_this_catalogue() {
        let pinned = (
            "4",
            "invoice.facility [\"/facility\"] None\n\
             invoice.brand [\"/brand\"] None\n\
             invoice.maker [\"/maker\"] None\n\
             invoice.open_by_brand_facility [\"/brand\", \"/facility\"] Some((\"/status\", [\"open\"]))\n\
             payment_notice.open [] Some((\"/state/state\", [\"queued\", \"processing\"]))\n\
             payment_notice.facility [\"/notice/facility\"] None\n\
             payment_notice.suspense [] Some((\"/state/state\", [\"suspense\"]))\n\
             remittance.facility [\"/facility\"] None\n\
             commitment.maker [\"/maker\"] None\n\
             commitment.brand [\"/brand\"] None\n\
             advance.facility [\"/facility\"] None\n\
             advance.request_hash [\"/request_hash\"] None\n\
             advance.pending [] Some((\"/status\", [\"pending\"]))\n\
             facility.party [\"/lender\"] None\n\
             facility.party [\"/maker\"] None\n\
             facility.open [] Some((\"/status\", [\"open\"]))\n\
             invoice.reference [\"/id\"] None lowercase\n\
             invoice.reference [\"/commitment\"] None lowercase\n\
             invoice.open_by_brand [\"/brand\"] Some((\"/status\", [\"open\"]))\n\
             advance.funded [] Some((\"/status\", [\"funded\"]))\n\
             remittance.payable [] Some((\"/seq\", []))\n\
             bank_line.queued [] Some((\"/state\", [\"queued\"]))\n\
             bank_line.account [\"/account\"] None\n\
             bank_statement.account [\"/account\"] None\n\
             bank_payout.batch [\"/batch\"] None\n",
        );
        assert_eq!(
            (CATALOGUE_VERSION, catalogue_text().as_str()),
            pinned,
            "the index catalogue changed: bump CATALOGUE_VERSION and pin the new catalogue here"
        );
    }

    #[test]
    fn an_open_invoice_is_in_the_open_index_and_a_paid_one_is_not() {
        let open = json!({"facility": "f1", "brand": "b1", "maker": "m1", "status": "open"});
        assert_eq!(
            index_rows("invoice", &open),
            vec![
                ("facility", index_key(&["f1"])),
                ("brand", index_key(&["b1"])),
                ("maker", index_key(&["m1"])),
                ("open_by_brand_facility", index_key(&["b1", "f1"])),
                ("open_by_brand", index_key(&["b1"]))
            ]
        );
        let paid = json!({"facility": "f1", "brand": "b1", "status": "paid"});
        assert_eq!(index_rows("invoice", &paid), vec![("facility", index_key(&["f1"])), ("brand", index_key(&["b1"]))]);
    }

    #[test]
    fn a_notice_is_filed_under_its_facility_and_in_suspense_while_there() {
        let suspense = json!({"notice": {"facility": "f1"}, "state": {"state": "suspense"}});
        assert_eq!(
            index_rows("payment_notice", &suspense),
            vec![("facility", index_key(&["f1"])), ("suspense", index_key(&[]))]
        );
        let applied = json!({"notice": {"facility": "f1"}, "state": {"state": "applied"}});
        assert_eq!(index_rows("payment_notice", &applied), vec![("facility", index_key(&["f1"]))]);
        assert_eq!(index_rows("remittance", &json!({"facility": "f2"})), vec![("facility", index_key(&["f2"]))]);
        assert_eq!(index_rows("advance", &json!({"status": "funded"})), vec![("funded", index_key(&[]))]);
        assert_eq!(index_rows("advance", &json!({"status": "rejected"})), vec![]);
        assert_eq!(index_rows("advance", &json!({"status": "pending"})), vec![("pending", index_key(&[]))]);
    }

    #[test]
    fn a_notice_is_open_while_queued_or_processing() {
        assert_eq!(
            index_rows("payment_notice", &json!({"state": {"state": "queued"}})),
            vec![("open", index_key(&[]))]
        );
        assert_eq!(index_rows("payment_notice", &json!({"state": {"state": "processing"}})).len(), 1);
        assert!(index_rows("payment_notice", &json!({"state": {"state": "applied"}})).is_empty());
    }

    #[test]
    fn a_lowercase_index_keys_on_the_lower_cased_fields() {
        let inv = json!({"id": "INV-7a", "commitment": "Po-1", "brand": "b1", "status": "paid"});
        let rows = index_rows("invoice", &inv);
        assert!(rows.contains(&("reference", index_key(&["inv-7a"]))));
        assert!(rows.contains(&("reference", index_key(&["po-1"]))));
        assert!(!rows.iter().any(|(n, k)| *n == "reference" && k.chars().any(|c| c.is_ascii_uppercase())));
        assert!(!rows.iter().any(|(n, _)| *n == "open_by_brand"));
        // An id whose lower case is its commitment's is filed once.
        let same = json!({"id": "po-1", "commitment": "PO-1"});
        assert_eq!(rows_named(&same, "reference"), 1);
    }

    fn rows_named(body: &Value, name: &str) -> usize {
        index_rows("invoice", body).iter().filter(|(n, _)| *n == name).count()
    }

    #[test]
    fn an_empty_value_list_means_present_and_not_null() {
        let booked = json!({"facility": "f1", "seq": 12, "amount_minor": 5});
        assert!(index_rows("remittance", &booked).contains(&("payable", index_key(&[]))));
        let nothing = json!({"facility": "f1", "seq": null, "amount_minor": 0});
        assert_eq!(index_rows("remittance", &nothing), vec![("facility", index_key(&["f1"]))]);
        assert_eq!(index_rows("remittance", &json!({"facility": "f1"})).len(), 1);
    }

    #[test]
    fn a_bank_line_is_queued_while_its_state_says_so() {
        let queued = json!({"account": "a1", "state": "queued", "reason": "x"});
        assert_eq!(index_rows("bank_line", &queued), vec![("queued", index_key(&[])), ("account", index_key(&["a1"]))]);
        let matched = json!({"account": "a1", "state": "matched"});
        assert_eq!(index_rows("bank_line", &matched), vec![("account", index_key(&["a1"]))]);
    }

    #[test]
    fn a_facility_is_found_by_both_parties_once_each() {
        let f = json!({"lender": "l1", "maker": "m1"});
        assert_eq!(index_rows("facility", &f), vec![("party", index_key(&["l1"])), ("party", index_key(&["m1"]))]);
        let same = json!({"lender": "p", "maker": "p"});
        assert_eq!(index_rows("facility", &same).len(), 1);
        assert!(index_rows("facility", &json!({"lender": 3})).is_empty());
        assert!(index_rows("other", &f).is_empty());
    }

    #[test]
    fn a_facility_is_in_the_open_index_only_while_open() {
        let row = |status: &str| {
            index_rows("facility", &json!({"lender": "l1", "maker": "m1", "status": status}))
                .into_iter()
                .any(|(name, key)| name == "open" && key == index_key(&[]))
        };
        assert!(row("open"));
        assert!(!row("offered"));
        assert!(!row("closed"));
    }
}
