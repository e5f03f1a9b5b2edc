"""The authorship judge: which of K candidate authors wrote this passage?

Trained on real prose only. Each author's works are split into training works
and held-out works (never chunks of one work on both sides); passages of
150-300 words are cut on sentence boundaries, stylometric features are
extracted (see features.py) and a linear SVM is fitted, with sigmoid
calibration so its probabilities mean something. Trained judges are cached
as data (JSON + npz, hash-checked; judge_store.py) under the models folder,
keyed by a hash of their training files, settings and the code that makes
passages and features (a change to chunking is a new judge, not a stale one).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from engine import paths
from engine.errors import KillahError
from engine.progress import ProgressCallback, report_progress
from training.chunking import chunk_text, detect_lang
from training.evaluation import judge_store
from training.evaluation.features import make_features, preprocess
from training.evaluation.judge_store import CalibratedLinear

JUDGE_VERSION = "judge-v4"  # v4: stored as JSON + npz, not pickle


@dataclass(frozen=True)
class JudgeConfig:
    min_words: int = field(default=150, metadata={"help": "shortest passage, in words"})
    max_words: int = field(default=300, metadata={"help": "longest passage, in words"})
    train_per_author: int = field(default=1500, metadata={"help": "training passages per author"})
    test_per_author: int = field(default=100, metadata={"help": "held-out passages per author"})
    test_fraction: float = field(default=0.2, metadata={"help": "share of words held out, by work"})
    C: float = field(default=0.5, metadata={"help": "LinearSVC regularisation"})
    mask_names: bool = field(default=True, metadata={"help": "mask capitalised mid-sentence words"})
    max_features: int = 200_000
    seed: int = 0

    @classmethod
    def from_dict(cls, d: dict) -> "JudgeConfig":
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


@dataclass
class AuthorSplit:
    """One author's works, split into judge-training and held-out works."""

    name: str
    train: list[Path]
    test: list[Path]
    # For an author with a single work: the share of it (from the start) used for training.
    single_work_cut: float | None = None


def list_authors(candidates_dir: Path) -> dict[str, Path]:
    """author name -> folder, for every sub-folder holding .txt works."""
    candidates_dir = Path(candidates_dir)
    if not candidates_dir.is_dir():
        raise KillahError(f"candidate authors folder not found: {candidates_dir}")
    authors = {
        d.name: d for d in sorted(candidates_dir.iterdir()) if d.is_dir() and any(d.glob("*.txt"))
    }
    if len(authors) < 2:
        raise KillahError(f"{candidates_dir} must hold at least two author folders of .txt works")
    return authors


def _works(author_dir: Path) -> list[Path]:
    works = sorted(Path(author_dir).glob("*.txt"))
    if not works:
        raise KillahError(f"no .txt works in {author_dir}")
    return works


def _stable_rank(name: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{name}".encode()).hexdigest()


def split_works(author_dir: Path, config: JudgeConfig = JudgeConfig()) -> AuthorSplit:
    """Hold out whole works, in a fixed pseudo-random order, until test_fraction of words."""
    author_dir = Path(author_dir)
    works = _works(author_dir)
    if len(works) == 1:
        return AuthorSplit(author_dir.name, works, works, single_work_cut=1 - config.test_fraction)
    sizes = {w: w.stat().st_size for w in works}
    total = sum(sizes.values())
    test: list[Path] = []
    held = 0
    for w in sorted(works, key=lambda w: _stable_rank(w.name, config.seed)):
        if held >= config.test_fraction * total or len(test) == len(works) - 1:
            break
        if test and held + sizes[w] > 0.5 * total:
            continue  # never hold out most of an author
        test.append(w)
        held += sizes[w]
    train = [w for w in works if w not in test]
    return AuthorSplit(author_dir.name, train, sorted(test))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise KillahError(f"cannot read {path}: {e}") from e


def _passages_of(path: Path, config: JudgeConfig, part: str | None, cut: float | None) -> list[str]:
    text = _read(path)
    if cut is not None:
        at = int(len(text) * cut)
        text = text[:at] if part == "train" else text[at:]
    return [c.text for c in chunk_text(text, config.min_words, config.max_words, 0)]


def author_passages(
    split: AuthorSplit, part: str, config: JudgeConfig, limit: int | None = None, seed: int = 0
) -> list[tuple[str, str]]:
    """(passage, work name) pairs from the train or test works, sampled evenly when limited."""
    works = split.train if part == "train" else split.test
    cut = split.single_work_cut
    pool = [(p, w.stem) for w in works for p in _passages_of(w, config, part, cut)]
    if limit is not None and len(pool) > limit:
        rng = random.Random(f"{seed}:{split.name}:{part}")
        pool = [pool[i] for i in sorted(rng.sample(range(len(pool)), limit))]
    return pool


_TOKEN = re.compile(r"\w+|[^\w\s]")


def _trigram_hashes(text: str) -> np.ndarray:
    """crc32 of each lowercased word/punctuation trigram of the preprocessed text."""
    toks = [t.lower() for t in _TOKEN.findall(preprocess(text))]
    return np.fromiter((zlib.crc32(f"{a} {b} {c}".encode()) for a, b, c in zip(toks, toks[1:], toks[2:])),
                       dtype=np.uint32)


SHUFFLES = 4
CALIBRATION_FOLDS = 3  # the sigmoid calibration's cross-validation: 3+ passages per author


@dataclass
class OrderGate:
    """Does the passage's word order look like prose? (Style features alone cannot tell.)

    Attestation = the share of the passage's word trigrams (punctuation counts as a
    word) seen in the judge's training works. Its ratio to the attestation of the
    same words in shuffled orders (seeded, SHUFFLES times) is about 1 for word salad
    and loops, and 2-4 for real prose, whatever the author's coverage in the
    training works. The gate maps the ratio linearly to [0, 1] between `lo` (90th
    percentile for shuffled calibration passages) and `hi` (10th percentile for
    real ones).
    """

    table: np.ndarray  # sorted unique trigram hashes
    lo: float
    hi: float

    def _attested(self, h: np.ndarray) -> float:
        if not h.size or not self.table.size:
            return 0.0
        pos = np.searchsorted(self.table, h)
        pos[pos == self.table.size] = 0
        return float((self.table[pos] == h).mean())

    def attestation(self, text: str) -> float:
        return self._attested(_trigram_hashes(text))

    def order_ratio(self, text: str) -> float:
        words = text.split()
        rng = random.Random(zlib.crc32(text.encode()))
        shuffled = []
        for _ in range(SHUFFLES):
            rng.shuffle(words)
            shuffled.append(self.attestation(" ".join(words)))
        return (self.attestation(text) + 0.01) / (float(np.mean(shuffled)) + 0.01)

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        r = np.array([self.order_ratio(t) for t in texts])
        return np.clip((r - self.lo) / max(self.hi - self.lo, 1e-6), 0.0, 1.0)


def build_gate(splits: dict[str, AuthorSplit], config: JudgeConfig) -> OrderGate:
    """Trigram table of the training works; thresholds from one calibration work per author.

    The calibration works stay out of the table, so their passages (real, and with
    their words shuffled) are measured as unseen works will be.
    """
    rng = random.Random(config.seed)
    table_parts, calibration = [], []
    for split in splits.values():
        works = list(split.train)
        if len(works) >= 2:
            calibration.append(works.pop(sorted(range(len(works)),
                                                key=lambda i: _stable_rank(works[i].name, config.seed))[0]))
        for w in works:
            text = _read(w)
            if split.single_work_cut is not None:
                text = text[: int(len(text) * split.single_work_cut)]
            table_parts.append(_trigram_hashes(text))
    table = np.unique(np.concatenate(table_parts)) if table_parts else np.zeros(0, np.uint32)
    gate = OrderGate(table, 1.0, 2.0)
    real, salad = [], []
    for w in calibration:
        chunks = chunk_text(_read(w), config.min_words, config.max_words, 0)
        for c in rng.sample(chunks, min(20, len(chunks))):
            words = c.text.split()
            real.append(gate.order_ratio(c.text))
            rng.shuffle(words)
            salad.append(gate.order_ratio(" ".join(words)))
    if real:
        hi, lo = float(np.percentile(real, 10)), float(np.percentile(salad, 90))
        if lo >= hi:
            lo = hi = (lo + hi) / 2
        gate.lo, gate.hi = lo, hi
    return gate


@dataclass
class Judge:
    """A trained attribution model over a fixed list of authors."""

    authors: list[str]
    features: object  # make_features(): text -> sparse TF-IDF rows
    model: CalibratedLinear  # rows -> calibrated probabilities
    config: JudgeConfig
    lang: str
    key: str = ""
    splits: dict[str, AuthorSplit] = field(default_factory=dict)
    gate: OrderGate | None = None

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(n, K) probabilities; columns follow self.authors."""
        if not texts:
            return np.zeros((0, len(self.authors)))
        proba = self.model.predict_proba(self.features.transform(list(texts)))
        order = [self.model.classes.index(a) for a in self.authors]
        return proba[:, order]

    def predict(self, texts: Sequence[str]) -> list[str]:
        proba = self.predict_proba(texts)
        return [self.authors[i] for i in proba.argmax(axis=1)]

    def order_gate(self, texts: Sequence[str]) -> np.ndarray:
        """1 for prose-like word order, 0 for word salad (see OrderGate)."""
        return self.gate(texts) if self.gate is not None else np.ones(len(texts))

    def attribution(self, texts: Sequence[str], target: str) -> tuple[np.ndarray, np.ndarray]:
        """Per passage: (top-1 is target, as 0/1; probability of target), both gated.

        A passage whose word order does not read as prose (gate < 0.5) is attributed
        to no one, and the target's probability is scaled by the gate.
        """
        if target not in self.authors:
            raise KillahError(f"author {target!r} is not among the judge's candidates: {self.authors}")
        proba = self.predict_proba(texts)
        gate = self.order_gate(texts)
        j = self.authors.index(target)
        top1 = (proba.argmax(axis=1) == j) & (gate >= 0.5)
        return top1.astype(float), proba[:, j] * gate


def _code_digest() -> bytes:
    """The code that turns works into passages and features: a change to it is a new judge."""
    import sys

    from engine import text
    from training import chunking
    from training.evaluation import features, function_words

    h = hashlib.sha256()
    for module in (text, chunking, features, function_words, sys.modules[__name__], judge_store):
        h.update(Path(module.__file__).read_bytes())
    return h.digest()


def _training_key(splits: dict[str, AuthorSplit], config: JudgeConfig, lang: str) -> str:
    import sklearn

    h = hashlib.sha256()
    h.update(json.dumps([JUDGE_VERSION, sklearn.__version__, lang, asdict(config)]).encode())
    h.update(_code_digest())
    for name in sorted(splits):
        s = splits[name]
        h.update(f"{name}|{s.single_work_cut}".encode())
        for w in s.train:
            h.update(f"train|{w.name}|".encode())
            h.update(hashlib.sha256(w.read_bytes()).digest())
        for w in s.test:
            h.update(f"test|{w.name}".encode())
    return h.hexdigest()[:16]


def _fit(texts: list[str], labels: list[str], config: JudgeConfig, lang: str):
    """(fitted features, CalibratedLinear) from labelled passages."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.pipeline import Pipeline
    from sklearn.svm import LinearSVC

    svm = LinearSVC(C=config.C, random_state=config.seed)
    clf = CalibratedClassifierCV(svm, method="sigmoid", cv=CALIBRATION_FOLDS, ensemble=False)
    pipeline = Pipeline(
        [("features", make_features(lang, config.mask_names, config.max_features)), ("clf", clf)]
    )
    pipeline.fit(texts, labels)
    return pipeline.named_steps["features"], CalibratedLinear.from_sklearn(pipeline.named_steps["clf"])


def train_judge(
    author_dirs: dict[str, Path],
    config: JudgeConfig = JudgeConfig(),
    cache: bool = True,
    progress: ProgressCallback | None = None,
) -> Judge:
    """Train (or load from the cache) a judge over `author_dirs` (name -> folder of works)."""
    if len(author_dirs) < 2:
        raise KillahError("the judge needs at least two candidate authors")
    splits = {name: split_works(d, config) for name, d in sorted(author_dirs.items())}
    first = next(iter(splits.values())).train[0]
    lang = detect_lang(_read(first))
    key = _training_key(splits, config, lang)
    folder = paths.models_dir() / "judges" / f"{JUDGE_VERSION}-{key}"
    if cache:
        stored, why = judge_store.load(folder, make_features)
        if stored is not None and stored.model.classes != sorted(splits):
            stored, why = None, "its authors differ"
        if stored is not None:
            gate = OrderGate(stored.gate_table, stored.gate_lo, stored.gate_hi)
            return Judge(sorted(splits), stored.features, stored.model, config, lang, key, splits,
                         gate)
        if why != "not cached":
            report_progress(progress, "judge", message=f"fitting the judge again: {why}")
    texts: list[str] = []
    labels: list[str] = []
    for name, split in splits.items():
        report_progress(progress, "judge", message=f"passages of {name}")
        for passage, _work in author_passages(split, "train", config, config.train_per_author,
                                              config.seed):
            texts.append(passage)
            labels.append(name)
    counts = {name: labels.count(name) for name in splits}
    few = [f"{name} ({n})" for name, n in counts.items() if n < CALIBRATION_FOLDS]
    if few:
        raise KillahError(f"too little text for the judge: {', '.join(few)} training passages of "
                          f"{config.min_words}-{config.max_words} words (each author needs "
                          f"{CALIBRATION_FOLDS}; add works)")
    report_progress(progress, "judge", message=f"fitting on {len(texts)} passages")
    features, model = _fit(texts, labels, config, lang)
    report_progress(progress, "judge", message="word-order gate")
    gate = build_gate(splits, config)
    judge = Judge(sorted(splits), features, model, config, lang, key, splits, gate)
    if cache:
        meta = {"judge_version": JUDGE_VERSION, "key": key, "lang": lang, "authors": judge.authors,
                "config": asdict(config), "gate": {"lo": gate.lo, "hi": gate.hi}}
        judge_store.save(folder, meta, features, model, gate.table)
    return judge


@dataclass
class JudgeReport:
    lang: str
    authors: list[str]
    accuracy: float  # style verdict alone
    gated_accuracy: float  # attributed after the word-order gate (what the harness reports)
    per_author: dict[str, dict]
    confusion: list[list[int]]
    n_test: int
    config: dict
    key: str

    def markdown(self) -> str:
        lines = ["| author | held-out works | passages | top-1 | top-1 after gate |",
                 "|---|---|---|---|---|"]
        for a in self.authors:
            r = self.per_author[a]
            lines.append(f"| {a} | {', '.join(r['works'])} | {r['n']} | {r['accuracy']:.3f} "
                         f"| {r['gated_accuracy']:.3f} |")
        lines.append(f"| **all** | | {self.n_test} | **{self.accuracy:.3f}** "
                     f"| **{self.gated_accuracy:.3f}** |")
        return "\n".join(lines)


def evaluate_judge(judge: Judge, per_author: int | None = None) -> JudgeReport:
    """Top-1 accuracy on passages of every author's held-out works."""
    per_author = per_author or judge.config.test_per_author
    texts, labels = [], []
    works: dict[str, list[str]] = {}
    for name in judge.authors:
        split = judge.splits[name]
        works[name] = [w.stem for w in split.test]
        for passage, _w in author_passages(split, "test", judge.config, per_author, judge.config.seed):
            texts.append(passage)
            labels.append(name)
    predicted = judge.predict(texts)
    gate = judge.order_gate(texts) >= 0.5
    k = len(judge.authors)
    confusion = [[0] * k for _ in range(k)]
    for t, p in zip(labels, predicted):
        confusion[judge.authors.index(t)][judge.authors.index(p)] += 1
    hits = np.array([t == p for t, p in zip(labels, predicted)])
    gated = hits & gate
    labels_arr = np.array(labels)
    rows = {}
    for i, a in enumerate(judge.authors):
        mine = labels_arr == a
        n = int(mine.sum())
        rows[a] = {"n": n, "accuracy": float(hits[mine].mean()) if n else float("nan"),
                   "gated_accuracy": float(gated[mine].mean()) if n else float("nan"),
                   "works": works[a]}
    total = max(len(labels), 1)
    return JudgeReport(judge.lang, judge.authors, float(hits.sum()) / total, float(gated.sum()) / total,
                       rows, confusion, len(labels), asdict(judge.config), judge.key)
