"""The full-MNIST dropout study (Srivastava et al. 2014, Table 2): members, per-member settings,
selection per (activation, variant, seed), the summary against Table 2, and a short real job."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from layerwise.config import ConfigError, deep_merge, read_yaml, validate_config
from layerwise.data.build import build_dataset
from layerwise.report.dropout_summary import mark_selected, summarize
from layerwise.report.inputs import load_reference
from layerwise.studies.dropout import (
    dropout_jobs,
    random_layers,
    run_dropout_job,
    study_members,
)
from layerwise.studies.job_io import RunSettings

ROOT = Path(__file__).resolve().parents[2]


def _cfg(**study) -> dict:
    """The smoke config with the study section overridden (validated, defaults filled)."""
    smoke = read_yaml(ROOT / "config" / "smoke.yaml")
    return validate_config(deep_merge(smoke, {"dropout_study": study}))


def test_members_are_exactly_variants_x_seeds_x_lr_with_their_settings():
    cfg = _cfg(seeds=[1, 2, 3], lr=[0.01, 0.1], p_drop_input=0.2, p_drop_hidden=0.5,
               max_norm=2.5)  # fmt: skip
    sc, job = cfg["dropout_study"], dropout_jobs(cfg)["relu"]
    members = job.members
    assert list(members) == study_members(sc, "relu")
    got = {(m.variant, m.seed, m.lr) for m in members}
    want = set(itertools.product(["plain", "dropout", "dropout-maxnorm"], [1, 2, 3], [0.01, 0.1]))
    assert got == want and len(members) == len(want) == 18
    assert len({m.member_id for m in members}) == 18  # ids unique
    for m in members:
        if m.variant == "plain":
            assert (m.p_drop_input, m.p_drop_hidden, m.max_norm) == (0.0, 0.0, math.inf)
        else:
            assert (m.p_drop_input, m.p_drop_hidden) == (0.2, 0.5)
            assert m.max_norm == (2.5 if m.variant == "dropout-maxnorm" else math.inf)
    # the engine receives exactly these per-member values, in member order
    s = job.settings
    assert s.seeds == [m.seed for m in members] and s.lr == [m.lr for m in members]
    assert s.p_drop_input == [m.p_drop_input for m in members]
    assert s.p_drop_hidden == [m.p_drop_hidden for m in members]
    assert s.max_norm == [m.max_norm for m in members]
    assert s.activation == "relu" and s.momentum == [sc["momentum"]] * len(members)
    s.validate()


def test_max_norm_per_activation_reaches_each_jobs_maxnorm_members_only():
    cfg = _cfg(max_norm={"sigmoid": 6.0, "relu": 2.0})
    for activation, c in (("sigmoid", 6.0), ("relu", 2.0)):
        members = dropout_jobs(cfg)[activation].members
        got = {m.max_norm for m in members if m.variant == "dropout-maxnorm"}
        assert got == {c}
        assert all(m.max_norm == math.inf for m in members if m.variant != "dropout-maxnorm")


def test_max_norm_mapping_must_name_both_activations():
    with pytest.raises(ConfigError, match=r"dropout_study\.max_norm: .*'relu' is a required"):
        _cfg(max_norm={"sigmoid": 6.0})
    with pytest.raises(ConfigError, match=r"dropout_study\.max_norm"):
        _cfg(max_norm={"sigmoid": 6.0, "relu": 2.0, "tanh": 1.0})


def test_members_follow_the_configured_variants_and_refuse_bad_activation():
    sc = _cfg(variants=["plain"], seeds=[4], lr=[0.1])["dropout_study"]
    members = study_members(sc, "sigmoid")
    assert [(m.variant, m.seed, m.lr, m.p_drop_input) for m in members] == [("plain", 4, 0.1, 0.0)]
    with pytest.raises(ValueError, match=r"activation must be one of \('sigmoid', 'relu'\)"):
        study_members(sc, "tanh")


def test_members_of_one_seed_share_their_initial_weights():
    jobs = dropout_jobs(_cfg(depth=2, n_hidden=16, seeds=[1, 2], lr=[0.1, 0.2]))
    members = jobs["sigmoid"].members
    layers = random_layers(jobs["sigmoid"], 784, "cpu")
    assert [tuple(w.shape) for w, _ in layers] == [(12, 784, 16), (12, 16, 16)]
    for w, _ in layers:
        for i, j in itertools.combinations(range(len(members)), 2):
            same = torch.equal(w[i], w[j])
            assert same == (members[i].seed == members[j].seed)
    # sigmoid init is Glorot x4 (Glorot & Bengio 2010), ReLU plain Glorot
    relu = random_layers(jobs["relu"], 784, "cpu")
    assert float(layers[0][0].abs().max()) == pytest.approx(
        4 * float(relu[0][0].abs().max()), rel=1e-5
    )


def test_config_check_names_the_study_s_legal_values():
    """The study's cross-checks live in the one config check (layerwise.config)."""
    with pytest.raises(ConfigError, match=r"n_train must be in \[1, 1000\]"):
        _cfg(n_train=5000)  # smoke's mnist-full has 1000 training images
    smoke = read_yaml(ROOT / "config" / "smoke.yaml")
    smoke["data"]["datasets"].pop("convex")
    with pytest.raises(ConfigError, match="must be listed under data.datasets"):
        validate_config(deep_merge(smoke, {"dropout_study": {"dataset": "convex"}}))
    _cfg()  # the smoke profile itself is fine


def _fake_members(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for act, variant, lr, seed in itertools.product(
        ["sigmoid", "relu"], ["plain", "dropout", "dropout-maxnorm"], [0.01, 0.1, 1.0], [1, 2]
    ):
        valid = rng.uniform(0.01, 0.05)
        rows.append(dict(activation=act, variant=variant, lr=lr, seed=seed, valid_error=valid,
                         test_error=valid + rng.normal(0, 0.002), diverged=False, depth=3,
                         n_hidden=1024, n_train=50000, n_test=10000))  # fmt: skip
    return pd.DataFrame(rows)


def test_selection_picks_the_lowest_validation_error_per_activation_variant_seed():
    table = _fake_members(np.random.default_rng(7))
    table.loc[3, "valid_error"] = np.nan  # a member that diverged at once is never selected
    marked = mark_selected(table)
    for key, group in marked.groupby(["activation", "variant", "seed"]):
        chosen = group[group["selected"]]
        assert len(chosen) == 1, key
        assert chosen["valid_error"].iloc[0] == group["valid_error"].min()  # min skips NaN
    assert marked["selected"].sum() == 2 * 3 * 2
    assert not marked.loc[3, "selected"]


def test_summary_matches_a_hand_computation_and_table_2():
    table = _fake_members(np.random.default_rng(11))
    summary = summarize(table, load_reference(None)).set_index(["activation", "variant"])
    assert len(summary) == 6
    for (act, variant), row in summary.iterrows():
        cell = table[(table.activation == act) & (table.variant == variant)]
        best = cell.loc[cell.groupby("seed")["valid_error"].idxmin()]
        p = best["test_error"].mean()
        assert row["test_error"] == pytest.approx(p)
        assert row["test_ci95"] == pytest.approx(1.96 * math.sqrt(p * (1 - p) / 10000))
        assert row["test_error_std"] == pytest.approx(best["test_error"].std(ddof=1))
        assert row["n_seeds"] == 2
    published = {("sigmoid", "plain"): 0.0160, ("sigmoid", "dropout"): 0.0135,
                 ("relu", "dropout"): 0.0125, ("relu", "dropout-maxnorm"): 0.0106}  # fmt: skip
    for key, row in summary.iterrows():
        if key not in published:
            assert row["verdict"] == "no published row" and math.isnan(row["paper_test_error"])
            continue
        paper = published[key]
        assert row["paper_test_error"] == pytest.approx(paper)
        gap, reach = (
            abs(row["test_error"] - paper),
            row["test_ci95"] + 1.96 * math.sqrt(paper * (1 - paper) / 10000),
        )
        want = "within intervals" if gap <= reach else (
            "better" if row["test_error"] < paper else "worse")  # fmt: skip
        assert row["verdict"] == want
    assert summary.loc[("sigmoid", "plain"), "paper_net"] == "2 x 800"


def test_short_job_on_an_mnist_sample_learns_far_below_chance(mnist_dir, tmp_path):
    sizes = {"n_train": 1000, "n_valid": 300, "n_test": 500}
    build_dataset("mnist-full", seed=0, sizes=sizes, mnist_dir=mnist_dir, out_dir=tmp_path / "data")
    cfg = _cfg(depth=2, n_hidden=32, seeds=[3], lr=[0.1], momentum=0.5, batch_size=50,
               max_epochs=3, patience=3, max_norm=1.0)  # fmt: skip
    cfg["data"]["datasets"]["mnist-full"] = {**sizes, "params": {}}
    out = tmp_path / "relu"
    job, run = dropout_jobs(cfg)["relu"], RunSettings.from_config(cfg)
    table = run_dropout_job(job, run, tmp_path / "data" / "data.npz", out, log=lambda *a: None)
    assert list(table["variant"]) == ["plain", "dropout", "dropout-maxnorm"]
    errors = table[["train_error", "valid_error", "test_error"]].to_numpy()
    assert np.isfinite(errors).all() and (errors < 0.5).all()  # chance is 0.9
    assert table["selected"].all()  # one lr, one seed: every variant's only member
    assert (table["n_train"] == 1000).all() and (table["n_test"] == 500).all()
    record = json.loads((out / "record.json").read_text())
    assert record["kind"] == "dropout_study" and record["job_id"] == "dropout_study/relu"
    hist = pd.read_csv(out / "history.csv")
    assert set(hist["member_id"]) == set(table["member_id"])
    # predictions.npz: one uint8 class per test image and member, consistent with test_error
    with np.load(out / "predictions.npz") as pred:
        y = pred["y_test"]
        assert y.dtype == np.uint8 and y.shape == (500,)
        for mid, err in zip(table["member_id"], table["test_error"], strict=True):
            assert pred[mid].dtype == np.uint8 and pred[mid].shape == (500,)
            assert np.isclose((pred[mid] != y).mean(), err)
    # max-norm reached the engine for that member only: its hidden columns obey ||w|| <= c
    norms = {}
    for mid, variant in zip(table["member_id"], table["variant"], strict=True):
        params = torch.load(out / "weights" / f"{mid}.pt", weights_only=True)
        norms[variant] = max(float(w.norm(dim=0).max()) for w, _ in params[:-1])
    assert norms["dropout-maxnorm"] <= 1.0 + 1e-4
    assert norms["plain"] > 1.0 and norms["dropout"] > 1.0  # Glorot columns: about 1.4
