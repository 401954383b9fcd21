//! Checkpoints as C2SP signed notes (`c2sp.org/tlog-checkpoint`,
//! `c2sp.org/signed-note`), the format transparency-log witnesses speak.
//!
//! A checkpoint note is three lines — origin, tree size, base64 Merkle
//! root — then a blank line and signature lines `— <name> <base64(key id ‖
//! signature)>`. The ledger key signs with the origin as its key name;
//! each witness adds a line of its own with its key name (a cosignature in
//! the signed-note sense: an Ed25519 signature over the same text). The
//! Merkle tree is the same RFC 6962 tree the bundles use (leaf =
//! `SHA-256(0x00 ‖ entry chain hash)`), so a note's root equals the root in
//! a bundle's manifest for the same size.
//!
//! Formats come from `tlog_tiles` (checkpoint text) and `signed_note`
//! (notes, key ids, verifier keys); signatures are verified here with
//! `verify_strict`, like every other signature in offtake.

use base64::Engine;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use offtake_ledger::LedgerId;
use signed_note::{Note, VerificationError, Verifiers};
use tlog_tiles::{Checkpoint, Hash as TlogHash};

use crate::error::AuditError;
use crate::merkle::Hash;

/// Signed-note algorithm byte for Ed25519 keys.
const ALG_ED25519: u8 = 1;
/// Most bytes a note may have (the crate's own limit is 1 MB; a checkpoint
/// with a hundred cosignatures is under 16 KiB).
pub const MAX_NOTE_BYTES: usize = 64 * 1024;

/// The origin line (and ledger key name) of a ledger's checkpoints.
pub fn origin_of(ledger: &LedgerId) -> String {
    format!("offtake/{}", ledger.as_str())
}

fn note_err(what: &str, e: impl std::fmt::Display) -> AuditError {
    AuditError::Note { reason: format!("{what}: {e}") }
}

/// An Ed25519 key with a signed-note name: the ledger's (named by the
/// origin) or a witness's.
pub struct NoteSigner {
    name: String,
    id: u32,
    key: SigningKey,
}

impl NoteSigner {
    pub fn new(name: &str, key: SigningKey) -> Result<Self, AuditError> {
        if !signed_note::is_key_name_valid(name) {
            return Err(AuditError::invalid("key name", format!("{name:?} has spaces or '+'")));
        }
        let id = signed_note::key_id(name, &encoded_public(&key.verifying_key()));
        Ok(NoteSigner { name: name.to_owned(), id, key })
    }

    /// The verifier key others pin: `<name>+<key id hex>+<base64(0x01 ‖ key)>`.
    pub fn verifier_key(&self) -> String {
        signed_note::new_ed25519_verifier_key(&self.name, &self.key.verifying_key())
    }
}

impl signed_note::Signer for NoteSigner {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        self.id
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, ed25519_dalek::SignatureError> {
        Ok(self.key.sign(msg).to_bytes().to_vec())
    }
}

fn encoded_public(key: &VerifyingKey) -> Vec<u8> {
    [&[ALG_ED25519][..], key.as_bytes()].concat()
}

/// A pinned verifier key (`name+id+base64`), checked with `verify_strict`.
#[derive(Clone, Debug)]
pub struct NoteVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl NoteVerifier {
    /// Parses a verifier key string as `signed_note` writes it.
    pub fn parse(vkey: &str) -> Result<Self, AuditError> {
        let bad = |why: &str| AuditError::invalid("verifier key", format!("{why}: {vkey:?}"));
        let mut parts = vkey.trim().splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("expected name+keyid+key"));
        };
        let id = u32::from_str_radix(id_hex, 16).map_err(|_| bad("key id is not 8 hex digits"))?;
        let raw = base64::engine::general_purpose::STANDARD.decode(key_b64).map_err(|_| bad("key is not base64"))?;
        let Some((&ALG_ED25519, key)) = raw.split_first() else { return Err(bad("not an Ed25519 key")) };
        let key: [u8; 32] = key.try_into().map_err(|_| bad("Ed25519 key is not 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&key).map_err(|_| bad("not an Ed25519 point"))?;
        if id_hex.len() != 8 || !signed_note::is_key_name_valid(name) || signed_note::key_id(name, &raw) != id {
            return Err(bad("key id does not match name and key"));
        }
        Ok(NoteVerifier { name: name.to_owned(), id, key })
    }

    /// The verifier for a raw public key under a name (the ledger's key,
    /// pinned as hex elsewhere in offtake, named by the origin).
    pub fn from_key(name: &str, key: VerifyingKey) -> Result<Self, AuditError> {
        if !signed_note::is_key_name_valid(name) {
            return Err(AuditError::invalid("key name", format!("{name:?} has spaces or '+'")));
        }
        Ok(NoteVerifier { name: name.to_owned(), id: signed_note::key_id(name, &encoded_public(&key)), key })
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl signed_note::Verifier for NoteVerifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        self.id
    }

    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        Signature::from_slice(sig).is_ok_and(|s| self.key.verify_strict(msg, &s).is_ok())
    }
}

/// One verifier, looked up by name and id.
struct One<'a>(&'a NoteVerifier);

impl Verifiers for One<'_> {
    fn verifier(&self, name: &str, id: u32) -> Result<&dyn signed_note::Verifier, VerificationError> {
        if self.0.name == name && self.0.id == id {
            Ok(self.0)
        } else {
            Err(VerificationError::UnknownKey { name: name.to_owned(), id })
        }
    }
}

/// Writes and signs the checkpoint note of a tree head.
pub fn sign_checkpoint(origin: &str, size: u64, root: &Hash, ledger_key: &NoteSigner) -> Result<String, AuditError> {
    let checkpoint = Checkpoint::new(origin, size, TlogHash(*root), "").map_err(|e| note_err("checkpoint", e))?;
    let mut note = Note::new(&checkpoint.to_bytes(), &[]).map_err(|e| note_err("note", e))?;
    note.add_sigs(&[ledger_key]).map_err(|e| note_err("signing", e))?;
    String::from_utf8(note.to_bytes()).map_err(|e| note_err("note", e))
}

/// A checkpoint note whose ledger signature verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenedCheckpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// The note's text (the signed part: origin, size, root lines).
    pub text: String,
}

fn parse_note(note_text: &str) -> Result<Note, AuditError> {
    if note_text.len() > MAX_NOTE_BYTES {
        return Err(AuditError::Note { reason: format!("note is over {MAX_NOTE_BYTES} bytes") });
    }
    Note::from_bytes(note_text.as_bytes()).map_err(|e| note_err("malformed note", e))
}

/// Parses a note and checks the ledger's signature on it.
pub fn open_checkpoint(note_text: &str, ledger_key: &NoteVerifier) -> Result<OpenedCheckpoint, AuditError> {
    let note = parse_note(note_text)?;
    note.verify(&One(ledger_key)).map_err(|e| AuditError::BadSignature {
        loc: crate::Loc::file("checkpoint note"),
        reason: format!("ledger key {}: {e}", ledger_key.name),
    })?;
    let checkpoint = Checkpoint::from_bytes(note.text()).map_err(|e| note_err("checkpoint", e))?;
    if checkpoint.origin() != ledger_key.name {
        return Err(AuditError::Note {
            reason: format!("origin {:?} is not the ledger key's name {:?}", checkpoint.origin(), ledger_key.name),
        });
    }
    let text = String::from_utf8(note.text().to_vec()).map_err(|e| note_err("note", e))?;
    Ok(OpenedCheckpoint {
        origin: checkpoint.origin().to_owned(),
        size: checkpoint.size(),
        root: checkpoint.hash().0,
        text,
    })
}

/// Adds (or replaces) `witness`'s signature on a note.
pub fn cosign(note_text: &str, witness: &NoteSigner) -> Result<String, AuditError> {
    let mut note = parse_note(note_text)?;
    note.add_sigs(&[witness]).map_err(|e| note_err("cosigning", e))?;
    String::from_utf8(note.to_bytes()).map_err(|e| note_err("note", e))
}

/// The signature lines of a note (`— name base64`), in order.
pub fn signature_lines(note_text: &str) -> Result<Vec<String>, AuditError> {
    let note = parse_note(note_text)?;
    let text_len = note.text().len();
    let sigs = &note_text[text_len + 1..];
    Ok(sigs.lines().map(str::to_owned).collect())
}

/// Joins a note's text (ending in a newline) with signature lines
/// (deduplicated, in order).
pub fn with_signature_lines(text: &str, lines: &[String]) -> Result<String, AuditError> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = format!("{text}\n");
    for line in lines.iter().filter(|l| seen.insert(l.as_str())) {
        out.push_str(line);
        out.push('\n');
    }
    parse_note(&out)?;
    Ok(out)
}

/// Which of `trusted` witnesses validly signed the note. A signature by a
/// trusted name with a bad signature is an error, not a silent skip.
pub fn witnessed_by(note_text: &str, trusted: &[NoteVerifier]) -> Result<Vec<String>, AuditError> {
    let note = parse_note(note_text)?;
    let mut names = Vec::new();
    for w in trusted {
        match note.verify(&One(w)) {
            Ok(_) => names.push(w.name.clone()),
            Err(signed_note::NoteError::UnverifiedNote) => {}
            Err(e) => {
                return Err(AuditError::BadSignature {
                    loc: crate::Loc::file("checkpoint note"),
                    reason: format!("witness {}: {e}", w.name),
                })
            }
        }
    }
    Ok(names)
}

/// Checks that the note carries at least `min` signatures of distinct
/// trusted witnesses.
pub fn require_witnesses(note_text: &str, trusted: &[NoteVerifier], min: usize) -> Result<Vec<String>, AuditError> {
    let names = witnessed_by(note_text, trusted)?;
    if names.len() < min {
        return Err(AuditError::NotWitnessed { needed: min, found: names.len() });
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(name: &str, seed: u8) -> NoteSigner {
        NoteSigner::new(name, SigningKey::from_bytes(&[seed; 32])).unwrap()
    }

    #[test]
    fn a_signed_checkpoint_opens_with_its_key_and_not_another() {
        let ledger = signer("offtake/demo", 1);
        let note = sign_checkpoint("offtake/demo", 7, &[9u8; 32], &ledger).unwrap();
        assert!(note.starts_with("offtake/demo\n7\n"), "{note}");
        let vkey = NoteVerifier::parse(&ledger.verifier_key()).unwrap();
        let opened = open_checkpoint(&note, &vkey).unwrap();
        assert_eq!((opened.size, opened.root), (7, [9u8; 32]));
        let other = NoteVerifier::parse(&signer("offtake/demo", 2).verifier_key()).unwrap();
        assert_eq!(open_checkpoint(&note, &other).unwrap_err().code(), "bad_signature");
    }

    #[test]
    fn an_edited_size_breaks_the_ledger_signature() {
        let ledger = signer("offtake/demo", 1);
        let note = sign_checkpoint("offtake/demo", 7, &[9u8; 32], &ledger).unwrap();
        let forged = note.replacen("\n7\n", "\n6\n", 1);
        let vkey = NoteVerifier::from_key("offtake/demo", ledger.key.verifying_key()).unwrap();
        assert_eq!(open_checkpoint(&forged, &vkey).unwrap_err().code(), "bad_signature");
    }

    #[test]
    fn cosignatures_count_only_for_trusted_witnesses() {
        let ledger = signer("offtake/demo", 1);
        let note = sign_checkpoint("offtake/demo", 3, &[4u8; 32], &ledger).unwrap();
        let (a, b, c) = (signer("witness.a", 5), signer("witness.b", 6), signer("witness.c", 7));
        let cosigned = cosign(&cosign(&note, &a).unwrap(), &b).unwrap();
        let trusted: Vec<NoteVerifier> =
            [&a, &b, &c].iter().map(|s| NoteVerifier::parse(&s.verifier_key()).unwrap()).collect();
        assert_eq!(witnessed_by(&cosigned, &trusted).unwrap(), vec!["witness.a", "witness.b"]);
        assert!(require_witnesses(&cosigned, &trusted, 2).is_ok());
        assert_eq!(require_witnesses(&cosigned, &trusted, 3).unwrap_err().code(), "not_witnessed");
        assert_eq!(signature_lines(&cosigned).unwrap().len(), 3);
    }

    #[test]
    fn verifier_keys_are_checked() {
        for bad in ["", "name", "name+zz+AAAA", "name+00000000+AQ==", "a b+00000000+AQ=="] {
            assert!(NoteVerifier::parse(bad).is_err(), "{bad:?}");
        }
        let good = signer("w", 3).verifier_key();
        let tampered = good.replacen("w+", "v+", 1);
        assert!(NoteVerifier::parse(&tampered).is_err(), "the key id binds the name");
    }
}
