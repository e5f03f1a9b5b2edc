"""Core ML export of the WQRM head, for the Mac app (Neural Engine / GPU / CPU).

The head (engine.quality.head) becomes an ML Program of a few ops:

    h = gelu(features W1 + b1);  quality = features wl + h wq + bq
    p_broken = sigmoid(h wb + bb)
    score = clip((1 - p_broken) * quality + p_broken * BROKEN_SCORE, 0, 10)

with input `features` (1 x d: the pooled MiniLM states, engine.quality.encoder) and
outputs `score`, `quality`, `p_broken`. The Mac app computes the features with its
MiniLM as `encoder.pooled` does. Prediction needs macOS; on Linux the package is
built, saved and checked by reading it back (`check_package`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from engine.errors import KillahError
from engine.quality.head import BROKEN_SCORE, Head

INPUT_NAME = "features"
OUTPUTS = ("score", "quality", "p_broken")


def _coremltools():
    try:
        import coremltools as ct
    except ImportError as e:
        raise KillahError("Core ML export needs coremltools: pip install coremltools") from e
    return ct


def to_coreml(head: Head):
    """The head as a coremltools MLModel (an ML Program, float32, macOS 13+)."""
    ct = _coremltools()
    from coremltools.converters.mil import Builder as mb
    from coremltools.converters.mil.mil import types

    a = {k: np.asarray(v, dtype=np.float32) for k, v in head.arrays.items()}
    d = a["W1"].shape[0]

    @mb.program(
        input_specs=[mb.TensorSpec(shape=(1, d), dtype=types.fp32)], opset_version=ct.target.macOS13
    )
    def program(features):
        h = mb.linear(x=features, weight=a["W1"].T, bias=a["b1"], name="hidden_linear")
        h = mb.gelu(x=h, mode="EXACT", name="hidden")
        lin = mb.linear(x=features, weight=a["wl"][None, :], bias=a["bq"], name="quality_linear")
        q = mb.add(x=lin, y=mb.linear(x=h, weight=a["wq"][None, :]), name="quality")
        logit = mb.linear(x=h, weight=a["wb"][None, :], bias=a["bb"], name="broken_logit")
        p = mb.sigmoid(x=logit, name="p_broken")
        mixed = mb.add(
            x=mb.mul(x=mb.sub(x=np.float32(1.0), y=p), y=q),
            y=mb.mul(x=p, y=np.float32(BROKEN_SCORE)),
        )
        score = mb.clip(x=mixed, alpha=np.float32(0.0), beta=np.float32(10.0), name="score")
        return score, q, p

    model = ct.convert(
        program,
        convert_to="mlprogram",
        minimum_deployment_target=ct.target.macOS13,
        compute_precision=ct.precision.FLOAT32,
    )
    model.short_description = (
        "Killah WQRM head: 0-10 writing-quality score of one paragraph's features"
    )
    model.input_description[INPUT_NAME] = (
        f"pooled all-MiniLM-L6-v2 states (mean, max, std) of layers {list(head.layers)}"
    )
    model.output_description["score"] = "0-10 score"
    model.output_description["quality"] = (
        "quality on the LAMP 1-10 scale, before the broken-text gate"
    )
    model.output_description["p_broken"] = "probability that the text does not read as prose"
    model.user_defined_metadata["killah.wqrm.training_data_sha256"] = str(
        head.meta.get("training_data_sha256", "")
    )
    model.user_defined_metadata["killah.wqrm.layers"] = ",".join(map(str, head.layers))
    return model


def export(head: Head, path: str | Path) -> Path:
    """Write the head as a .mlpackage at `path` (replaced atomically)."""
    import shutil
    import tempfile

    path = Path(path)
    if path.suffix != ".mlpackage":
        raise KillahError(f"{path}: a Core ML ML Program is saved as a .mlpackage folder")
    model = to_coreml(head)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        model.save(str(tmp / path.name))  # coremltools insists on the .mlpackage suffix
        shutil.rmtree(path, ignore_errors=True)
        os.replace(tmp / path.name, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def check_package(path: str | Path, head: Head) -> None:
    """Read the saved package back and check it is `head`; raises KillahError if not.

    Checks the spec type, the input/output names and shapes, and that the program's
    first-layer weights equal the head's.
    """
    ct = _coremltools()
    from coremltools.converters.mil.frontend.milproto.load import load as load_milproto

    path = Path(path)
    spec = ct.utils.load_spec(str(path))
    d = head.arrays["W1"].shape[0]
    problems = []
    if spec.WhichOneof("Type") != "mlProgram":
        problems.append(f"model type is {spec.WhichOneof('Type')}, expected mlProgram")
    inputs = {i.name: list(i.type.multiArrayType.shape) for i in spec.description.input}
    outputs = sorted(o.name for o in spec.description.output)
    if inputs != {INPUT_NAME: [1, d]}:
        problems.append(f"inputs are {inputs}, expected {{{INPUT_NAME!r}: [1, {d}]}}")
    if outputs != sorted(OUTPUTS):
        problems.append(f"outputs are {outputs}, expected {sorted(OUTPUTS)}")
    program = load_milproto(
        spec,
        specification_version=spec.specificationVersion,
        file_weights_dir=str(path / "Data" / "com.apple.CoreML" / "weights"),
    )
    consts = [
        np.asarray(op.val.val)
        for f in program.functions.values()
        for op in f.operations
        if op.op_type == "const"
        and op.val.val is not None
        and np.size(op.val.val) == np.size(head.arrays["W1"])
    ]
    if not any(
        np.allclose(c.reshape(head.arrays["W1"].T.shape), head.arrays["W1"].T, rtol=1e-5, atol=1e-6)
        for c in consts
    ):
        problems.append("the package's weights differ from the head's")
    if problems:
        raise KillahError(f"Core ML package {path}: " + "; ".join(problems))


def can_predict() -> bool:
    """Core ML prediction runs only on macOS."""
    return sys.platform == "darwin"


def predict(path: str | Path, features: np.ndarray) -> np.ndarray:
    """Scores of (n, d) features from the saved package (macOS only), one row at a time."""
    if not can_predict():
        raise KillahError("Core ML prediction needs macOS")
    ct = _coremltools()
    model = ct.models.MLModel(str(path))
    rows = np.asarray(features, dtype=np.float32)
    return np.array(
        [float(model.predict({INPUT_NAME: r[None, :]})["score"].ravel()[0]) for r in rows]
    )
