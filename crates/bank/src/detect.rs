//! Which format a file is in, from its first bytes: the XML root's
//! message name, MT940's `:20:` (or SWIFT `{1:` block), BAI2's `01,`.

use crate::error::BankError;
use crate::statement::{check_size, Statement};

/// Parses a statement file of any supported format.
pub fn parse_statements(bytes: &[u8]) -> Result<Vec<Statement>, BankError> {
    check_size(bytes)?;
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]);
    let head = head.trim_start_matches('\u{feff}').trim_start();
    if head.starts_with('<') {
        if head.contains("pain.002") {
            return Err(crate::BankError::invalid("file", "this is a pain.002 status report: use the status import"));
        }
        return crate::camt::parse(bytes);
    }
    if head.starts_with("01,") {
        return crate::bai2::parse(bytes);
    }
    if head.starts_with(":20:") || head.starts_with("{1:") || head.starts_with(":940:") {
        return crate::mt940::parse(bytes);
    }
    Err(BankError::UnknownFormat)
}
