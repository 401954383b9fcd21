//! `--output table`: any wire object as aligned text. Generic on purpose,
//! so every command gets a table from the same JSON it prints: an object is
//! `field  value` lines (nested objects as `parent.field`), a list of
//! objects is one row per item, and a money object shows as
//! `1,234.50 USD`.

use serde_json::{Map, Value};

/// The table text of a JSON value (no trailing newline).
pub fn render(value: &Value) -> String {
    match value {
        Value::Array(items) => rows(items),
        Value::Object(map) => fields(map),
        other => scalar(other),
    }
}

/// `{"amount", "amount_minor", "currency"}`: shown as one cell.
fn money(map: &Map<String, Value>) -> Option<String> {
    let amount = map.get("amount")?.as_str()?;
    let currency = map.get("currency")?.as_str()?;
    map.get("amount_minor")?.as_i64()?;
    let wire = offtake_wire::Money {
        amount: amount.to_owned(),
        amount_minor: map.get("amount_minor")?.as_i64()?,
        currency: currency.to_owned(),
    };
    Some(wire.display())
}

fn scalar(value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        Value::Object(map) => money(map).unwrap_or_else(|| format!("{{{} fields}}", map.len())),
        Value::Array(items) => format!("[{} items]", items.len()),
        other => other.to_string(),
    }
}

/// Flattens an object into (path, cell) pairs; lists of objects are kept
/// aside and rendered as tables after the fields.
fn flatten(
    prefix: &str,
    map: &Map<String, Value>,
    cells: &mut Vec<(String, String)>,
    lists: &mut Vec<(String, Vec<Value>)>,
) {
    for (key, value) in map {
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        match value {
            Value::Object(inner) if money(inner).is_none() => flatten(&path, inner, cells, lists),
            Value::Array(items) if items.iter().any(Value::is_object) => lists.push((path, items.clone())),
            other => cells.push((path, scalar(other))),
        }
    }
}

fn fields(map: &Map<String, Value>) -> String {
    let (mut cells, mut lists) = (Vec::new(), Vec::new());
    flatten("", map, &mut cells, &mut lists);
    let width = cells.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out: Vec<String> = cells.iter().map(|(k, v)| format!("{k:<width$}  {v}")).collect();
    for (name, items) in lists {
        out.push(String::new());
        out.push(format!("{name}:"));
        out.push(rows(&items));
    }
    out.join("\n")
}

/// One row per item; columns are the items' scalar (and money) fields in
/// first-seen order.
fn rows(items: &[Value]) -> String {
    let mut columns: Vec<String> = Vec::new();
    for item in items {
        if let Value::Object(map) = item {
            let (mut cells, mut lists) = (Vec::new(), Vec::new());
            flatten("", map, &mut cells, &mut lists);
            for (k, _) in cells {
                if !columns.contains(&k) {
                    columns.push(k);
                }
            }
        }
    }
    if columns.is_empty() {
        return items.iter().map(scalar).collect::<Vec<_>>().join("\n");
    }
    let table: Vec<Vec<String>> = items
        .iter()
        .map(|item| {
            let (mut cells, mut lists) = (Vec::new(), Vec::new());
            if let Value::Object(map) = item {
                flatten("", map, &mut cells, &mut lists);
            }
            columns
                .iter()
                .map(|c| cells.iter().find(|(k, _)| k == c).map_or("-".to_owned(), |(_, v)| v.clone()))
                .collect()
        })
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| table.iter().map(|r| r[i].chars().count()).chain([c.len()]).max().unwrap_or(0))
        .collect();
    let line = |cells: &[String]| {
        cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect::<Vec<_>>().join("  ").trim_end().to_owned()
    };
    let mut out = vec![line(&columns)];
    out.extend(table.iter().map(|r| line(r)));
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_lists_and_money() {
        let v = serde_json::json!({
            "id": "f1",
            "terms": {"limit": {"amount": "500000.00", "amount_minor": 50_000_000, "currency": "USD"}, "rate_bps": 1200},
            "accrued_through": null,
            "lines": [{"brand": "acme", "n": 1}, {"brand": "zeta", "extra": true}],
        });
        let expected =
            "accrued_through  -\nid               f1\nterms.limit      500,000.00 USD\nterms.rate_bps   1200\n\n\
                        lines:\nbrand  n  extra\nacme   1  -\nzeta   -  true";
        assert_eq!(render(&v), expected);
        assert_eq!(render(&serde_json::json!([])), "");
    }
}
