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

/// An unsigned word used as one SIMD lane of the bit-parallel step.
pub trait Lane:
    Copy
    + std::ops::BitAnd<Output = Self>
    + std::ops::BitOr<Output = Self>
    + std::ops::BitXor<Output = Self>
    + std::ops::Not<Output = Self>
    + std::ops::Shl<u32, Output = Self>
    + std::ops::Shr<u32, Output = Self>
{
    const BITS: u32;
    const ZERO: Self;
    const ONE: Self;
    fn wrapping_add(self, other: Self) -> Self;
    fn wrapping_sub(self, other: Self) -> Self;
    fn wrapping_neg(self) -> Self;
    fn truncate(x: usize) -> Self;
    fn widen(self) -> usize;
}

macro_rules! lane {
    ($($t:ty),*) => {$(
        impl Lane for $t {
            const BITS: u32 = <$t>::BITS;
            const ZERO: Self = 0;
            const ONE: Self = 1;
            #[inline(always)] fn wrapping_add(self, o: Self) -> Self { <$t>::wrapping_add(self, o) }
            #[inline(always)] fn wrapping_sub(self, o: Self) -> Self { <$t>::wrapping_sub(self, o) }
            #[inline(always)] fn wrapping_neg(self) -> Self { <$t>::wrapping_neg(self) }
            #[inline(always)] fn truncate(x: usize) -> Self { x as $t }
            #[inline(always)] fn widen(self) -> usize { self as usize }
        }
    )*};
}
lane!(u8, u16, u32, u64);

/// Patterns compared side by side: the match masks of up to `N` strings of at
/// most `W::BITS` characters, interleaved so that one lookup gives every lane's
/// mask and the bit-parallel step runs on all lanes at once (`N * W::BITS` = 256
/// bits: one AVX2 register, as rapidfuzz's `cdist` does).
pub struct MultiPattern<W: Lane, const N: usize> {
    lens: [usize; N],
    ascii: Box<[[W; N]; 256]>,
    keys: Vec<u32>,
    vals: Vec<u32>,
    rows: Vec<[W; N]>,
}

impl<W: Lane, const N: usize> MultiPattern<W, N> {
    /// `patterns`: at most `N` strings of 0 to `W::BITS` characters.
    pub fn new(patterns: &[&[u32]]) -> Self {
        assert!(patterns.len() <= N && patterns.iter().all(|p| p.len() <= W::BITS as usize));
        let mut wide: Vec<u32> = patterns.iter().flat_map(|p| p.iter().copied()).filter(|&c| c >= 256).collect();
        wide.sort_unstable();
        wide.dedup();
        let cap = (wide.len() * 2).next_power_of_two().max(8);
        let mut mp = MultiPattern {
            lens: [0; N],
            ascii: Box::new([[W::ZERO; N]; 256]),
            keys: vec![EMPTY; cap],
            vals: vec![0; cap],
            rows: vec![[W::ZERO; N]],
        };
        for c in wide {
            let i = mp.slot(c);
            mp.keys[i] = c;
            mp.vals[i] = mp.rows.len() as u32;
            mp.rows.push([W::ZERO; N]);
        }
        for (lane, p) in patterns.iter().enumerate() {
            mp.lens[lane] = p.len();
            for (i, &c) in p.iter().enumerate() {
                let masks = if c < 256 {
                    &mut mp.ascii[c as usize]
                } else {
                    let row = mp.vals[mp.slot(c)] as usize;
                    &mut mp.rows[row]
                };
                masks[lane] = masks[lane] | (W::ONE << i as u32);
            }
        }
        mp
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

    #[inline(always)]
    fn masks(&self, c: u32) -> &[W; N] {
        if c < 256 {
            &self.ascii[c as usize]
        } else {
            let i = self.slot(c);
            &self.rows[if self.keys[i] == c { self.vals[i] as usize } else { 0 }]
        }
    }

    /// Each lane's distance modulo 2^BITS (see `distances`).
    #[inline(always)]
    fn kernel(&self, text: &[u32]) -> [W; N] {
        let mut last = [W::ZERO; N];
        let mut dist = [W::ZERO; N];
        for l in 0..N {
            if self.lens[l] > 0 {
                last[l] = W::ONE << (self.lens[l] as u32 - 1);
            }
            dist[l] = W::truncate(self.lens[l]);
        }
        let mut vp = [!W::ZERO; N];
        let mut vn = [W::ZERO; N];
        let top = W::BITS - 1;
        for &c in text {
            let pm = self.masks(c);
            for l in 0..N {
                let x = pm[l] | vn[l];
                let d0 = ((x & vp[l]).wrapping_add(vp[l]) ^ vp[l]) | x;
                let hp = vn[l] | !(d0 | vp[l]);
                let hn = d0 & vp[l];
                let up = hp & last[l];
                let down = hn & last[l];
                dist[l] = dist[l].wrapping_add((up | up.wrapping_neg()) >> top).wrapping_sub((down | down.wrapping_neg()) >> top);
                let hp = (hp << 1) | W::ONE;
                let hn = hn << 1;
                vp[l] = hn | !(d0 | hp);
                vn[l] = hp & d0;
            }
        }
        dist
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn kernel_avx2(&self, text: &[u32]) -> [W; N] {
        self.kernel(text)
    }

    /// The distance of each lane's pattern to `text` (lanes past the patterns
    /// given hold garbage).
    pub fn distances(&self, text: &[u32]) -> [usize; N] {
        #[cfg(target_arch = "x86_64")]
        let wrapped = if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            unsafe { self.kernel_avx2(text) }
        } else {
            self.kernel(text)
        };
        #[cfg(not(target_arch = "x86_64"))]
        let wrapped = self.kernel(text);
        let mut out = [0usize; N];
        for l in 0..N {
            // The distance lies in [|m - n|, |m - n| + min(m, n)] and min(m, n) <=
            // BITS < 2^BITS, so it is recovered exactly from its value mod 2^BITS.
            let low = self.lens[l].abs_diff(text.len());
            out[l] = if self.lens[l] == 0 { text.len() } else { low + wrapped[l].wrapping_sub(W::truncate(low)).widen() };
        }
        out
    }
}

/// Query rows per block of the matrix: enough short queries to fill the lanes.
const BLOCK: usize = 32;

/// The patterns of one block of queries, each query in the narrowest lanes
/// that hold it; queries over 64 characters get a multi-word [`Pattern`].
struct BlockPatterns {
    lanes8: Vec<(Vec<usize>, MultiPattern<u8, 32>)>,
    lanes16: Vec<(Vec<usize>, MultiPattern<u16, 16>)>,
    lanes32: Vec<(Vec<usize>, MultiPattern<u32, 8>)>,
    lanes64: Vec<(Vec<usize>, MultiPattern<u64, 4>)>,
    long: Vec<(usize, Pattern)>,
}

fn group<W: Lane, const N: usize>(q: &[Vec<u32>], rows: Vec<usize>) -> Vec<(Vec<usize>, MultiPattern<W, N>)> {
    rows.chunks(N)
        .map(|ids| (ids.to_vec(), MultiPattern::new(&ids.iter().map(|&i| q[i].as_slice()).collect::<Vec<_>>())))
        .collect()
}

impl BlockPatterns {
    fn new(q: &[Vec<u32>]) -> Self {
        let class = |lo: usize, hi: usize| (0..q.len()).filter(|&i| q[i].len() > lo && q[i].len() <= hi).collect::<Vec<_>>();
        let mut shortest = class(0, 8);
        shortest.extend((0..q.len()).filter(|&i| q[i].is_empty()));
        BlockPatterns {
            lanes8: group(q, shortest),
            lanes16: group(q, class(8, 16)),
            lanes32: group(q, class(16, 32)),
            lanes64: group(q, class(32, 64)),
            long: (0..q.len()).filter(|&i| q[i].len() > 64).map(|i| (i, Pattern::new(&q[i]))).collect(),
        }
    }

    /// Calls `put(row, distance)` for every query of the block against `text`.
    fn each_distance(&self, text: &[u32], mut put: impl FnMut(usize, usize)) {
        fn run<W: Lane, const N: usize>(groups: &[(Vec<usize>, MultiPattern<W, N>)], text: &[u32], put: &mut impl FnMut(usize, usize)) {
            for (ids, multi) in groups {
                let dist = multi.distances(text);
                for (lane, &i) in ids.iter().enumerate() {
                    put(i, dist[lane]);
                }
            }
        }
        run(&self.lanes8, text, &mut put);
        run(&self.lanes16, text, &mut put);
        run(&self.lanes32, text, &mut put);
        run(&self.lanes64, text, &mut put);
        for (i, pattern) in &self.long {
            put(*i, pattern.distance(text));
        }
    }
}

fn normalize(dist: usize, a: usize, b: usize) -> f32 {
    let longest = a.max(b);
    if longest == 0 {
        0.0
    } else {
        (dist as f64 / longest as f64) as f32
    }
}

/// Fills `out` (row-major, `queries.len() x choices.len()`) with the pairwise
/// normalized distances, in parallel over blocks of queries and chunks of
/// choices; each block's patterns are built once.
pub fn normalized_matrix_into<S: AsRef<str> + Sync>(queries: &[S], choices: &[S], out: &mut [f32]) {
    let cols = choices.len();
    assert_eq!(out.len(), queries.len() * cols);
    if out.is_empty() {
        return;
    }
    let choice_cps: Vec<Vec<u32>> = choices.par_iter().map(|s| code_points(s.as_ref())).collect();
    let chunk = crate::jaccard::CHUNK;
    out.par_chunks_mut(BLOCK * cols).zip(queries.par_chunks(BLOCK)).for_each(|(block, qs)| {
        let q_cps: Vec<Vec<u32>> = qs.iter().map(|q| code_points(q.as_ref())).collect();
        let patterns = BlockPatterns::new(&q_cps);
        let mut tasks: Vec<Vec<&mut [f32]>> = (0..cols.div_ceil(chunk)).map(|_| Vec::new()).collect();
        for row in block.chunks_mut(cols) {
            for (k, cells) in row.chunks_mut(chunk).enumerate() {
                tasks[k].push(cells);
            }
        }
        tasks.into_par_iter().enumerate().for_each(|(k, mut rows)| {
            let width = rows[0].len();
            for (j, c) in choice_cps[k * chunk..k * chunk + width].iter().enumerate() {
                patterns.each_distance(c, |i, dist| rows[i][j] = normalize(dist, q_cps[i].len(), c.len()));
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
    fn multi_pattern_matches_dynamic_program() {
        let alphabet: Vec<u32> = "abcЖЗИ東京 ".chars().map(|c| c as u32).chain([0x1F600]).collect();
        let mut rng = Rng(12345);
        for _ in 0..300 {
            let text = rng.string(&alphabet, 300);
            let patterns: Vec<Vec<u32>> = (0..1 + rng.next() % 4).map(|_| rng.string(&alphabet, 64)).collect();
            let refs: Vec<&[u32]> = patterns.iter().map(Vec::as_slice).collect();
            let got = MultiPattern::<u64, 4>::new(&refs).distances(&text);
            for (lane, p) in patterns.iter().enumerate() {
                assert_eq!(got[lane], reference(p, &text), "{p:?} {text:?}");
            }
            let patterns: Vec<Vec<u32>> = (0..1 + rng.next() % 32).map(|_| rng.string(&alphabet, 8)).collect();
            let refs: Vec<&[u32]> = patterns.iter().map(Vec::as_slice).collect();
            let got = MultiPattern::<u8, 32>::new(&refs).distances(&text);
            for (lane, p) in patterns.iter().enumerate() {
                assert_eq!(got[lane], reference(p, &text), "{p:?} {text:?}");
            }
        }
    }

    #[test]
    fn matrix_matches_pairwise() {
        let long_q = "ЖЗИ".repeat(40);
        let long_c = "ЖЗ".repeat(50);
        let q = ["kitten", "", long_q.as_str(), "a", "東京都", "x"];
        let c = ["sitting", long_c.as_str(), "", "東京"];
        let mut out = vec![0f32; q.len() * c.len()];
        normalized_matrix_into(&q, &c, &mut out);
        for (i, a) in q.iter().enumerate() {
            for (j, b) in c.iter().enumerate() {
                assert_eq!(out[i * c.len() + j], normalized_distance(a, b) as f32, "{a} {b}");
            }
        }
    }
}
