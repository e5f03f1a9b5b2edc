//! Jaccard similarity of character n-gram sets.
//!
//! A string's n-grams are its windows of `n` Unicode scalar values. A non-empty
//! string shorter than `n` has one n-gram, the whole string; the empty string
//! has none. Two empty sets have similarity 1.0 (the strings are equal), one
//! empty set against a non-empty one has 0.0.

use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_128;

use crate::{InvalidArgument, Normalize};

/// One n-gram as a 128-bit key. Up to 6 characters are packed exactly (21 bits
/// each, offset by one so that different lengths never meet); longer n-grams
/// are hashed with XXH3-128.
pub type Gram = u128;

const PACK_MAX: usize = 6;

fn gram_key(gram: &[char]) -> Gram {
    if gram.len() <= PACK_MAX {
        gram.iter().fold(0u128, |key, &c| (key << 21) | (c as u128 + 1))
    } else {
        let mut bytes = Vec::with_capacity(gram.len() * 4);
        for &c in gram {
            bytes.extend_from_slice(&(c as u32).to_le_bytes());
        }
        xxh3_128(&bytes)
    }
}

/// The sorted, deduplicated n-gram keys of `chars` (`n` >= 1).
pub fn ngram_set(chars: &[char], n: usize) -> Vec<Gram> {
    assert!(n >= 1, "n-gram size must be at least 1");
    let mut grams: Vec<Gram> = if chars.is_empty() {
        Vec::new()
    } else if chars.len() < n {
        vec![gram_key(chars)]
    } else {
        chars.windows(n).map(gram_key).collect()
    };
    grams.sort_unstable();
    grams.dedup();
    grams
}

/// The size of the intersection of two sorted sets.
pub fn intersection_len(a: &[Gram], b: &[Gram]) -> usize {
    let (mut i, mut j, mut common) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    common
}

/// |a ∩ b| / |a ∪ b| of two sorted sets; 1.0 when both are empty.
pub fn jaccard_sets(a: &[Gram], b: &[Gram]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let common = intersection_len(a, b);
    common as f64 / (a.len() + b.len() - common) as f64
}

fn check_n(n: usize) -> Result<(), InvalidArgument> {
    if n == 0 {
        return Err(InvalidArgument("n must be at least 1".into()));
    }
    Ok(())
}

/// Jaccard similarity of the character n-gram sets of `a` and `b`.
pub fn jaccard_ngrams(a: &str, b: &str, n: usize, norm: Normalize) -> Result<f64, InvalidArgument> {
    check_n(n)?;
    Ok(jaccard_sets(&ngram_set(&norm.chars(a), n), &ngram_set(&norm.chars(b), n)))
}

/// The n-gram sets of many texts, computed in parallel.
pub fn ngram_sets<S: AsRef<str> + Sync>(texts: &[S], n: usize, norm: Normalize) -> Vec<Vec<Gram>> {
    texts.par_iter().map(|t| ngram_set(&norm.chars(t.as_ref()), n)).collect()
}

/// Replaces n-gram keys by dense ids (sorted sets of keys become sorted sets of
/// ids), so that a matrix row can mark its query's ids in a bitset.
fn dense_ids(groups: [&[Vec<Gram>]; 2]) -> (usize, [Vec<Vec<u32>>; 2]) {
    let mut vocab: Vec<Gram> = groups.iter().flat_map(|g| g.iter().flatten().copied()).collect();
    vocab.par_sort_unstable();
    vocab.dedup();
    let ids = |sets: &[Vec<Gram>]| -> Vec<Vec<u32>> {
        sets.par_iter()
            .map(|set| set.iter().map(|g| vocab.binary_search(g).expect("gram is in the vocabulary") as u32).collect())
            .collect()
    };
    (vocab.len(), [ids(groups[0]), ids(groups[1])])
}

/// Fills `out` (row-major, `queries.len() x choices.len()`) with the pairwise
/// Jaccard similarities, in parallel.
pub fn jaccard_matrix_into<S: AsRef<str> + Sync>(
    queries: &[S],
    choices: &[S],
    n: usize,
    norm: Normalize,
    out: &mut [f32],
) -> Result<(), InvalidArgument> {
    check_n(n)?;
    let cols = choices.len();
    assert_eq!(out.len(), queries.len() * cols);
    if out.is_empty() {
        return Ok(());
    }
    let q_sets = ngram_sets(queries, n, norm);
    let c_sets = ngram_sets(choices, n, norm);
    if q_sets.iter().chain(&c_sets).map(Vec::len).sum::<usize>() >= u32::MAX as usize {
        // Too many n-grams for 32-bit ids: compare the sorted keys directly.
        out.par_chunks_mut(cols).zip(q_sets.par_iter()).for_each(|(row, q)| {
            for (cell, c) in row.iter_mut().zip(&c_sets) {
                *cell = jaccard_sets(q, c) as f32;
            }
        });
        return Ok(());
    }
    let (vocab, [q_ids, c_ids]) = dense_ids([&q_sets, &c_sets]);
    drop((q_sets, c_sets));
    out.par_chunks_mut(cols).zip(q_ids.par_iter()).for_each(|(row, q)| {
        let mut marks = vec![0u64; vocab.div_ceil(64)];
        for &id in q {
            marks[id as usize / 64] |= 1 << (id % 64);
        }
        let marks = &marks;
        row.par_chunks_mut(CHUNK).enumerate().for_each(|(k, cells)| {
            for (cell, c) in cells.iter_mut().zip(&c_ids[k * CHUNK..]) {
                let common: usize = c.iter().map(|&id| (marks[id as usize / 64] >> (id % 64)) as usize & 1).sum();
                let union = q.len() + c.len() - common;
                *cell = if union == 0 { 1.0 } else { (common as f64 / union as f64) as f32 };
            }
        });
    });
    Ok(())
}

/// Columns per parallel task: enough work per task, and still parallel when
/// there is a single query.
pub(crate) const CHUNK: usize = 256;

#[cfg(test)]
mod tests {
    use super::*;

    fn jac(a: &str, b: &str, n: usize) -> f64 {
        jaccard_ngrams(a, b, n, Normalize::default()).unwrap()
    }

    #[test]
    fn counts_characters_not_bytes() {
        // "мир" has one 3-gram; "мира" has two, one shared.
        assert_eq!(jac("мир", "мира", 3), 0.5);
        assert_eq!(jac("東京都", "東京都", 3), 1.0);
        assert_eq!(jac("東京都", "京都府", 2), 1.0 / 3.0);
    }

    #[test]
    fn empty_and_short_strings() {
        assert_eq!(jac("", "", 3), 1.0);
        assert_eq!(jac("", "abc", 3), 0.0);
        assert_eq!(jac("ab", "ab", 3), 1.0);
        assert_eq!(jac("ab", "abc", 3), 0.0);
    }

    #[test]
    fn long_grams_are_hashed_consistently() {
        let a = "the quick brown fox jumps";
        assert_eq!(jac(a, a, 9), 1.0);
        let sa = ngram_set(&a.chars().collect::<Vec<_>>(), 9);
        assert_eq!(sa.len(), a.chars().count() - 8);
    }

    #[test]
    fn matrix_matches_pairwise() {
        let q = ["abcd", "", "xyz abc"];
        let c = ["abc", "abcd", "", "zz"];
        let mut out = vec![0f32; q.len() * c.len()];
        jaccard_matrix_into(&q, &c, 2, Normalize::default(), &mut out).unwrap();
        assert!(jaccard_matrix_into(&q, &c, 0, Normalize::default(), &mut out).is_err());
        for (i, a) in q.iter().enumerate() {
            for (j, b) in c.iter().enumerate() {
                assert_eq!(out[i * c.len() + j], jac(a, b, 2) as f32);
            }
        }
    }

    #[test]
    fn normalization_applies() {
        let norm = Normalize { lowercase: true, fold_whitespace: true };
        assert_eq!(jaccard_ngrams("Hello  World", "hello world", 3, norm), Ok(1.0));
        assert!(jac("Hello  World", "hello world", 3) < 1.0);
    }
}
