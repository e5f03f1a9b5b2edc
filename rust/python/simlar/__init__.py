"""simlar: fast string similarity and near-duplicate detection (Rust, via PyO3).

    >>> import simlar
    >>> simlar.levenshtein_normalized("kitten", "sitting")  # 3 edits / 7 characters
    0.42857142857142855
    >>> simlar.jaccard_ngrams("night", "nacht", 2)  # {ht} / {ni ig gh ht na ac ch}
    0.14285714285714285
"""

from simlar._simlar import (
    __version__,
    jaccard_ngrams,
    jaccard_ngrams_matrix,
    levenshtein_normalized,
    levenshtein_normalized_matrix,
    lsh_params,
    minhash_signatures,
    near_duplicates,
)

__all__ = [
    "__version__",
    "jaccard_ngrams",
    "jaccard_ngrams_matrix",
    "levenshtein_normalized",
    "levenshtein_normalized_matrix",
    "lsh_params",
    "minhash_signatures",
    "near_duplicates",
]
