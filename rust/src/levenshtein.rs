//! Levenshtein (unit-cost insert/delete/substitute) distance on Unicode scalar
//! values, with Hyyrö's bit-parallel algorithm (2003): one 64-bit word per 64
//! characters of the pattern, O(ceil(m/64) * n) per pair.
//!
//! The normalized distance is `distance / max(len1, len2)`: 0.0 for equal
//! strings, 1.0 for completely different ones; two empty strings give 0.0.

use rayon::prelude::*;

const EMPTY: u32 = u32::MAX;

/// The match bit-vectors of one string (the pattern), built once and compared
/// against many others.
pub struct Pattern {
    len: usize,
    words: usize,
    /// For `words == 1`: the match mask of each byte-sized code point.
    ascii1: Box<[u64; 256]>,
    /// Row index (into `rows`) of each byte-sized code point; row 0 is all zeros.
    ascii_row: Box<[u32; 256]>,
    /// Open-addressing map from other code points to their row.
    keys: Vec<u32>,
    vals: Vec<u32>,
    rows: Vec<u64>,
}

impl Pattern {
    pub fn new(s: &[u32]) -> Self {
        let words = s.len().div_ceil(64).max(1);
        let mut distinct_wide = 0usize;
        {
            let mut seen: Vec<u32> = s.iter().copied().filter(|&c| c >= 256).collect();
            seen.sort_unstable();
            seen.dedup();
            distinct_wide += seen.len();
        }
        let cap = (distinct_wide * 2).next_power_of_two().max(8);
        let mut p = Pattern {
            len: s.len(),
            words,
            ascii1: Box::new([0; 256]),
            ascii_row: Box::new([0; 256]),
            keys: vec![EMPTY; cap],
            vals: vec![0; cap],
            rows: vec![0; words],
        };
        for (i, &c) in s.iter().enumerate() {
            let row = p.row_or_insert(c);
            p.rows[row * words + i / 64] |= 1u64 << (i % 64);
            if c < 256 && words == 1 {
                p.ascii1[c as usize] |= 1u64 << i;
            }
        }
        p
    }

    #[inline]
    fn slot(&self, c: u32) -> usize {
        let mask = self.keys.len() - 1;
        let mut i = (c.wrapping_mul(0x9E37_79B1) >> 7) as usize & mask;
        while self.keys[i] != c && self.keys[i] != EMPTY {
            i = (i + 1) & mask;
        }
        i
    }

    fn row_or_insert(&mut self, c: u32) -> usize {
        let existing = self.row(c);
        if existing != 0 {
            return existing;
        }
        let row = self.rows.len() / self.words;
        self.rows.resize(self.rows.len() + self.words, 0);
        if c < 256 {
            self.ascii_row[c as usize] = row as u32;
        } else {
            let i = self.slot(c);
            self.keys[i] = c;
            self.vals[i] = row as u32;
        }
        row
    }

    #[inline]
    fn row(&self, c: u32) -> usize {
        if c < 256 {
            self.ascii_row[c as usize] as usize
        } else {
            let i = self.slot(c);
            if self.keys[i] == c {
                self.vals[i] as usize
            } else {
                0
            }
        }
    }

    #[inline]
    fn mask1(&self, c: u32) -> u64 {
        if c < 256 {
            self.ascii1[c as usize]
        } else {
            self.rows[self.row(c)]
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Levenshtein distance between the pattern and `text`.
    pub fn distance(&self, text: &[u32]) -> usize {
        if self.len == 0 {
            return text.len();
        }
        if text.is_empty() {
            return self.len;
        }
        if self.words == 1 {
            self.distance_word(text)
        } else {
            self.distance_blocks(text)
        }
    }

    fn distance_word(&self, text: &[u32]) -> usize {
        let last = 1u64 << (self.len - 1);
        let mut vp: u64 = !0;
        let mut vn: u64 = 0;
        let mut dist = self.len;
        for &c in text {
            let pm = self.mask1(c);
            let x = pm | vn;
            let d0 = ((x & vp).wrapping_add(vp) ^ vp) | x;
            let mut hp = vn | !(d0 | vp);
            let mut hn = d0 & vp;
            dist += (hp & last != 0) as usize;
            dist -= (hn & last != 0) as usize;
            hp = (hp << 1) | 1;
            hn <<= 1;
            vp = hn | !(d0 | hp);
            vn = hp & d0;
        }
        dist
    }

    fn distance_blocks(&self, text: &[u32]) -> usize {
        let words = self.words;
        let last = 1u64 << ((self.len - 1) % 64);
        let mut vp = vec![!0u64; words];
        let mut vn = vec![0u64; words];
        let mut dist = self.len;
        for &c in text {
            let base = self.row(c) * words;
            let pm = &self.rows[base..base + words];
            let mut hp_carry = 1u64;
            let mut hn_carry = 0u64;
            for w in 0..words {
                let x = pm[w] | hn_carry;
                let (v_p, v_n) = (vp[w], vn[w]);
                let d0 = ((x & v_p).wrapping_add(v_p) ^ v_p) | x | v_n;
                let mut hp = v_n | !(d0 | v_p);
                let mut hn = d0 & v_p;
                if w == words - 1 {
                    dist += (hp & last != 0) as usize;
                    dist -= (hn & last != 0) as usize;
                }
                let hp_out = hp >> 63;
                let hn_out = hn >> 63;
                hp = (hp << 1) | hp_carry;
                hn = (hn << 1) | hn_carry;
                hp_carry = hp_out;
                hn_carry = hn_out;
                vp[w] = hn | !(d0 | hp);
                vn[w] = hp & d0;
            }
        }
        dist
    }

    /// `distance / max(len, text.len())`; 0.0 when both are empty.
    pub fn normalized(&self, text: &[u32]) -> f64 {
        let longest = self.len.max(text.len());
        if longest == 0 {
            return 0.0;
        }
        self.distance(text) as f64 / longest as f64
    }
}

/// The code points of `s`.
pub fn code_points(s: &str) -> Vec<u32> {
    s.chars().map(|c| c as u32).collect()
}

/// Levenshtein distance. The common prefix and suffix are skipped first, and the
/// shorter remainder becomes the pattern.
pub fn distance(a: &[u32], b: &[u32]) -> usize {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[prefix..], &b[prefix..]);
    let suffix = a.iter().rev().zip(b.iter().rev()).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[..a.len() - suffix], &b[..b.len() - suffix]);
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.is_empty() {
        return long.len();
    }
    Pattern::new(short).distance(long)
}

/// `distance / max(len)` of two strings; 0.0 when both are empty.
pub fn normalized_distance(a: &str, b: &str) -> f64 {
    let (a, b) = (code_points(a), code_points(b));
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 0.0;
    }
    distance(&a, &b) as f64 / longest as f64
}

/// Fills `out` (row-major, `queries.len() x choices.len()`) with the pairwise
/// normalized distances, in parallel. Each query's pattern is built once.
pub fn normalized_matrix_into<S: AsRef<str> + Sync>(queries: &[S], choices: &[S], out: &mut [f32]) {
    let cols = choices.len();
    assert_eq!(out.len(), queries.len() * cols);
    if out.is_empty() {
        return;
    }
    let choice_cps: Vec<Vec<u32>> = choices.par_iter().map(|s| code_points(s.as_ref())).collect();
    out.par_chunks_mut(cols).zip(queries.par_iter()).for_each(|(row, q)| {
        let pattern = Pattern::new(&code_points(q.as_ref()));
        row.par_chunks_mut(crate::jaccard::CHUNK).enumerate().for_each(|(k, cells)| {
            let start = k * crate::jaccard::CHUNK;
            for (cell, c) in cells.iter_mut().zip(&choice_cps[start..]) {
                *cell = pattern.normalized(c) as f32;
            }
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook dynamic program, as the reference.
    fn reference(a: &[u32], b: &[u32]) -> usize {
        let mut prev: Vec<usize> = (0..=b.len()).collect();
        for (i, &ca) in a.iter().enumerate() {
            let mut cur = vec![i + 1; b.len() + 1];
            for (j, &cb) in b.iter().enumerate() {
                cur[j + 1] = (prev[j] + (ca != cb) as usize).min(prev[j + 1] + 1).min(cur[j] + 1);
            }
            prev = cur;
        }
        prev[b.len()]
    }

    /// A small deterministic generator (xorshift), so the test needs no crates.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn string(&mut self, alphabet: &[u32], max_len: usize) -> Vec<u32> {
            let len = (self.next() % (max_len as u64 + 1)) as usize;
            (0..len).map(|_| alphabet[(self.next() % alphabet.len() as u64) as usize]).collect()
        }
    }

    #[test]
    fn known_values() {
        assert_eq!(distance(&code_points("kitten"), &code_points("sitting")), 3);
        assert_eq!(distance(&code_points("привет"), &code_points("превед")), 2);
        assert_eq!(distance(&code_points(""), &code_points("東京")), 2);
        assert_eq!(normalized_distance("", ""), 0.0);
        assert_eq!(normalized_distance("abc", ""), 1.0);
        assert_eq!(normalized_distance("東京都", "京都府"), 2.0 / 3.0);
    }

    #[test]
    fn bit_parallel_matches_dynamic_program() {
        let alphabet: Vec<u32> = "abcdeЖЗИ東京 ".chars().map(|c| c as u32).chain([0x1F600, 255, 256]).collect();
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for round in 0..600 {
            let max_len = [10, 70, 140, 300][round % 4];
            let a = rng.string(&alphabet[..3 + round % 10], max_len);
            let b = rng.string(&alphabet[..3 + round % 10], max_len);
            let want = reference(&a, &b);
            assert_eq!(Pattern::new(&a).distance(&b), want, "{a:?} {b:?}");
            assert_eq!(Pattern::new(&b).distance(&a), want);
            assert_eq!(distance(&a, &b), want);
        }
    }

    #[test]
    fn matrix_matches_pairwise() {
        let q = ["kitten", "", "ЖЗИ".repeat(40).leak() as &str];
        let c = ["sitting", "ЖЗ".repeat(50).leak() as &str, ""];
        let mut out = vec![0f32; 9];
        normalized_matrix_into(&q, &c, &mut out);
        for (i, a) in q.iter().enumerate() {
            for (j, b) in c.iter().enumerate() {
                assert_eq!(out[i * 3 + j], normalized_distance(a, b) as f32);
            }
        }
    }
}
