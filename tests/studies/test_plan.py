"""The planned work of a profile: counted from its resolved jobs, without running anything.

The main job's bound is the guard of `make run`'s 20 minutes: a change that quietly makes the
default profile several times more expensive fails here, before anyone waits for it."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from layerwise.config import load_config, validate_config
from layerwise.studies import plan

ROOT = Path(__file__).resolve().parents[2]

#: Upper bounds of the main job's planned work (config/default.yaml). At the bound's commit: 3584
#: fine-tuning member-epochs (of 10000 images) and 94 TFLOP in all, which ran in under 20 minutes
#: on the 2-core development machine (docs/choices.md, "The main job"); 5 seeds in the claims'
#: primary cells (4592 and 122) did not. About 15% headroom.
MAIN_JOB_MAX_MEMBER_EPOCHS = 4100
MAIN_JOB_MAX_TFLOP = 110.0


@pytest.fixture(scope="module")
def default():
    return load_config(ROOT / "config" / "default.yaml")


def test_main_job_planned_work_stays_under_its_bound(default):
    stages = {s.stage: s for s in plan.plan(default)}
    assert stages["finetune"].member_epochs <= MAIN_JOB_MAX_MEMBER_EPOCHS
    assert plan.total_tflop(default) <= MAIN_JOB_MAX_TFLOP


def test_main_job_still_covers_the_whole_grid(default):
    """The bound is not met by dropping the mission: four sets, depth 1-4, every method,
    dropout off and on, two seeds."""
    g = default["grid"]
    assert set(g["datasets"]) >= {"mnist-rot", "rectangles", "convex"}
    assert g["depths"] == [1, 2, 3, 4]
    assert set(g["pretraining"]) == {"none", "ae", "dae", "rbm"}
    assert set(g["dropout"]) == {False, True}
    assert len(g["seeds"]) >= 2
    assert default["dropout_study"]["enabled"] and default["deep_autoencoder"]["enabled"]


def test_the_full_study_is_several_times_the_main_job(default):
    study = load_config(ROOT / "config" / "study.yaml")
    assert plan.total_tflop(study) > 4 * plan.total_tflop(default)


def test_doubling_seeds_or_epochs_doubles_the_finetuning_plan():
    smoke = load_config(ROOT / "config" / "smoke.yaml")
    base = plan.finetune_plan(smoke)
    more = copy.deepcopy(smoke)
    more["grid"]["seeds"] = [1, 2, 3, 4]
    assert plan.finetune_plan(more).member_epochs == pytest.approx(2 * base.member_epochs)
    longer = copy.deepcopy(smoke)
    longer["finetune"]["max_epochs"] *= 2
    assert plan.finetune_plan(validate_config(longer)).member_epochs == pytest.approx(
        2 * base.member_epochs
    )


def test_mlp_macs_counts_every_layer():
    assert plan.mlp_macs(784, [500, 500], 10) == 784 * 500 + 500 * 500 + 500 * 10


def test_a_wider_net_costs_more_per_epoch(default):
    wide = copy.deepcopy(default)
    wide["model"]["n_hidden"] = [1000]
    assert plan.finetune_plan(wide).tflop > 2.5 * plan.finetune_plan(default).tflop


def test_disabled_side_studies_plan_nothing(default):
    off = copy.deepcopy(default)
    off["dropout_study"]["enabled"] = False
    off["deep_autoencoder"]["enabled"] = False
    assert plan.dropout_study_plan(off).tflop == 0
    assert plan.deep_autoencoder_plan(off).jobs == 0


def test_estimate_and_description(default):
    stages = plan.plan(default)
    assert plan.estimate_minutes(stages, cores=1) > plan.estimate_minutes(stages, cores=2)
    faster = plan.estimate_minutes(stages, 2, gflops=2 * plan.REFERENCE_GFLOPS)
    assert faster < plan.estimate_minutes(stages, 2)
    text = plan.describe(default, 2)
    assert "finetune" in text and "estimate: about" in text


def test_cli_prints_the_plan(capsys):
    assert plan.main([str(ROOT / "config" / "smoke.yaml"), "--cores", "2"]) == 0
    assert "member-epochs" in capsys.readouterr().out


def test_halving_counts_the_survivors_of_each_rung_only():
    from layerwise.engine.finetune import FinetuneSettings

    b = FinetuneSettings(seeds=[], max_epochs=40, halving_rungs=(10,), halving_eta=6)
    assert plan.member_epochs_with_halving([6], b) == 6 * 10 + 1 * 30
    assert plan.member_epochs_with_halving([6, 6, 1], b) == 2 * 90 + 40
    two = FinetuneSettings(seeds=[], max_epochs=40, halving_rungs=(5, 10), halving_eta=3)
    assert plan.member_epochs_with_halving([9], two) == 9 * 5 + 3 * 5 + 1 * 30
    flat = FinetuneSettings(seeds=[], max_epochs=40)
    assert plan.member_epochs_with_halving([6], flat) == 240
