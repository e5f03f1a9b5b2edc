//! simlar: string similarity and near-duplicate detection.
//!
//! The algorithms are plain Rust (`jaccard`, `levenshtein`, `minhash`) and are
//! tested with `cargo test`; the Python bindings live in `py` behind the
//! `python` feature, which maturin enables.

pub mod jaccard;
pub mod levenshtein;
pub mod minhash;

#[cfg(feature = "python")]
mod py;

/// A parameter outside its domain; the bindings raise it as `ValueError`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidArgument(pub String);

impl std::fmt::Display for InvalidArgument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidArgument {}

/// Text preparation shared by the n-gram based measures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Normalize {
    /// Unicode lowercasing (full case mapping, as Python's `str.lower`).
    pub lowercase: bool,
    /// Runs of Unicode `White_Space` characters become one space; leading and
    /// trailing whitespace is removed.
    pub fold_whitespace: bool,
}

impl Normalize {
    /// The characters of `text` after normalization.
    pub fn chars(&self, text: &str) -> Vec<char> {
        let lowered;
        let text = if self.lowercase {
            lowered = text.to_lowercase();
            lowered.as_str()
        } else {
            text
        };
        if !self.fold_whitespace {
            return text.chars().collect();
        }
        let mut out = Vec::with_capacity(text.len());
        for word in text.split(char::is_whitespace).filter(|w| !w.is_empty()) {
            if !out.is_empty() {
                out.push(' ');
            }
            out.extend(word.chars());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Normalize;

    #[test]
    fn folds_unicode_whitespace_and_lowercases() {
        let norm = Normalize { lowercase: true, fold_whitespace: true };
        let got: String = norm.chars("  Привет,\u{3000}\t МИР \n").into_iter().collect();
        assert_eq!(got, "привет, мир");
    }

    #[test]
    fn default_keeps_text() {
        let got: String = Normalize::default().chars(" A  b ").into_iter().collect();
        assert_eq!(got, " A  b ");
    }
}
