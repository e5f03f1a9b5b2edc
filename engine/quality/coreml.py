"""Core ML export of the learned WQRM scorer, for the Mac app (Neural Engine / GPU / CPU).

The scorer is linear over standardised features, so the export folds the
standardisation into the weights and builds a one-op ML Program:

    score = features . (w / std) + (b - sum(w * mean / std))      features: (1, d) float32

The Mac app computes the features as `LearnedScorer.features` does (MiniLM
paragraph embedding, then the learned metrics) and feeds them to the model.
Prediction needs macOS; on Linux the package is built, saved and checked by
reading it back (`check_package`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from engine.errors import KillahError
from engine.quality.scorer import LearnedScorer

INPUT_NAME = "features"
OUTPUT_NAME = "score"


def folded_weights(scorer: LearnedScorer) -> tuple[np.ndarray, float]:
    """(w / std, b - sum(w * mean / std)): the scorer as one affine map of raw features."""
    w = scorer.weights / scorer.std
    return w, float(scorer.bias - np.dot(w, scorer.mean))


def _coremltools():
    try:
        import coremltools as ct
    except ImportError as e:
        raise KillahError("Core ML export needs coremltools: pip install coremltools") from e
    return ct


def to_coreml(scorer: LearnedScorer):
    """The scorer as a coremltools MLModel (an ML Program, float32, macOS 13+)."""
    ct = _coremltools()
    from coremltools.converters.mil import Builder as mb
    from coremltools.converters.mil.mil import types

    w, b = folded_weights(scorer)
    weight = w.astype(np.float32).reshape(1, -1)
    bias = np.array([b], dtype=np.float32)

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, scorer.dim), dtype=types.fp32)],
                opset_version=ct.target.macOS13)
    def program(features):
        return mb.linear(x=features, weight=weight, bias=bias, name=OUTPUT_NAME)

    model = ct.convert(
        program,
        convert_to="mlprogram",
        minimum_deployment_target=ct.target.macOS13,
        compute_precision=ct.precision.FLOAT32,
    )
    model.short_description = "Killah WQRM learned scorer: raw quality score of one paragraph's features"
    model.input_description[INPUT_NAME] = (
        f"{scorer.dim - len(scorer.metric_fill)} MiniLM embedding dims then the learned metrics "
        "(see resources/wqrm/scorer.json)"
    )
    model.output_description[OUTPUT_NAME] = "raw score (higher is better)"
    model.user_defined_metadata["killah.scorer.training_data_sha256"] = str(scorer.meta.get("training_data_sha256", ""))
    model.user_defined_metadata["killah.scorer.embedder"] = scorer.embedder
    return model


def export(scorer: LearnedScorer, path: str | Path) -> Path:
    """Write the scorer as a .mlpackage at `path` (replaced atomically)."""
    import shutil
    import tempfile

    path = Path(path)
    if path.suffix != ".mlpackage":
        raise KillahError(f"{path}: a Core ML ML Program is saved as a .mlpackage folder")
    model = to_coreml(scorer)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        model.save(str(tmp / path.name))  # coremltools insists on the .mlpackage suffix
        shutil.rmtree(path, ignore_errors=True)
        os.replace(tmp / path.name, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def check_package(path: str | Path, scorer: LearnedScorer) -> None:
    """Read the saved package back and check it is the scorer; raises KillahError if not.

    Checks the spec type, the input/output names and shapes, and that the program's
    weights equal the folded scorer weights.
    """
    ct = _coremltools()
    from coremltools.converters.mil.frontend.milproto.load import load as load_milproto

    path = Path(path)
    spec = ct.utils.load_spec(str(path))
    problems = []
    if spec.WhichOneof("Type") != "mlProgram":
        problems.append(f"model type is {spec.WhichOneof('Type')}, expected mlProgram")
    inputs = {i.name: list(i.type.multiArrayType.shape) for i in spec.description.input}
    outputs = {o.name: list(o.type.multiArrayType.shape) for o in spec.description.output}
    if inputs != {INPUT_NAME: [1, scorer.dim]}:
        problems.append(f"inputs are {inputs}, expected {{{INPUT_NAME!r}: [1, {scorer.dim}]}}")
    if outputs != {OUTPUT_NAME: [1, 1]}:
        problems.append(f"outputs are {outputs}, expected {{{OUTPUT_NAME!r}: [1, 1]}}")
    program = load_milproto(
        spec, specification_version=spec.specificationVersion,
        file_weights_dir=str(path / "Data" / "com.apple.CoreML" / "weights"),
    )
    consts = {op.name: op.val.val for f in program.functions.values() for op in f.operations if op.op_type == "const"}
    w, b = folded_weights(scorer)
    weight = next((v for k, v in consts.items() if "weight" in k), None)
    bias = next((v for k, v in consts.items() if "bias" in k), None)
    if weight is None or not np.allclose(np.asarray(weight).ravel(), w, rtol=1e-5, atol=1e-6):
        problems.append("the package's weights differ from the scorer's")
    if bias is None or not np.allclose(np.asarray(bias).ravel(), [b], rtol=1e-5, atol=1e-6):
        problems.append("the package's bias differs from the scorer's")
    if problems:
        raise KillahError(f"Core ML package {path}: " + "; ".join(problems))


def can_predict() -> bool:
    """Core ML prediction runs only on macOS."""
    return sys.platform == "darwin"


def predict(path: str | Path, features: np.ndarray) -> np.ndarray:
    """Run the saved package on (n, d) features (macOS only), one row at a time."""
    if not can_predict():
        raise KillahError("Core ML prediction needs macOS")
    ct = _coremltools()
    model = ct.models.MLModel(str(path))
    rows = np.asarray(features, dtype=np.float32)
    return np.array([float(model.predict({INPUT_NAME: r[None, :]})[OUTPUT_NAME].ravel()[0]) for r in rows])
