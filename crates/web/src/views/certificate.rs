//! The printable certificate page: the day's certificate and the
//! certificates of the period before it, read from the API with the
//! caller's key (another party's facility is the API's 404).

use time::Date;

use crate::certificate::{fragment, period_dates, point};
use crate::client::{encode, Client, WebError};
use crate::model::{day, Facility};
use offtake_wire::certificate::CertificateDoc;

pub async fn render(client: &Client, facility: &str, as_of: Date) -> Result<maud::Markup, WebError> {
    let f: Facility = client.get(&format!("/v1/facilities/{}", encode(facility))).await?;
    let path = |d: Date| format!("/v1/facilities/{}/certificate?as_of={}", encode(&f.id), day(d));
    let doc: CertificateDoc = client.get(&path(as_of)).await?;
    let mut period = Vec::new();
    for d in period_dates(f.opened_on, as_of) {
        let c: CertificateDoc = if d == as_of { doc.clone() } else { client.get(&path(d)).await? };
        period.push(point(&c, d));
    }
    Ok(fragment(&doc, &period))
}
