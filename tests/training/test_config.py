"""The pipeline's options, declared once: generated parsers, CLI > YAML > defaults, wiring."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from engine.errors import KillahError
from training import cli, pipeline
from training.config import resolve, to_dict
from training.fitplan import FitConfig
from training.pipeline import STAGES, WIRED, PipelineConfig


def _option_strings(parser) -> set[str]:
    return {s for a in parser._actions for s in a.option_strings}


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_option_comes_from_its_config_with_its_help(stage):
    parser = cli.build_parser(stage)
    cls = pipeline.SECTIONS[stage]
    by_dest = {a.dest: a for a in parser._actions}
    for f in dataclasses.fields(cls):
        action = by_dest[f.name]
        assert f.metadata["help"] in action.help
        if f.metadata.get("positional"):
            assert not action.option_strings
        else:
            assert "--" + f.name.replace("_", "-") in action.option_strings
    assert {"-c", "--config", "--json"} <= _option_strings(parser)


def test_a_stage_reads_defaults_then_yaml_then_the_command_line(tmp_path):
    yaml_file = tmp_path / "fit.yaml"
    yaml_file.write_text("rank: 4\niters: 9\nkeys: [self_attn.q_proj]\ngrad-checkpoint: true\n")
    parser = cli.build_parser("fit")
    cfg = resolve(FitConfig, parser.parse_args(["-c", str(yaml_file), "--iters", "5"]), yaml_file)
    assert (cfg.rank, cfg.iters, cfg.grad_checkpoint) == (4, 5, True)
    assert cfg.keys == ("self_attn.q_proj",)
    assert cfg.learning_rate is None and cfg.save_every == FitConfig().save_every  # defaults
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.iters = 6  # type: ignore[misc]


def test_bad_yaml_is_one_line_naming_the_file_and_the_option(tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text("fit:\n  rnk: 4\n")
    with pytest.raises(KillahError, match=r"p\.yaml \[fit\]: unknown option\(s\): rnk"):
        resolve(PipelineConfig, None, bad)
    bad.write_text("fit:\n  rank: four\n")
    with pytest.raises(KillahError, match=r"\[fit\]: rank: expected a whole number, got 'four'"):
        resolve(PipelineConfig, None, bad)
    bad.write_text("fit: 3\n")
    with pytest.raises(KillahError, match="fit must be a section"):
        resolve(PipelineConfig, None, bad)


def test_train_all_nests_sections_and_keeps_its_flags(tmp_path):
    yaml_file = tmp_path / "all.yaml"
    yaml_file.write_text("author: Jane Austen\nfiles: [a.txt]\nneutralize:\n  workers: 2\n"
                         "fit:\n  rank: 8\n  iters: 50\n")
    parser = pipeline.build_parser()
    args = parser.parse_args(["-c", str(yaml_file), "b.txt", "--iters", "3", "--no-harness",
                              "--limit-chunks", "10", "--fit-seed", "7", "--target-tokens", "1000"])
    cfg = pipeline.from_args(args)
    assert cfg.files == ("b.txt",) and cfg.author == "Jane Austen"  # the command line wins
    assert (cfg.fit.rank, cfg.fit.iters, cfg.fit.seed) == (8, 3, 7)
    assert cfg.neutralize.workers == 2 and cfg.neutralize.limit_chunks == 10
    assert cfg.evaluate.harness is False and cfg.curate.target_tokens == 1000
    assert cfg.dataset.seed == 0 and cfg.curate.seed == 0  # --fit-seed is the fit's only
    # the wired fields are not options; names two sections share carry the section
    options = _option_strings(parser)
    assert {"--fit-seed", "--curate-seed", "--dataset-seed", "--fit-fresh",
            "--neutralize-fresh"} <= options
    assert not {"--seed", "--data", "--run-dir", "--corpus", "--neutralized"} & options
    assert to_dict(cfg)["fit"]["iters"] == 3


def test_the_pipeline_wires_each_stage_into_one_work_folder(tmp_path):
    cfg = PipelineConfig(files=("a.txt",), author="Jane Austen", out=str(tmp_path / "w"),
                         model="tiny", name="mine", fit=FitConfig(iters=2, rank=4))
    stages = cfg.stage_configs()
    work = tmp_path / "w"
    assert stages["curate"].files == (str(Path("a.txt").resolve()),)
    assert stages["curate"].out == stages["neutralize"].corpus == str(work / "corpus.txt")
    assert stages["neutralize"].out == stages["dataset"].neutralized
    assert stages["dataset"].out == stages["fit"].data == str(work / "data")
    assert stages["fit"].run_dir == stages["evaluate"].run_dir == stages["register"].run_dir
    assert stages["fit"].model == stages["evaluate"].model == "tiny"
    assert (stages["fit"].iters, stages["fit"].rank) == (2, 4)  # the section's own options stay
    assert stages["register"].name == "mine" and stages["dataset"].author == "Jane Austen"
    for stage, wired in WIRED.items():
        assert set(wired) <= {f.name for f in dataclasses.fields(pipeline.SECTIONS[stage])}


def test_eval_style_is_generated_from_its_config(tmp_path):
    from training.config import from_args
    from training.evaluation.cli import build_parser
    from training.evaluation.report import StyleEvalConfig

    args = build_parser().parse_args([
        "style", "--author-dir", str(tmp_path), "--conditions", "base, exemplars,lora:x", "-n", "3",
        "--min-p", "0.1", "--repetition-penalty", "1.3", "--no-perplexity", "--batch", "2"])
    cfg = from_args(StyleEvalConfig, args)
    assert cfg.conditions == ("base", "exemplars", "lora:x") and cfg.n == 3
    assert (cfg.min_p, cfg.repetition_penalty) == (0.1, 1.3)  # reachable from the command line
    assert (cfg.perplexity, cfg.batch_size) == (False, 2)
    with pytest.raises(KillahError, match="-n must be at least 1"):
        from_args(StyleEvalConfig, build_parser().parse_args(
            ["style", "--author-dir", str(tmp_path), "-n", "0"]))
