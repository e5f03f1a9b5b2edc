//! MinHash signatures over character n-gram sets, LSH banding, and
//! near-duplicate clusters verified by exact Jaccard similarity.
//!
//! Hashing is fixed and seeded (XXH3 over little-endian n-gram keys, then
//! multiply-add-shift permutations drawn from SplitMix64), so signatures are the
//! same on every run and platform.

use rayon::prelude::*;
use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use crate::jaccard::{jaccard_sets, ngram_sets, Gram};
use crate::{InvalidArgument, Normalize};

/// Buckets with more members than this are verified one pair at a time,
/// skipping pairs already joined, instead of listing all their pairs.
const SMALL_BUCKET: usize = 32;

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `num_perm` hash functions `h_i(x) = (a_i * x + b_i) >> 32` (mod 2^64, `a_i` odd)
/// applied to a seeded 32-bit hash `x` of each n-gram.
pub struct MinHasher {
    seed: u64,
    a: Vec<u64>,
    b: Vec<u64>,
}

impl MinHasher {
    pub fn new(num_perm: usize, seed: u64) -> Result<Self, InvalidArgument> {
        if num_perm == 0 {
            return Err(InvalidArgument("num_perm must be at least 1".into()));
        }
        let mut state = seed;
        let (mut a, mut b) = (Vec::with_capacity(num_perm), Vec::with_capacity(num_perm));
        for _ in 0..num_perm {
            a.push(splitmix64(&mut state) | 1);
            b.push(splitmix64(&mut state));
        }
        Ok(MinHasher { seed, a, b })
    }

    pub fn num_perm(&self) -> usize {
        self.a.len()
    }

    /// Writes the signature of one n-gram set into `out` (`num_perm` values).
    /// An empty set gives all `u32::MAX`.
    pub fn signature_into(&self, grams: &[Gram], out: &mut [u32]) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { self.signature_avx2(grams, out) };
        }
        self.signature_kernel(grams, out)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn signature_avx2(&self, grams: &[Gram], out: &mut [u32]) {
        self.signature_kernel(grams, out)
    }

    #[inline(always)]
    fn signature_kernel(&self, grams: &[Gram], out: &mut [u32]) {
        out.fill(u32::MAX);
        for &g in grams {
            // A 32-bit key: multiply-add-shift is strongly universal for 32-bit
            // keys (Dietzfelbinger 1996), and 32x64-bit products vectorize well.
            let x = xxh3_64_with_seed(&g.to_le_bytes(), self.seed) >> 32;
            for ((o, &a), &b) in out.iter_mut().zip(&self.a).zip(&self.b) {
                let h = (a.wrapping_mul(x).wrapping_add(b) >> 32) as u32;
                *o = (*o).min(h);
            }
        }
    }

    /// Signatures of many sets, row-major (`sets.len() x num_perm`), in parallel.
    pub fn signatures_into(&self, sets: &[Vec<Gram>], out: &mut [u32]) {
        let k = self.num_perm();
        assert_eq!(out.len(), sets.len() * k);
        if out.is_empty() {
            return;
        }
        out.par_chunks_mut(k).zip(sets.par_iter()).for_each(|(row, set)| self.signature_into(set, row));
    }
}

fn check_ngram(ngram: usize) -> Result<(), InvalidArgument> {
    if ngram == 0 {
        return Err(InvalidArgument("ngram must be at least 1".into()));
    }
    Ok(())
}

/// MinHash signatures of `texts` (character `ngram` shingles), row-major.
pub fn signatures_into<S: AsRef<str> + Sync>(
    texts: &[S],
    num_perm: usize,
    ngram: usize,
    seed: u64,
    norm: Normalize,
    out: &mut [u32],
) -> Result<(), InvalidArgument> {
    check_ngram(ngram)?;
    let hasher = MinHasher::new(num_perm, seed)?;
    hasher.signatures_into(&ngram_sets(texts, ngram, norm), out);
    Ok(())
}

/// The probability that a pair with Jaccard similarity `s` shares a band.
fn collision(s: f64, bands: usize, rows: usize) -> f64 {
    1.0 - (1.0 - s.powi(rows as i32)).powi(bands as i32)
}

/// Integral of `f` over [lo, hi], composite 5-point Gauss-Legendre on 256 pieces.
fn integrate(f: impl Fn(f64) -> f64, lo: f64, hi: f64) -> f64 {
    const X: [f64; 5] = [0.0, -0.538_469_310_105_683_1, 0.538_469_310_105_683_1, -0.906_179_845_938_664, 0.906_179_845_938_664];
    const W: [f64; 5] = [0.568_888_888_888_888_9, 0.478_628_670_499_366_5, 0.478_628_670_499_366_5, 0.236_926_885_056_189_1, 0.236_926_885_056_189_1];
    const PIECES: usize = 256;
    let h = (hi - lo) / PIECES as f64;
    let mut total = 0.0;
    for p in 0..PIECES {
        let mid = lo + (p as f64 + 0.5) * h;
        for (x, w) in X.iter().zip(W) {
            total += w * f(mid + x * h / 2.0);
        }
    }
    total * h / 2.0
}

/// The (bands, rows) with `bands * rows <= num_perm` that minimize the sum of
/// the false-positive and false-negative areas around `threshold`: the rule
/// datasketch's `MinHashLSH` uses with its default weights (0.5, 0.5).
pub fn lsh_params(threshold: f64, num_perm: usize) -> Result<(usize, usize), InvalidArgument> {
    check_threshold(threshold)?;
    if num_perm == 0 {
        return Err(InvalidArgument("num_perm must be at least 1".into()));
    }
    let mut best = (f64::INFINITY, (1, num_perm));
    for bands in 1..=num_perm {
        for rows in 1..=num_perm / bands {
            let fp = integrate(|s| collision(s, bands, rows), 0.0, threshold);
            let fneg = integrate(|s| 1.0 - collision(s, bands, rows), threshold, 1.0);
            let error = 0.5 * fp + 0.5 * fneg;
            if error < best.0 {
                best = (error, (bands, rows));
            }
        }
    }
    Ok(best.1)
}

fn check_threshold(threshold: f64) -> Result<(), InvalidArgument> {
    if !(threshold > 0.0 && threshold <= 1.0) {
        return Err(InvalidArgument(format!("threshold must be in (0, 1], got {threshold}")));
    }
    Ok(())
}

/// Options of [`near_duplicates`].
#[derive(Clone, Copy, Debug)]
pub struct NearDupOptions {
    pub threshold: f64,
    pub num_perm: usize,
    pub ngram: usize,
    pub seed: u64,
    /// LSH bands; `None` picks them with [`lsh_params`]. Rows = num_perm / bands.
    pub bands: Option<usize>,
    pub norm: Normalize,
}

struct UnionFind(Vec<u32>);

impl UnionFind {
    fn find(&mut self, mut x: u32) -> u32 {
        while self.0[x as usize] != x {
            let parent = self.0[x as usize];
            self.0[x as usize] = self.0[parent as usize];
            x = parent;
        }
        x
    }

    fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.0[hi as usize] = lo;
        }
    }
}

/// Clusters of texts whose n-gram sets have exact Jaccard similarity >=
/// `threshold` with at least one other member: the connected components of the
/// verified candidate pairs that MinHash LSH proposes. Texts with identical
/// n-gram sets are always clustered (LSH is skipped for them). Each cluster is
/// sorted, and clusters are sorted by their first index; singletons are left out.
pub fn near_duplicates<S: AsRef<str> + Sync>(
    texts: &[S],
    opts: NearDupOptions,
) -> Result<Vec<Vec<usize>>, InvalidArgument> {
    check_threshold(opts.threshold)?;
    check_ngram(opts.ngram)?;
    let hasher = MinHasher::new(opts.num_perm, opts.seed)?;
    let (bands, rows) = match opts.bands {
        None => lsh_params(opts.threshold, opts.num_perm)?,
        Some(b) if b >= 1 && b <= opts.num_perm => (b, opts.num_perm / b),
        Some(b) => {
            return Err(InvalidArgument(format!("bands must be in [1, num_perm={}], got {b}", opts.num_perm)))
        }
    };
    if texts.len() >= u32::MAX as usize {
        return Err(InvalidArgument("at most 2^32 - 2 texts per call".into()));
    }
    let sets = ngram_sets(texts, opts.ngram, opts.norm);
    let mut uf = UnionFind((0..texts.len() as u32).collect());

    // Exact duplicates first: same fingerprint and equal sets.
    let mut by_print: Vec<(u64, u32)> = sets
        .par_iter()
        .enumerate()
        .map(|(i, s)| {
            let bytes: Vec<u8> = s.iter().flat_map(|g| g.to_le_bytes()).collect();
            (xxh3_64(&bytes), i as u32)
        })
        .collect();
    by_print.par_sort_unstable();
    let mut reps: Vec<u32> = Vec::with_capacity(texts.len());
    for run in by_print.chunk_by(|x, y| x.0 == y.0) {
        let mut heads: Vec<u32> = Vec::new();
        for &(_, i) in run {
            match heads.iter().find(|&&h| sets[h as usize] == sets[i as usize]) {
                Some(&h) => uf.union(h, i),
                None => heads.push(i),
            }
        }
        reps.extend(heads);
    }
    reps.sort_unstable();

    // Signatures of the distinct sets, then one bucket table per band.
    let k = hasher.num_perm();
    let mut sigs = vec![0u32; reps.len() * k];
    sigs.par_chunks_mut(k).zip(reps.par_iter()).for_each(|(row, &r)| hasher.signature_into(&sets[r as usize], row));
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    let mut large: Vec<Vec<u32>> = Vec::new();
    for band in 0..bands {
        let mut keys: Vec<(u64, u32)> = (0..reps.len())
            .into_par_iter()
            .map(|j| {
                let cols = &sigs[j * k + band * rows..j * k + (band + 1) * rows];
                let bytes: Vec<u8> = cols.iter().flat_map(|v| v.to_le_bytes()).collect();
                (xxh3_64(&bytes), j as u32)
            })
            .collect();
        keys.par_sort_unstable();
        for bucket in keys.chunk_by(|x, y| x.0 == y.0).filter(|b| b.len() > 1) {
            let members: Vec<u32> = bucket.iter().map(|&(_, j)| reps[j as usize]).collect();
            if members.len() > SMALL_BUCKET {
                large.push(members);
                continue;
            }
            for (x, &a) in members.iter().enumerate() {
                for &b in &members[x + 1..] {
                    pairs.push((a.min(b), a.max(b)));
                }
            }
        }
    }
    pairs.par_sort_unstable();
    pairs.dedup();
    let verified: Vec<(u32, u32)> = pairs
        .into_par_iter()
        .filter(|&(a, b)| jaccard_sets(&sets[a as usize], &sets[b as usize]) >= opts.threshold)
        .collect();
    for (a, b) in verified {
        uf.union(a, b);
    }
    for members in large {
        for (x, &a) in members.iter().enumerate() {
            for &b in &members[x + 1..] {
                if uf.find(a) != uf.find(b) && jaccard_sets(&sets[a as usize], &sets[b as usize]) >= opts.threshold {
                    uf.union(a, b);
                }
            }
        }
    }

    let mut clusters: Vec<Vec<usize>> = Vec::new();
    let mut slot_of_root: std::collections::HashMap<u32, usize> = std::collections::HashMap::new();
    for i in 0..texts.len() as u32 {
        let root = uf.find(i);
        let slot = *slot_of_root.entry(root).or_insert_with(|| {
            clusters.push(Vec::new());
            clusters.len() - 1
        });
        clusters[slot].push(i as usize);
    }
    clusters.retain(|c| c.len() > 1);
    Ok(clusters)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(threshold: f64) -> NearDupOptions {
        NearDupOptions { threshold, num_perm: 128, ngram: 5, seed: 1, bands: None, norm: Normalize::default() }
    }

    #[test]
    fn signatures_are_reproducible_and_seeded() {
        let mut out = vec![0u32; 4];
        signatures_into(&["hello world"], 4, 5, 1, Normalize::default(), &mut out).unwrap();
        let again = {
            let mut o = vec![0u32; 4];
            signatures_into(&["hello world"], 4, 5, 1, Normalize::default(), &mut o).unwrap();
            o
        };
        assert_eq!(out, again);
        let mut other_seed = vec![0u32; 4];
        signatures_into(&["hello world"], 4, 5, 2, Normalize::default(), &mut other_seed).unwrap();
        assert_ne!(out, other_seed);
    }

    #[test]
    fn signature_agreement_estimates_jaccard() {
        let a: String = (0..400).map(|i| char::from(b'a' + (i * 7 % 26) as u8)).collect();
        let b = format!("{}{}", &a[..300], "ZYXWVUTSRQPONMLKJIHGFEDCBA".repeat(4));
        let norm = Normalize::default();
        let sets = ngram_sets(&[a.as_str(), b.as_str()], 5, norm);
        let truth = jaccard_sets(&sets[0], &sets[1]);
        let hasher = MinHasher::new(1024, 7).unwrap();
        let mut sig = vec![0u32; 2048];
        hasher.signatures_into(&sets, &mut sig);
        let equal = sig[..1024].iter().zip(&sig[1024..]).filter(|(x, y)| x == y).count();
        let estimate = equal as f64 / 1024.0;
        assert!((estimate - truth).abs() < 0.06, "estimate {estimate} truth {truth}");
    }

    #[test]
    fn lsh_params_match_datasketch() {
        // MinHashLSH(threshold, num_perm).b, .r from datasketch 2.0.
        assert_eq!(lsh_params(0.75, 128).unwrap(), (11, 11));
        assert_eq!(lsh_params(0.5, 128).unwrap(), (25, 5));
        assert_eq!(lsh_params(0.9, 64).unwrap(), (3, 21));
        assert_eq!(lsh_params(0.8, 256).unwrap(), (17, 15));
        assert!(lsh_params(0.0, 128).is_err());
    }

    #[test]
    fn finds_planted_duplicates_only() {
        let base = [
            "It was the best of times, it was the worst of times, it was the age of wisdom.",
            "Все счастливые семьи похожи друг на друга, каждая несчастливая семья несчастлива по-своему.",
            "Call me Ishmael. Some years ago, never mind how long precisely, having little money.",
        ];
        let texts = vec![
            base[0].to_string(),
            base[1].to_string(),
            base[2].to_string(),
            base[0].replace("wisdom", "wisdoms"),
            base[1].to_string(),
            String::new(),
            String::new(),
        ];
        let clusters = near_duplicates(&texts, opts(0.75)).unwrap();
        assert_eq!(clusters, vec![vec![0, 3], vec![1, 4], vec![5, 6]]);
    }

    #[test]
    fn rejects_bad_options() {
        let texts = ["a"];
        assert!(near_duplicates(&texts, NearDupOptions { bands: Some(0), ..opts(0.5) }).is_err());
        assert!(near_duplicates(&texts, NearDupOptions { ngram: 0, ..opts(0.5) }).is_err());
        assert!(near_duplicates(&texts, opts(1.5)).is_err());
    }
}
