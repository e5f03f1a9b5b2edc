//! The Python bindings (`simlar._simlar`). Strings are borrowed from the Python
//! objects, the GIL is released around the work, and results come back as
//! numpy arrays built from one Rust buffer.

use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray2};
use pyo3::exceptions::{PyMemoryError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::minhash::NearDupOptions;
use crate::{jaccard, levenshtein, minhash, InvalidArgument, Normalize};

fn value_error(e: InvalidArgument) -> PyErr {
    PyValueError::new_err(e.0)
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}

/// `obj` as a str (after `processor`, if given), or a TypeError naming `what`.
fn text<'py>(obj: &Bound<'py, PyAny>, what: &dyn Fn() -> String, processor: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyString>> {
    let obj = match processor {
        Some(p) => p.call1((obj,))?,
        None => obj.clone(),
    };
    match obj.cast::<PyString>() {
        Ok(s) => Ok(s.clone()),
        Err(_) => {
            let via = if processor.is_some() { " (after processor)" } else { "" };
            Err(PyTypeError::new_err(format!("{} must be str{via}, not {}", what(), type_name(&obj))))
        }
    }
}

/// The items of an iterable of str, or a TypeError naming the first bad index.
fn texts<'py>(seq: &Bound<'py, PyAny>, name: &str, processor: Option<&Bound<'py, PyAny>>) -> PyResult<Vec<Bound<'py, PyString>>> {
    if seq.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(format!("{name} must be a sequence of str, not a single str")));
    }
    let iter = seq
        .try_iter()
        .map_err(|_| PyTypeError::new_err(format!("{name} must be a sequence of str, not {}", type_name(seq))))?;
    iter.enumerate().map(|(i, item)| text(&item?, &|| format!("{name}[{i}]"), processor)).collect()
}

fn as_strs<'a>(items: &'a [Bound<'_, PyString>]) -> PyResult<Vec<&'a str>> {
    items.iter().map(|s| s.to_str()).collect()
}

/// A zeroed buffer of `rows * cols`, or MemoryError instead of an abort.
fn buffer<T: Clone + Default>(rows: usize, cols: usize, what: &str) -> PyResult<Vec<T>> {
    let too_big = || PyMemoryError::new_err(format!("{what}: a {rows} x {cols} result does not fit in memory"));
    let len = rows.checked_mul(cols).ok_or_else(too_big)?;
    let mut out = Vec::new();
    out.try_reserve_exact(len).map_err(|_| too_big())?;
    out.resize(len, T::default());
    Ok(out)
}

fn matrix<'py, T: numpy::Element>(py: Python<'py>, rows: usize, cols: usize, data: Vec<T>) -> Bound<'py, PyArray2<T>> {
    Array2::from_shape_vec((rows, cols), data).expect("buffer has rows * cols items").into_pyarray(py)
}

fn check_cutoff(score_cutoff: Option<f64>) -> PyResult<()> {
    match score_cutoff {
        Some(c) if !(0.0..=1.0).contains(&c) => Err(PyValueError::new_err(format!("score_cutoff must be in [0, 1], got {c}"))),
        _ => Ok(()),
    }
}

/// rapidfuzz's rule for similarities: below the cutoff becomes 0.
fn similarity_cutoff(score: f64, cutoff: Option<f64>) -> f64 {
    match cutoff {
        Some(c) if score < c => 0.0,
        _ => score,
    }
}

/// rapidfuzz's rule for distances: above the cutoff becomes 1.
fn distance_cutoff(score: f64, cutoff: Option<f64>) -> f64 {
    match cutoff {
        Some(c) if score > c => 1.0,
        _ => score,
    }
}

#[pyfunction]
#[pyo3(signature = (s1, s2, n=3, *, lowercase=false, fold_whitespace=false, processor=None, score_cutoff=None))]
#[allow(clippy::too_many_arguments)]
fn jaccard_ngrams(
    py: Python<'_>,
    s1: &Bound<'_, PyAny>,
    s2: &Bound<'_, PyAny>,
    n: usize,
    lowercase: bool,
    fold_whitespace: bool,
    processor: Option<&Bound<'_, PyAny>>,
    score_cutoff: Option<f64>,
) -> PyResult<f64> {
    check_cutoff(score_cutoff)?;
    let (a, b) = (text(s1, &|| "s1".into(), processor)?, text(s2, &|| "s2".into(), processor)?);
    let (a, b) = (a.to_str()?, b.to_str()?);
    let norm = Normalize { lowercase, fold_whitespace };
    let score = py.detach(|| jaccard::jaccard_ngrams(a, b, n, norm)).map_err(value_error)?;
    Ok(similarity_cutoff(score, score_cutoff))
}

#[pyfunction]
#[pyo3(signature = (queries, choices, n=3, *, lowercase=false, fold_whitespace=false, processor=None, score_cutoff=None))]
#[allow(clippy::too_many_arguments)]
fn jaccard_ngrams_matrix<'py>(
    py: Python<'py>,
    queries: &Bound<'py, PyAny>,
    choices: &Bound<'py, PyAny>,
    n: usize,
    lowercase: bool,
    fold_whitespace: bool,
    processor: Option<&Bound<'py, PyAny>>,
    score_cutoff: Option<f64>,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    check_cutoff(score_cutoff)?;
    let (q_items, c_items) = (texts(queries, "queries", processor)?, texts(choices, "choices", processor)?);
    let (q, c) = (as_strs(&q_items)?, as_strs(&c_items)?);
    let mut out = buffer::<f32>(q.len(), c.len(), "jaccard_ngrams_matrix")?;
    let norm = Normalize { lowercase, fold_whitespace };
    py.detach(|| {
        jaccard::jaccard_matrix_into(&q, &c, n, norm, &mut out)?;
        if let Some(cut) = score_cutoff {
            out.iter_mut().for_each(|v| *v = similarity_cutoff(*v as f64, Some(cut)) as f32);
        }
        Ok(())
    })
    .map_err(value_error)?;
    Ok(matrix(py, q.len(), c.len(), out))
}

#[pyfunction]
#[pyo3(signature = (s1, s2, *, processor=None, score_cutoff=None))]
fn levenshtein_normalized(
    py: Python<'_>,
    s1: &Bound<'_, PyAny>,
    s2: &Bound<'_, PyAny>,
    processor: Option<&Bound<'_, PyAny>>,
    score_cutoff: Option<f64>,
) -> PyResult<f64> {
    check_cutoff(score_cutoff)?;
    let (a, b) = (text(s1, &|| "s1".into(), processor)?, text(s2, &|| "s2".into(), processor)?);
    let (a, b) = (a.to_str()?, b.to_str()?);
    let score = py.detach(|| levenshtein::normalized_distance(a, b));
    Ok(distance_cutoff(score, score_cutoff))
}

#[pyfunction]
#[pyo3(signature = (queries, choices, *, processor=None, score_cutoff=None))]
fn levenshtein_normalized_matrix<'py>(
    py: Python<'py>,
    queries: &Bound<'py, PyAny>,
    choices: &Bound<'py, PyAny>,
    processor: Option<&Bound<'py, PyAny>>,
    score_cutoff: Option<f64>,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    check_cutoff(score_cutoff)?;
    let (q_items, c_items) = (texts(queries, "queries", processor)?, texts(choices, "choices", processor)?);
    let (q, c) = (as_strs(&q_items)?, as_strs(&c_items)?);
    let mut out = buffer::<f32>(q.len(), c.len(), "levenshtein_normalized_matrix")?;
    py.detach(|| {
        levenshtein::normalized_matrix_into(&q, &c, &mut out);
        if let Some(cut) = score_cutoff {
            out.iter_mut().for_each(|v| *v = distance_cutoff(*v as f64, Some(cut)) as f32);
        }
    });
    Ok(matrix(py, q.len(), c.len(), out))
}

#[pyfunction]
#[pyo3(signature = (texts, num_perm=128, ngram=5, *, seed=1, lowercase=false, fold_whitespace=false))]
fn minhash_signatures<'py>(
    py: Python<'py>,
    texts: &Bound<'py, PyAny>,
    num_perm: usize,
    ngram: usize,
    seed: u64,
    lowercase: bool,
    fold_whitespace: bool,
) -> PyResult<Bound<'py, PyArray2<u32>>> {
    let items = self::texts(texts, "texts", None)?;
    let strs = as_strs(&items)?;
    let mut out = buffer::<u32>(strs.len(), num_perm, "minhash_signatures")?;
    let norm = Normalize { lowercase, fold_whitespace };
    py.detach(|| minhash::signatures_into(&strs, num_perm, ngram, seed, norm, &mut out)).map_err(value_error)?;
    Ok(matrix(py, strs.len(), num_perm, out))
}

#[pyfunction]
#[pyo3(signature = (threshold, num_perm=128))]
fn lsh_params(py: Python<'_>, threshold: f64, num_perm: usize) -> PyResult<(usize, usize)> {
    py.detach(|| minhash::lsh_params(threshold, num_perm)).map_err(value_error)
}

#[pyfunction]
#[pyo3(signature = (texts, threshold=0.75, *, num_perm=128, ngram=5, seed=1, bands=None, lowercase=false, fold_whitespace=false))]
#[allow(clippy::too_many_arguments)]
fn near_duplicates(
    py: Python<'_>,
    texts: &Bound<'_, PyAny>,
    threshold: f64,
    num_perm: usize,
    ngram: usize,
    seed: u64,
    bands: Option<usize>,
    lowercase: bool,
    fold_whitespace: bool,
) -> PyResult<Vec<Vec<usize>>> {
    let items = self::texts(texts, "texts", None)?;
    let strs = as_strs(&items)?;
    let opts = NearDupOptions { threshold, num_perm, ngram, seed, bands, norm: Normalize { lowercase, fold_whitespace } };
    py.detach(|| minhash::near_duplicates(&strs, opts)).map_err(value_error)
}

#[pymodule]
fn _simlar(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(jaccard_ngrams, m)?)?;
    m.add_function(wrap_pyfunction!(jaccard_ngrams_matrix, m)?)?;
    m.add_function(wrap_pyfunction!(levenshtein_normalized, m)?)?;
    m.add_function(wrap_pyfunction!(levenshtein_normalized_matrix, m)?)?;
    m.add_function(wrap_pyfunction!(minhash_signatures, m)?)?;
    m.add_function(wrap_pyfunction!(lsh_params, m)?)?;
    m.add_function(wrap_pyfunction!(near_duplicates, m)?)?;
    Ok(())
}
