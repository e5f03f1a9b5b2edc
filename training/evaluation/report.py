"""The style evaluation's typed input and output: `StyleEvalConfig` in, `Report` out.

`killah eval style` is generated from StyleEvalConfig's fields (their help sits
in the metadata, training.config builds the parser); library callers build the
config and call `training.evaluation.runner.run(config, lm=lm)`, which returns a
Report. A Report round-trips through JSON (`to_dict` / `from_dict`), so a stage
that stored one (training.evaluate's report.json) hands it back typed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.errors import KillahError
from training.evaluation import metrics
from training.evaluation.judge import JudgeConfig


@dataclass(frozen=True)
class StyleEvalConfig:
    author: str | None = field(default=None, metadata={
        "help": "the target's name in the report (default: the folder's name); alone, one of "
                "--candidates or a shipped reference author"})
    author_dir: str | None = field(default=None, metadata={
        "help": "the target: a folder of .txt works, or the name of a shipped reference author "
                "(e.g. austen, chekhov)"})
    candidates: str | None = field(default=None, metadata={
        "help": "folder of candidate author folders the judge chooses among "
                "(default: the shipped reference authors of the target's language)"})
    conditions: tuple[str, ...] = field(default=("base",), metadata={
        "split": ",", "help": "comma-separated: base, exemplars, steering[:S], both[:S] "
        "(exemplars + steering at strength S), lora:<adapter dir or name> (default: base)"})
    n: int = field(default=40, metadata={"aliases": ("-n",), "help": "held-out passages"})
    seed: int = field(default=0, metadata={
        "help": "seed of the passages, the sampling and the bootstrap"})
    min_words: int = field(default=150, metadata={"help": "shortest passage, in words"})
    max_words: int = field(default=300, metadata={"help": "longest passage, in words"})
    neutralizer: str = field(default="extractive", metadata={
        "help": "extractive | local:<model> | endpoint:<url>[#model]"})
    model: str | None = field(default=None, metadata={
        "help": "base model (default: the bundled one)"})
    temperature: float = field(default=0.8, metadata={"help": "sampling temperature"})
    min_p: float = field(default=0.05, metadata={"help": "min-p sampling threshold"})
    repetition_penalty: float = field(default=1.1, metadata={"help": "repetition penalty"})
    perplexity: bool = field(default=True, metadata={
        "help": "measure perplexity under the base model (the fluency column)"})
    judge_train_per_author: int = field(default=JudgeConfig.train_per_author, metadata={
        "help": "training passages per candidate author for the judge"})
    steering_strength: float | None = field(default=None, metadata={
        "help": "absolute strength for steering/both without ':S', at the default layer "
                "(default: the persona's calibrated setting)"})
    calibrate: bool = field(default=True, metadata={
        "help": "steering and both without ':S' use the persona's own calibrated layer and "
                "strength (engine.persona.calibrate, on held-out paragraphs of the persona); "
                "--no-calibrate: the default layer and strength"})
    steering_neutral: str = field(default="reference", metadata={
        "choices": ("reference", "plain", "index"),
        "help": "steering reference: built-in mixed-author prose (the app's default), "
                "built-in plain prose, or the other candidate authors' training works"})
    batch_size: int = field(default=8, metadata={
        "aliases": ("--batch",), "help": "passages decoded together"})

    def __post_init__(self) -> None:
        if self.n < 1:
            raise KillahError(f"-n must be at least 1, got {self.n}")
        if self.batch_size < 1:
            raise KillahError(f"--batch must be at least 1, got {self.batch_size}")
        if not self.author and not self.author_dir:
            raise KillahError("name the target: --author-dir FOLDER (or a shipped reference "
                              "author)")

    def judge_config(self) -> JudgeConfig:
        return JudgeConfig(min_words=self.min_words, max_words=self.max_words,
                           train_per_author=self.judge_train_per_author, seed=self.seed)


@dataclass
class Report:
    author: str
    target_dir: str
    candidates: list[str]
    judge_key: str
    n: int
    rows: dict[str, dict[str, metrics.Estimate]]  # condition -> metric -> estimate
    notes: dict[str, str] = field(default_factory=dict)
    samples: list[dict] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    run_dir: str = ""  # where run() wrote it, with every passage and the configuration

    def to_dict(self, with_samples: bool = False) -> dict:
        d = {
            "author": self.author, "target_dir": self.target_dir, "candidates": self.candidates,
            "judge_key": self.judge_key, "n": self.n,
            "rows": {c: {m: e.to_dict() for m, e in row.items()} for c, row in self.rows.items()},
            "notes": self.notes, "seconds": self.seconds, "run_dir": self.run_dir,
        }
        if with_samples:
            d["samples"] = self.samples
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Report:
        rows = {c: {m: metrics.Estimate(**e) for m, e in row.items()}
                for c, row in d["rows"].items()}
        return cls(d["author"], d["target_dir"], list(d["candidates"]), d["judge_key"], d["n"],
                   rows, dict(d.get("notes") or {}), list(d.get("samples") or []),
                   dict(d.get("seconds") or {}), d.get("run_dir", ""))

    def markdown(self) -> str:
        names = [m for m in metrics.METRICS if any(m in row for row in self.rows.values())]
        head = "| condition | " + " | ".join(metrics.METRICS[m][0] for m in names) + " |"
        lines = [
            f"Style evaluation: **{self.author}** vs {len(self.candidates)} candidate authors, "
            f"{self.n} held-out passages (mean [95% bootstrap CI]).",
            "",
            head,
            "|" + "---|" * (len(names) + 1),
        ]
        for cond, row in self.rows.items():
            cells = [str(row[m]) if m in row else "" for m in names]
            lines.append(f"| {cond} | " + " | ".join(cells) + " |")
        if self.notes:
            lines.append("")
            lines.extend(f"- {cond}: {note}" for cond, note in self.notes.items())
        return "\n".join(lines)
