//! Batches: a fixed number `N` of receipt leaves (padded) under a Poseidon Merkle root.

use ark_bn254::Fr;

use crate::{poseidon, receipt::Receipt};

/// Batch sizes with shipped circuits and verifiers.
pub const SUPPORTED_SIZES: [usize; 2] = [64, 1024];

/// Why receipts cannot form a batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// The size is not a power of two of at least 2.
    #[error("batch size {0} is not a power of two >= 2")]
    InvalidSize(usize),
    /// More receipts than the batch holds.
    #[error("{count} receipts do not fit a batch of {size}")]
    TooManyReceipts {
        /// Receipts given.
        count: usize,
        /// Batch size.
        size: usize,
    },
    /// A receipt belongs to another model.
    #[error("receipt {index} is for another model than the batch")]
    MixedModel {
        /// Index of the offending receipt.
        index: usize,
    },
}

/// A padded batch of receipts for one model, with its Merkle tree.
///
/// Invariants: `receipts.len() == size`; every receipt has `model_id`; `levels[0]` are the leaves and the last
/// level is `[root]`; the totals are the sums over all receipts (padding counts zero).
#[derive(Debug, Clone)]
pub struct Batch {
    model_id: [u8; 32],
    receipts: Vec<Receipt>,
    levels: Vec<Vec<Fr>>,
    total_tokens: u128,
    total_fee: u128,
    real_count: usize,
}

impl Batch {
    /// Builds a batch of `size` leaves from `receipts` (all for `model_id`), padding with zero receipts.
    pub fn new(size: usize, model_id: [u8; 32], receipts: &[Receipt]) -> Result<Self, BatchError> {
        if size < 2 || !size.is_power_of_two() {
            return Err(BatchError::InvalidSize(size));
        }
        if receipts.len() > size {
            return Err(BatchError::TooManyReceipts { count: receipts.len(), size });
        }
        if let Some(index) = receipts.iter().position(|r| r.model_id != model_id) {
            return Err(BatchError::MixedModel { index });
        }
        let mut padded = receipts.to_vec();
        padded.resize(size, Receipt::padding(model_id));
        let total_tokens = padded.iter().map(Receipt::tokens).sum();
        let total_fee = padded.iter().map(|r| u128::from(r.fee)).sum();

        let mut levels = vec![padded.iter().map(Receipt::leaf).collect::<Vec<_>>()];
        while levels.last().is_some_and(|level| level.len() > 1) {
            let next = levels
                .last()
                .map(|level| level.chunks(2).map(|pair| poseidon::hash_node(pair[0], pair[1])).collect())
                .unwrap_or_default();
            levels.push(next);
        }
        Ok(Self { model_id, receipts: padded, levels, total_tokens, total_fee, real_count: receipts.len() })
    }

    /// Number of leaves `N`.
    pub fn size(&self) -> usize {
        self.receipts.len()
    }

    /// Receipts before padding.
    pub fn real_count(&self) -> usize {
        self.real_count
    }

    /// The model of every receipt.
    pub fn model_id(&self) -> [u8; 32] {
        self.model_id
    }

    /// All `N` receipts, padding included.
    pub fn receipts(&self) -> &[Receipt] {
        &self.receipts
    }

    /// The Merkle root.
    pub fn root(&self) -> Fr {
        self.levels.last().and_then(|level| level.first()).copied().unwrap_or_default()
    }

    /// Sum of prompt and completion tokens.
    pub fn total_tokens(&self) -> u128 {
        self.total_tokens
    }

    /// Sum of fees in NEURO-wei.
    pub fn total_fee(&self) -> u128 {
        self.total_fee
    }

    /// Sibling hashes from leaf `index` up to the root (for challenging a single receipt).
    pub fn merkle_path(&self, index: usize) -> Option<Vec<Fr>> {
        if index >= self.size() {
            return None;
        }
        let mut path = Vec::with_capacity(self.levels.len() - 1);
        let mut i = index;
        for level in &self.levels[..self.levels.len() - 1] {
            path.push(level[i ^ 1]);
            i /= 2;
        }
        Some(path)
    }
}

/// Recomputes a root from a leaf, its index and its [`Batch::merkle_path`].
pub fn root_from_path(leaf: Fr, index: usize, path: &[Fr]) -> Fr {
    path.iter().enumerate().fold(leaf, |node, (depth, sibling)| {
        if (index >> depth) & 1 == 0 {
            poseidon::hash_node(node, *sibling)
        } else {
            poseidon::hash_node(*sibling, node)
        }
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample_receipts(model_id: [u8; 32], count: usize) -> Vec<Receipt> {
        (0..count)
            .map(|i| Receipt {
                request_hash: [i as u8; 32],
                model_id,
                prompt_tokens: 10 + i as u64,
                completion_tokens: 20 + 2 * i as u64,
                fee: 1_000_000_000_000 * (30 + 3 * i as u64),
                user: [7; 20],
            })
            .collect()
    }

    #[test]
    fn totals_padding_and_paths() -> Result<(), BatchError> {
        let model = [9; 32];
        let batch = Batch::new(8, model, &sample_receipts(model, 5))?;
        assert_eq!(batch.size(), 8);
        assert_eq!(batch.real_count(), 5);
        assert_eq!(batch.total_tokens(), (0..5).map(|i| 30 + 3 * i).sum::<u128>());
        assert_eq!(batch.total_fee(), (0..5).map(|i| 1_000_000_000_000 * (30 + 3 * i)).sum::<u128>());
        for index in 0..8 {
            let path = batch.merkle_path(index).ok_or(BatchError::InvalidSize(0))?;
            assert_eq!(root_from_path(batch.receipts()[index].leaf(), index, &path), batch.root());
        }
        assert!(batch.merkle_path(8).is_none());
        Ok(())
    }

    #[test]
    fn root_commits_to_every_receipt() -> Result<(), BatchError> {
        let model = [9; 32];
        let mut receipts = sample_receipts(model, 4);
        let root = Batch::new(4, model, &receipts)?.root();
        receipts[3].fee += 1;
        assert_ne!(Batch::new(4, model, &receipts)?.root(), root);
        Ok(())
    }

    #[test]
    fn rejects_bad_batches() {
        let model = [9; 32];
        assert_eq!(Batch::new(6, model, &[]).err(), Some(BatchError::InvalidSize(6)));
        assert_eq!(
            Batch::new(2, model, &sample_receipts(model, 3)).err(),
            Some(BatchError::TooManyReceipts { count: 3, size: 2 })
        );
        let mut mixed = sample_receipts(model, 3);
        mixed[1].model_id = [1; 32];
        assert_eq!(Batch::new(4, model, &mixed).err(), Some(BatchError::MixedModel { index: 1 }));
    }
}
