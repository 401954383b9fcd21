//! RFC 6962 / RFC 9162 Merkle tree over a ledger's entries.
//!
//! * leaf hash `SHA-256(0x00 ‖ data)`, node hash `SHA-256(0x01 ‖ left ‖ right)`,
//!   empty tree `SHA-256("")`;
//! * the ledger's tree has one leaf per entry, in sequence order, whose data
//!   is the entry's 32-byte chain hash: leaf index `i` is entry `seq = i + 1`,
//!   and the tree of size `n` covers entries `1..=n`.
//!
//! Everything here streams: [`CompactRange`] appends leaves in O(log n)
//! memory, and [`ProofBuilder`] computes the nodes of a proof from one pass
//! over the leaves, so neither the exporter nor the prover ever holds the
//! ledger in memory. Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2.

use std::ops::Range;

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// `SHA-256(0x00 ‖ data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Largest power of two strictly smaller than `n` (n ≥ 2).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The perfect subtrees covering leaves `[0, size)`, largest first: the
/// "frontier" of an append-only tree. Appending a leaf merges equal-height
/// subtrees; the root folds them right to left.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactRange {
    size: u64,
    /// One hash per set bit of `size`, highest bit first.
    nodes: Vec<Hash>,
}

impl CompactRange {
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a range from its size and frontier, as stored in a manifest.
    /// `None` when the number of hashes does not match the size.
    pub fn from_frontier(size: u64, nodes: Vec<Hash>) -> Option<Self> {
        (size.count_ones() as usize == nodes.len()).then_some(CompactRange { size, nodes })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn frontier(&self) -> &[Hash] {
        &self.nodes
    }

    /// Appends one leaf, given its leaf hash.
    pub fn push_leaf_hash(&mut self, leaf: Hash) {
        let mut node = leaf;
        // Each trailing one bit of the old size is a subtree of the same
        // height as the new node: merge them.
        let mut merges = self.size.trailing_ones();
        while merges > 0 {
            let left = self.nodes.pop().expect("one node per set bit");
            node = node_hash(&left, &node);
            merges -= 1;
        }
        self.nodes.push(node);
        self.size += 1;
        debug_assert_eq!(self.size.count_ones() as usize, self.nodes.len());
    }

    /// The RFC 6962 Merkle Tree Hash of the leaves appended so far.
    pub fn root(&self) -> Hash {
        let mut iter = self.nodes.iter().rev();
        match iter.next() {
            None => empty_root(),
            Some(last) => iter.fold(*last, |acc, left| node_hash(left, &acc)),
        }
    }
}

/// Root of a list of leaf hashes (in memory; for tests and small trees).
pub fn root_of(leaves: &[Hash]) -> Hash {
    let mut range = CompactRange::new();
    for l in leaves {
        range.push_leaf_hash(*l);
    }
    range.root()
}

/// The subtrees whose hashes form the inclusion proof of leaf `index` in a
/// tree of `size` leaves, in proof order (RFC 9162 §2.1.3.1, PATH).
pub fn inclusion_ranges(index: u64, size: u64) -> Vec<Range<u64>> {
    fn path(m: u64, lo: u64, hi: u64, out: &mut Vec<Range<u64>>) {
        let n = hi - lo;
        if n <= 1 {
            return;
        }
        let k = split_point(n);
        if m < k {
            path(m, lo, lo + k, out);
            out.push(lo + k..hi);
        } else {
            path(m - k, lo + k, hi, out);
            out.push(lo..lo + k);
        }
    }
    let mut out = Vec::new();
    if index < size {
        path(index, 0, size, &mut out);
    }
    out
}

/// The subtrees whose hashes form the consistency proof from a tree of
/// `old_size` leaves to one of `new_size` (RFC 9162 §2.1.4.1, PROOF).
pub fn consistency_ranges(old_size: u64, new_size: u64) -> Vec<Range<u64>> {
    fn subproof(m: u64, lo: u64, hi: u64, complete: bool, out: &mut Vec<Range<u64>>) {
        let n = hi - lo;
        if m == n {
            if !complete {
                out.push(lo..hi);
            }
            return;
        }
        let k = split_point(n);
        if m <= k {
            subproof(m, lo, lo + k, complete, out);
            out.push(lo + k..hi);
        } else {
            subproof(m - k, lo + k, hi, false, out);
            out.push(lo..lo + k);
        }
    }
    let mut out = Vec::new();
    if 0 < old_size && old_size < new_size {
        subproof(old_size, 0, new_size, true, &mut out);
    }
    out
}

/// Computes the hashes of a set of subtrees from one in-order pass over the
/// leaves, in O(ranges × log n) memory.
pub struct ProofBuilder {
    ranges: Vec<Range<u64>>,
    acc: Vec<CompactRange>,
    next: u64,
}

impl ProofBuilder {
    pub fn new(ranges: Vec<Range<u64>>) -> Self {
        let acc = vec![CompactRange::new(); ranges.len()];
        ProofBuilder { ranges, acc, next: 0 }
    }

    /// Leaves needed: everything below the highest range end.
    pub fn leaves_needed(&self) -> u64 {
        self.ranges.iter().map(|r| r.end).max().unwrap_or(0)
    }

    /// Feeds leaf `self.next`.
    pub fn push_leaf_hash(&mut self, leaf: Hash) {
        let i = self.next;
        for (r, acc) in self.ranges.iter().zip(self.acc.iter_mut()) {
            if r.contains(&i) {
                acc.push_leaf_hash(leaf);
            }
        }
        self.next += 1;
    }

    /// The subtree hashes, in the order the ranges were given. `None` when
    /// not all needed leaves were fed.
    pub fn finish(self) -> Option<Vec<Hash>> {
        if self.next < self.leaves_needed() {
            return None;
        }
        Some(self.acc.iter().map(CompactRange::root).collect())
    }
}

/// Why a proof does not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("old tree size {old} is larger than new tree size {new}")]
    SizesReversed { old: u64, new: u64 },
    #[error("proof has the wrong number of hashes")]
    WrongLength,
    #[error("proof should be empty for these sizes")]
    NotEmpty,
    #[error("recomputed root {computed} does not match {expected}")]
    RootMismatch { computed: String, expected: String },
    #[error("roots of equal-size trees differ")]
    EqualSizeRootsDiffer,
}

fn root_mismatch(computed: &Hash, expected: &Hash) -> ProofError {
    ProofError::RootMismatch { computed: hex::encode(computed), expected: hex::encode(expected) }
}

/// The root an inclusion proof leads to (RFC 9162 §2.1.3.2).
pub fn root_from_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash]) -> Result<Hash, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(ProofError::WrongLength);
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength);
    }
    Ok(r)
}

/// Verifies that `leaf` is at `index` in the tree of `size` with `root`.
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> Result<(), ProofError> {
    let computed = root_from_inclusion(index, size, leaf, proof)?;
    if &computed != root {
        return Err(root_mismatch(&computed, root));
    }
    Ok(())
}

/// Verifies that the tree of `old_size` with `old_root` is a prefix of the
/// tree of `new_size` with `new_root` (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::SizesReversed { old: old_size, new: new_size });
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::NotEmpty);
        }
        return if old_root == new_root { Ok(()) } else { Err(ProofError::EqualSizeRootsDiffer) };
    }
    if old_size == 0 {
        // Every tree extends the empty tree.
        return if proof.is_empty() { Ok(()) } else { Err(ProofError::NotEmpty) };
    }
    if proof.is_empty() {
        return Err(ProofError::WrongLength);
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (mut fnode, mut snode) = (old_size - 1, new_size - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let mut fr = path[0];
    let mut sr = path[0];
    for c in &path[1..] {
        if snode == 0 {
            return Err(ProofError::WrongLength);
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength);
    }
    if &fr != old_root {
        return Err(root_mismatch(&fr, old_root));
    }
    if &sr != new_root {
        return Err(root_mismatch(&sr, new_root));
    }
    Ok(())
}

/// In-memory proofs over a list of leaf hashes (tests and small trees).
pub fn prove(ranges: Vec<Range<u64>>, leaves: &[Hash]) -> Option<Vec<Hash>> {
    let mut b = ProofBuilder::new(ranges);
    let needed = usize::try_from(b.leaves_needed()).ok()?;
    for l in leaves.get(..needed)? {
        b.push_leaf_hash(*l);
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    //! Known-answer vectors from RFC 6962's reference tests as published in
    //! transparency-dev/merkle (proof/verify_test.go): eight leaves, the
    //! roots of every prefix, and audit / consistency paths.
    use super::*;

    fn h(s: &str) -> Hash {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).expect("vector hex");
        out
    }

    fn leaves() -> Vec<Hash> {
        ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
            .iter()
            .map(|d| leaf_hash(&hex::decode(d).expect("hex")))
            .collect()
    }

    const ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    /// (1-based leaf, tree size, path)
    fn inclusion_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
        vec![
            (1, 1, vec![]),
            (
                1,
                8,
                vec![
                    h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                    h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                    h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
                ],
            ),
            (
                6,
                8,
                vec![
                    h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                    h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
                ],
            ),
            (3, 3, vec![h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
            (
                2,
                5,
                vec![
                    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
                    h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                    h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                ],
            ),
        ]
    }

    fn consistency_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
        vec![
            (1, 1, vec![]),
            (
                1,
                8,
                vec![
                    h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                    h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                    h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
                ],
            ),
            (
                6,
                8,
                vec![
                    h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                    h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
                ],
            ),
            (
                2,
                5,
                vec![
                    h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                    h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                ],
            ),
            (
                6,
                7,
                vec![
                    h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                    h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
                    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
                ],
            ),
        ]
    }

    #[test]
    fn roots_match_rfc6962_vectors() {
        let leaves = leaves();
        for (n, want) in ROOTS.iter().enumerate() {
            assert_eq!(hex::encode(root_of(&leaves[..=n])), *want, "size {}", n + 1);
        }
        assert_eq!(hex::encode(root_of(&[])), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn inclusion_proofs_match_vectors_and_verify() {
        let leaves = leaves();
        for (leaf, size, want) in inclusion_vectors() {
            let index = leaf - 1;
            let got = prove(inclusion_ranges(index, size), &leaves[..size as usize]).expect("enough leaves");
            assert_eq!(got, want, "leaf {leaf} size {size}");
            let root = h(ROOTS[size as usize - 1]);
            verify_inclusion(index, size, &leaves[index as usize], &got, &root).expect("verifies");
        }
    }

    #[test]
    fn consistency_proofs_match_vectors_and_verify() {
        let leaves = leaves();
        for (m, n, want) in consistency_vectors() {
            let got = prove(consistency_ranges(m, n), &leaves[..n as usize]).expect("enough leaves");
            assert_eq!(got, want, "{m} -> {n}");
            verify_consistency(m, n, &h(ROOTS[m as usize - 1]), &h(ROOTS[n as usize - 1]), &got).expect("verifies");
        }
    }

    #[test]
    fn every_proof_of_small_trees_verifies_and_tampering_fails() {
        let leaves: Vec<Hash> = (0u32..40).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        for n in 1..=leaves.len() as u64 {
            let root = root_of(&leaves[..n as usize]);
            for i in 0..n {
                let proof = prove(inclusion_ranges(i, n), &leaves).expect("leaves");
                verify_inclusion(i, n, &leaves[i as usize], &proof, &root).expect("valid");
                assert!(verify_inclusion(i, n, &leaf_hash(b"other"), &proof, &root).is_err());
                if i + 1 < n {
                    assert!(verify_inclusion(i + 1, n, &leaves[i as usize], &proof, &root).is_err());
                }
                for k in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[k][0] ^= 1;
                    assert!(verify_inclusion(i, n, &leaves[i as usize], &bad, &root).is_err());
                }
                let mut longer = proof.clone();
                longer.push(root);
                assert!(verify_inclusion(i, n, &leaves[i as usize], &longer, &root).is_err());
            }
            for m in 1..=n {
                let old_root = root_of(&leaves[..m as usize]);
                let proof = prove(consistency_ranges(m, n), &leaves).expect("leaves");
                verify_consistency(m, n, &old_root, &root, &proof).expect("consistent");
                for k in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[k][31] ^= 0x10;
                    assert!(verify_consistency(m, n, &old_root, &root, &bad).is_err(), "{m}->{n} k{k}");
                }
                if m < n {
                    let wrong_old = root_of(&leaves[1..=m as usize]);
                    assert!(verify_consistency(m, n, &wrong_old, &root, &proof).is_err());
                    assert!(verify_consistency(m, n, &old_root, &old_root, &proof).is_err());
                    if !proof.is_empty() {
                        assert!(verify_consistency(m, n, &old_root, &root, &proof[1..]).is_err());
                    }
                }
            }
        }
    }

    #[test]
    fn frontier_round_trips() {
        let leaves: Vec<Hash> = (0u32..13).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        let mut a = CompactRange::new();
        for l in &leaves[..9] {
            a.push_leaf_hash(*l);
        }
        let mut b = CompactRange::from_frontier(a.size(), a.frontier().to_vec()).expect("frontier");
        for l in &leaves[9..] {
            b.push_leaf_hash(*l);
        }
        assert_eq!(b.root(), root_of(&leaves));
        assert!(CompactRange::from_frontier(9, vec![]).is_none());
    }
}
