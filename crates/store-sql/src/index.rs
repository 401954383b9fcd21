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
    /// index (`None`: always).
    pub when: Option<(&'static str, &'static [&'static str])>,
}

/// Bumped whenever [`CATALOGUE`] changes: a store whose index rows were
/// built under another version rebuilds them when it opens.
pub const CATALOGUE_VERSION: &str = "3";

/// Every index the stores maintain.
pub const CATALOGUE: &[IndexSpec] = &[
    IndexSpec { kind: "invoice", name: "facility", fields: &["/facility"], when: None },
    IndexSpec { kind: "invoice", name: "brand", fields: &["/brand"], when: None },
    IndexSpec { kind: "invoice", name: "maker", fields: &["/maker"], when: None },
    IndexSpec {
        kind: "invoice",
        name: "open_by_brand_facility",
        fields: &["/brand", "/facility"],
        when: Some(("/status", &["open"])),
    },
    IndexSpec {
        kind: "payment_notice",
        name: "open",
        fields: &[],
        when: Some(("/state/state", &["queued", "processing"])),
    },
    IndexSpec { kind: "payment_notice", name: "facility", fields: &["/notice/facility"], when: None },
    IndexSpec { kind: "payment_notice", name: "suspense", fields: &[], when: Some(("/state/state", &["suspense"])) },
    IndexSpec { kind: "remittance", name: "facility", fields: &["/facility"], when: None },
    IndexSpec { kind: "commitment", name: "maker", fields: &["/maker"], when: None },
    IndexSpec { kind: "commitment", name: "brand", fields: &["/brand"], when: None },
    IndexSpec { kind: "advance", name: "facility", fields: &["/facility"], when: None },
    IndexSpec { kind: "advance", name: "request_hash", fields: &["/request_hash"], when: None },
    IndexSpec { kind: "advance", name: "pending", fields: &[], when: Some(("/status", &["pending"])) },
    IndexSpec { kind: "facility", name: "party", fields: &["/lender"], when: None },
    IndexSpec { kind: "facility", name: "party", fields: &["/maker"], when: None },
    // Issue 21, finance walks: open facilities (end of day, accrual), so a
    // run's cost follows the open facilities, not every one ever opened.
    IndexSpec { kind: "facility", name: "open", fields: &[], when: Some(("/status", &["open"])) },
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
        if let Some((pointer, values)) = spec.when {
            let Some(v) = body.pointer(pointer).and_then(Value::as_str) else { continue };
            if !values.contains(&v) {
                continue;
            }
        }
        let parts: Option<Vec<&str>> = spec.fields.iter().map(|f| body.pointer(f).and_then(Value::as_str)).collect();
        let Some(parts) = parts else { continue };
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
        CATALOGUE.iter().map(|s| format!("{}.{} {:?} {:?}\n", s.kind, s.name, s.fields, s.when)).collect()
    }

    /// Changing the catalogue without bumping [`CATALOGUE_VERSION`] would
    /// leave existing databases with index rows of the old catalogue (the
    /// stores rebuild only when the version differs). This pins the pair:
    /// after a change, bump the version and paste the new text here.
    #[test]
    fn the_catalogue_version_names_this_catalogue() {
        let pinned = (
            "3",
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
             facility.open [] Some((\"/status\", [\"open\"]))\n",
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
                ("open_by_brand_facility", index_key(&["b1", "f1"]))
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
        assert_eq!(index_rows("advance", &json!({"status": "funded"})), vec![]);
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
