//! The witness's rule: cosign a checkpoint only if it extends the last one
//! this witness cosigned.
//!
//! A database insider can rewrite the ledger and recompute every hash, so a
//! chain that verifies proves only that it is self-consistent. What it
//! cannot do is make a *smaller* or *different* history consistent with a
//! checkpoint somebody outside already holds. A witness (a lender, a brand,
//! an auditor: anyone with an API key) keeps the last checkpoint it
//! cosigned; for each new one it asks the ledger for a consistency proof and
//! checks it (RFC 6962 / 9162, via `tlog_tiles::check_tree`). A rollback
//! (truncation) or a fork (rewritten history) is refused and reported; a
//! verifier who requires N witness signatures on the checkpoint it trusts
//! then cannot be shown a history that any of those witnesses refused.
//!
//! The first checkpoint a witness sees is taken on trust (as with any
//! witness); it is worth running one from the start of a program.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::AuditError;
use crate::merkle::Hash;
use crate::note::OpenedCheckpoint;

/// Longest consistency proof accepted: two per tree level of a 2^64 tree.
pub const MAX_PROOF_HASHES: usize = 128;

/// What a witness remembers: the last checkpoint it cosigned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessState {
    pub origin: String,
    pub size: u64,
    /// Hex Merkle root.
    pub root: String,
    /// The cosigned note, as sent back to the ledger.
    pub note: String,
}

impl WitnessState {
    pub fn root(&self) -> Result<Hash, AuditError> {
        let mut root = [0u8; 32];
        hex::decode_to_slice(&self.root, &mut root)
            .map_err(|_| AuditError::invalid("witness state", "root is not 64 hex digits"))?;
        Ok(root)
    }

    /// Reads the state file; `None` when there is none yet.
    pub fn load(path: &Path) -> Result<Option<WitnessState>, AuditError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| AuditError::invalid("witness state", format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(AuditError::io(path.display(), e)),
        }
    }

    /// Writes the state file atomically (temp file, fsync, rename), so a
    /// crash leaves the old state or the new one, never a torn file.
    pub fn save(&self, path: &Path) -> Result<(), AuditError> {
        use std::io::Write;
        let tmp = path.with_extension("tmp");
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| AuditError::invalid("witness state", e.to_string()))?;
        let mut file = std::fs::File::create(&tmp).map_err(|e| AuditError::io(tmp.display(), e))?;
        file.write_all(&bytes).and_then(|()| file.sync_all()).map_err(|e| AuditError::io(tmp.display(), e))?;
        std::fs::rename(&tmp, path).map_err(|e| AuditError::io(path.display(), e))
    }
}

/// Decides whether `new` extends `last` (the last cosigned checkpoint),
/// given the ledger's consistency proof from `last.size` to `new.size`.
pub fn check_extends(last: Option<&WitnessState>, new: &OpenedCheckpoint, proof: &[Hash]) -> Result<(), AuditError> {
    let Some(last) = last else { return Ok(()) };
    if last.origin != new.origin {
        return Err(AuditError::Fork {
            reason: format!("checkpoint is of {:?}, this witness follows {:?}", new.origin, last.origin),
        });
    }
    let last_root = last.root()?;
    if new.size < last.size {
        return Err(AuditError::Rollback { witnessed: last.size, size: new.size });
    }
    if new.size == last.size {
        return if new.root == last_root {
            Ok(())
        } else {
            Err(AuditError::Fork {
                reason: format!(
                    "tree of {} entries has root {}, witnessed {}",
                    new.size,
                    hex::encode(new.root),
                    last.root
                ),
            })
        };
    }
    if last.size == 0 {
        // Every tree extends the empty one.
        return Ok(());
    }
    if proof.len() > MAX_PROOF_HASHES {
        return Err(AuditError::Proof { reason: format!("{} hashes is more than any proof needs", proof.len()) });
    }
    let proof: Vec<tlog_tiles::Hash> = proof.iter().map(|h| tlog_tiles::Hash(*h)).collect();
    tlog_tiles::check_tree(&proof, new.size, tlog_tiles::Hash(new.root), last.size, tlog_tiles::Hash(last_root))
        .map_err(|e| AuditError::Fork {
            reason: format!(
                "the tree of {} entries does not extend the witnessed tree of {} entries: {e}",
                new.size, last.size
            ),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{consistency_ranges, leaf_hash, prove, root_of};

    fn leaves(n: u8) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&[i; 32])).collect()
    }

    fn state(size: u64, root: Hash) -> WitnessState {
        WitnessState { origin: "offtake/t".into(), size, root: hex::encode(root), note: String::new() }
    }

    fn head(size: u64, root: Hash) -> OpenedCheckpoint {
        OpenedCheckpoint { origin: "offtake/t".into(), size, root, text: String::new() }
    }

    #[test]
    fn our_consistency_proofs_check_with_tlog_tiles_for_every_pair_of_sizes() {
        let all = leaves(17);
        for old in 1..=17u64 {
            for new in old..=17u64 {
                let proof = prove(consistency_ranges(old, new), &all[..new as usize]).unwrap();
                let last = state(old, root_of(&all[..old as usize]));
                check_extends(Some(&last), &head(new, root_of(&all[..new as usize])), &proof)
                    .unwrap_or_else(|e| panic!("{old} -> {new}: {e}"));
            }
        }
    }

    #[test]
    fn a_smaller_tree_is_a_rollback() {
        let all = leaves(5);
        let last = state(5, root_of(&all));
        let e = check_extends(Some(&last), &head(4, root_of(&all[..4])), &[]).unwrap_err();
        assert_eq!(e.code(), "rollback");
    }

    #[test]
    fn another_tree_of_the_same_size_or_larger_is_a_fork() {
        let all = leaves(6);
        let last = state(5, root_of(&all[..5]));
        let mut rewritten = all.clone();
        rewritten[4] = leaf_hash(b"rewritten");
        let e = check_extends(Some(&last), &head(5, root_of(&rewritten[..5])), &[]).unwrap_err();
        assert_eq!(e.code(), "fork");
        let proof = prove(consistency_ranges(5, 6), &rewritten).unwrap();
        let e = check_extends(Some(&last), &head(6, root_of(&rewritten)), &proof).unwrap_err();
        assert_eq!(e.code(), "fork", "a proof for the rewritten history does not reach the witnessed root");
    }

    #[test]
    fn the_first_checkpoint_is_taken_on_trust_and_the_same_one_again_is_fine() {
        let all = leaves(3);
        assert!(check_extends(None, &head(3, root_of(&all)), &[]).is_ok());
        assert!(check_extends(Some(&state(3, root_of(&all))), &head(3, root_of(&all)), &[]).is_ok());
    }

    #[test]
    fn a_state_file_round_trips_and_a_missing_one_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("witness.json");
        assert_eq!(WitnessState::load(&path).unwrap(), None);
        let s = state(3, [7u8; 32]);
        s.save(&path).unwrap();
        assert_eq!(WitnessState::load(&path).unwrap(), Some(s));
    }
}
