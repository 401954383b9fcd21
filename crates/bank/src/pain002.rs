//! ISO 20022 pain.002 (customer payment status report), versions .001.03
//! to .001.14: per original payment, accepted, rejected (with the reason
//! code) or still pending. A group- or payment-block-level status applies
//! to every payment it covers that has no status of its own.

use serde::{Deserialize, Serialize};

use crate::error::BankError;
use crate::statement::clip;
use crate::xml::{self, Element};

const PAIN: &str = "pain.002";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PaymentStatus {
    Accepted,
    Rejected { reason: Option<String> },
    Pending,
}

fn status(code: &str, reason: Option<String>, at: &str) -> Result<PaymentStatus, BankError> {
    match code {
        "ACCP" | "ACSC" | "ACSP" | "ACTC" | "ACWC" | "ACFC" | "ACCC" | "ACWP" => Ok(PaymentStatus::Accepted),
        "RJCT" => Ok(PaymentStatus::Rejected { reason }),
        "PDNG" | "RCVD" | "PART" | "PATC" | "ACIS" => Ok(PaymentStatus::Pending),
        other => Err(BankError::malformed(PAIN, at, format!("unknown status {:?}", clip(other, 8)))),
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    pub id: String,
    /// The pain.001 `MsgId` it answers (our batch id).
    pub original_msg_id: String,
    /// Status for the whole group, if the bank gave one.
    pub group: Option<PaymentStatus>,
    /// `(end-to-end id, status)` for each payment the bank named.
    pub payments: Vec<(String, PaymentStatus)>,
    /// Block-level statuses: `(PmtInfId, status)`.
    pub blocks: Vec<(String, PaymentStatus)>,
}

fn reason_of(e: &Element) -> Option<String> {
    e.children("StsRsnInf").find_map(|r| r.text_at("Rsn/Cd").or_else(|| r.text_at("Rsn/Prtry"))).map(|v| clip(&v, 35))
}

pub fn parse(bytes: &[u8]) -> Result<StatusReport, BankError> {
    let root = xml::parse(bytes, PAIN)?;
    let ns = xml::namespace(&root);
    if !ns.is_empty() && !ns.contains("pain.002.001.") {
        return Err(BankError::malformed(
            PAIN,
            &root.path,
            format!("namespace {:?} is not pain.002.001.xx", clip(ns, 80)),
        ));
    }
    let body =
        root.child("CstmrPmtStsRpt").ok_or_else(|| BankError::malformed(PAIN, &root.path, "no CstmrPmtStsRpt"))?;
    let id = body.require("GrpHdr/MsgId", PAIN)?;
    let grp = body
        .child("OrgnlGrpInfAndSts")
        .ok_or_else(|| BankError::malformed(PAIN, &body.path, "no OrgnlGrpInfAndSts"))?;
    let original_msg_id = grp.require("OrgnlMsgId", PAIN)?;
    let group = match grp.text_at("GrpSts") {
        Some(code) => Some(status(&code, reason_of(grp), &format!("{}/GrpSts", grp.path))?),
        None => None,
    };
    let mut payments = Vec::new();
    let mut blocks = Vec::new();
    for p in body.children("OrgnlPmtInfAndSts") {
        let block = p.require("OrgnlPmtInfId", PAIN)?;
        if let Some(code) = p.text_at("PmtInfSts") {
            blocks.push((clip(&block, 35), status(&code, reason_of(p), &format!("{}/PmtInfSts", p.path))?));
        }
        for t in p.children("TxInfAndSts") {
            let e2e = t.require("OrgnlEndToEndId", PAIN)?;
            let code = t.require("TxSts", PAIN)?;
            payments.push((clip(&e2e, 35), status(&code, reason_of(t), &format!("{}/TxSts", t.path))?));
        }
    }
    if group.is_none() && blocks.is_empty() && payments.is_empty() {
        return Err(BankError::malformed(PAIN, &body.path, "reports no status"));
    }
    Ok(StatusReport { id: clip(&id, 35), original_msg_id: clip(&original_msg_id, 35), group, payments, blocks })
}
