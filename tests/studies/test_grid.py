"""Grid expansion: every cell x candidate x seed appears exactly once, in the right job."""

import itertools
from pathlib import Path

import pytest

from layerwise.config import ConfigError, deep_merge, load_config, validate_config
from layerwise.studies.depth_table import pretrain_settings
from layerwise.studies.grid import finetune_jobs, pretrain_candidates, pretrain_jobs, scaled_epochs

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cfg():
    return load_config(ROOT / "config" / "smoke.yaml")


def test_pretrain_candidates_are_the_product_of_lists(cfg):
    cfg = deep_merge(
        cfg, {"pretrain": {"dae": {"lr": [0.1, 0.01], "corruption_level": [0.1, 0.25, 0.5]}}}
    )
    cands = pretrain_candidates(cfg, "dae")
    assert len(cands) == 6
    assert {(c["lr"], c["corruption_level"]) for c in cands} == set(
        itertools.product([0.1, 0.01], [0.1, 0.25, 0.5])
    )
    assert pretrain_candidates(cfg, "none") == [{}]


def test_every_member_once_and_shapes_shared_within_a_job(cfg):
    jobs = finetune_jobs(cfg)
    g = cfg["grid"]
    assert len(jobs) == len(g["datasets"]) * len(g["depths"]) * len(cfg["model"]["n_hidden"])
    expected = (
        len(g["pretraining"]) * len(cfg["finetune"]["lr"]) * len(g["dropout"]) * len(g["seeds"])
    )
    for job in jobs:
        ids = [m.member_id for m in job.members]
        assert len(ids) == len(set(ids)) == expected
        assert {m.pretraining for m in job.members} == set(g["pretraining"])


def test_members_reference_existing_pretraining_jobs(cfg):
    paths = {j.path for j in pretrain_jobs(cfg)}
    for job in finetune_jobs(cfg):
        assert set(job.pretrain_paths) <= paths
        for m in job.members:
            assert job.members and 0 <= m.seed_index < len(cfg["grid"]["seeds"])


def test_grain_per_method_splits_jobs_without_losing_members(cfg):
    fine = deep_merge(cfg, {"grid": {"grain": "dataset-depth-method"}})
    coarse_ids = {m.member_id for j in finetune_jobs(cfg) for m in j.members}
    fine_jobs = finetune_jobs(fine)
    assert len(fine_jobs) == len(finetune_jobs(cfg)) * len(cfg["grid"]["pretraining"])
    assert {m.member_id for j in fine_jobs for m in j.members} == coarse_ids
    for job in fine_jobs:
        assert len({m.pretraining for m in job.members}) == 1


def test_pretraining_stack_is_as_deep_as_the_deepest_net(cfg):
    for job in pretrain_jobs(cfg):
        assert job.n_layers == max(cfg["grid"]["depths"])
        assert job.seeds == tuple(cfg["grid"]["seeds"])


def test_budgets_in_updates_scale_epochs_by_training_set_size(cfg):
    """With budget_reference_n, rectangles (300 examples in smoke) trains 500 / 300 times the
    epochs of a 500-example set: the same number of updates."""
    cfg = deep_merge(cfg, {"pretrain": {"budget_reference_n": 500},
                           "finetune": {"budget_reference_n": 500, "min_epochs": 3}})  # fmt: skip
    sizes = {d: cfg["data"]["datasets"][d]["n_train"] for d in cfg["grid"]["datasets"]}
    assert sizes == {"mnist-basic": 500, "rectangles": 300}
    budgets = {j.dataset: j.settings for j in finetune_jobs(cfg)}
    assert budgets["mnist-basic"].max_epochs == 10 and budgets["rectangles"].max_epochs == 17
    assert budgets["mnist-basic"].patience == 3 and budgets["rectangles"].patience == 5
    assert budgets["rectangles"].min_epochs == 5
    epochs = {(j.dataset, j.method): j.settings.get("epochs") for j in pretrain_jobs(cfg)}
    assert epochs[("mnist-basic", "rbm")] == 2 and epochs[("rectangles", "rbm")] == 3
    # the job ids name the configured candidate, the members carry the effective epochs
    rect = next(j for j in finetune_jobs(cfg) if j.dataset == "rectangles")
    rbm = next(m for m in rect.members if m.pretraining == "rbm")
    assert rbm.pretrain_id.endswith("-e2-k1") and rbm.pretrain_settings["epochs"] == 3
    assert scaled_epochs(0, 300, 500) == 0 and scaled_epochs(4, 300, None) == 4


def test_halving_rungs_scale_and_groups_are_the_selection_groups(cfg):
    """Rungs count like max_epochs; a member races only the members of its selection group
    (same method, dropout and seed: they differ only in the fine-tuning candidate)."""
    cfg = deep_merge(cfg, {"finetune": {"budget_reference_n": 500, "halving": {"rungs": [2, 4]}}})
    budgets = {j.dataset: j.settings for j in finetune_jobs(cfg)}
    assert (
        budgets["mnist-basic"].halving_rungs == (2, 4) and budgets["mnist-basic"].halving_eta == 3
    )
    assert budgets["rectangles"].halving_rungs == (3, 7)  # 300 examples: 500/300 x the epochs
    job = finetune_jobs(cfg)[0]
    settings = job.settings
    groups = {}
    for m, g in zip(job.members, settings.halving_groups, strict=True):
        groups.setdefault(g, set()).add((m.pretraining, m.dropout, m.seed))
    assert all(len(v) == 1 for v in groups.values())  # one selection group per halving group
    n_groups = (
        len(cfg["grid"]["pretraining"]) * len(cfg["grid"]["dropout"]) * len(cfg["grid"]["seeds"])
    )
    assert len(groups) == n_groups
    assert len(job.members) == n_groups * len(cfg["finetune"]["lr"])
    off = finetune_jobs(deep_merge(cfg, {"finetune": {"halving": None}}))[0]
    assert off.settings.halving_groups is None


def test_output_lr_candidates_cross_lr_and_reach_the_engine(cfg):
    cfg = deep_merge(cfg, {"finetune": {"output_lr": [0.3, 1.0]}, "dropout": {"lr_scale": 10.0}})
    job = finetune_jobs(cfg)[0]
    g = cfg["grid"]
    n = len(g["pretraining"]) * len(cfg["finetune"]["lr"]) * 2 * len(g["dropout"]) * len(g["seeds"])
    assert len(job.members) == n
    plain = [m for m in job.members if not m.dropout]
    assert {m.output_lr for m in plain} == {0.3, 1.0}
    assert all("-out" in m.candidate for m in job.members)
    assert {m.output_lr for m in job.members if m.dropout} == {3.0, 10.0}  # x lr_scale
    settings = job.settings
    assert settings.output_lr == [m.output_lr for m in job.members]
    assert settings.blowup_factor == cfg["finetune"]["blowup_factor"] == 100
    off = finetune_jobs(deep_merge(cfg, {"finetune": {"output_lr": None}}))[0]
    assert off.settings.output_lr is None


def test_tie_break_reaches_the_engine_and_a_wrong_value_names_the_key(cfg):
    job = finetune_jobs(cfg)[0]
    assert cfg["finetune"]["tie_break"] == "valid_loss"  # the default
    assert job.settings.tie_break == "valid_loss"
    first = finetune_jobs(deep_merge(cfg, {"finetune": {"tie_break": "first"}}))[0]
    assert first.settings.tie_break == "first"
    with pytest.raises(ConfigError, match=r"finetune\.tie_break: 'last' is not allowed"):
        validate_config(deep_merge(cfg, {"finetune": {"tie_break": "last"}}))


def test_momentum_candidates_and_the_dropout_recipe(cfg):
    changes = {"lr_scale": 10.0, "momentum": 0.95, "max_norm": None}
    cfg = deep_merge(cfg, {"finetune": {"momentum": [0.0, 0.9]}, "dropout": changes})
    job = finetune_jobs(cfg)[0]
    plain = {(m.candidate, m.lr, m.momentum) for m in job.members if not m.dropout}
    drop = {(m.candidate, m.lr, m.momentum, m.max_norm) for m in job.members if m.dropout}
    assert ("h32-ft0.1-m0.9", 0.1, 0.9) in plain
    assert ("h32-ft0.1-m0", 0.1, 0.0) in plain
    assert ("h32-ft0.1-m0.9", 1.0, 0.95, float("inf")) in drop  # lr x 10, dropout momentum
    assert len(plain) == len(cfg["finetune"]["lr"]) * 2 * len(cfg["grid"]["pretraining"])


def test_per_dataset_settings_reach_only_that_data_sets_jobs(cfg):
    over = {
        "finetune": {"lr": [0.7], "max_epochs": 9},
        "pretrain": {"rbm": {"epochs": [3]}},
        "dropout": {"p_drop_hidden": 0.4},
    }
    merged = validate_config(deep_merge(cfg, {"per_dataset": {"rectangles": over}}))
    before = {j.path: j for j in finetune_jobs(cfg)}
    for job in finetune_jobs(merged):
        if job.dataset != "rectangles":
            assert job.settings == before[job.path].settings  # members included
            assert job.members == before[job.path].members
            continue
        assert {m.lr for m in job.members if not m.dropout} == {0.7}
        assert {m.p_drop_hidden for m in job.members if m.dropout} == {0.4}
        n_train = merged["data"]["datasets"]["rectangles"]["n_train"]
        ref = merged["finetune"]["budget_reference_n"]
        assert (
            job.settings.max_epochs
            == scaled_epochs(9, n_train, ref)
            != before[job.path].settings.max_epochs
        )
    rbm = {j.dataset: j.settings["epochs"] for j in pretrain_jobs(merged) if j.method == "rbm"}
    old = {j.dataset: j.settings["epochs"] for j in pretrain_jobs(cfg) if j.method == "rbm"}
    assert rbm["mnist-basic"] == old["mnist-basic"] and rbm["rectangles"] != old["rectangles"]


def test_none_init_names_its_stack_and_reaches_the_pretraining_job(cfg):
    default = {j.path: j for j in pretrain_jobs(cfg) if j.method == "none"}
    width = cfg["model"]["n_hidden"][0]
    assert default and {j.pretrain_id for j in default.values()} == {f"h{width}"}  # as before
    assert {pretrain_settings(j).init for j in default.values()} == {"glorot"}
    fan = validate_config(deep_merge(cfg, {"pretrain": {"none": {"init": "fan-in"}}}))
    jobs = [j for j in pretrain_jobs(fan) if j.method == "none"]
    assert len(jobs) == len(default)
    assert all(j.pretrain_id.endswith("-ifan-in") and j.path not in default for j in jobs)
    assert {pretrain_settings(j).init for j in jobs} == {"fan-in"}
    used = {p for j in finetune_jobs(fan) for p in j.pretrain_paths if "/none/" in p}
    assert used == {j.path for j in jobs}  # the random-init members start from those stacks
    others = {j.path for j in pretrain_jobs(cfg) if j.method != "none"}
    assert others == {j.path for j in pretrain_jobs(fan) if j.method != "none"}
    with pytest.raises(ConfigError, match=r"pretrain\.none\.init: 'xavier' is not allowed"):
        validate_config(deep_merge(cfg, {"pretrain": {"none": {"init": "xavier"}}}))


def test_primary_seeds_train_only_in_the_claims_primary_cells(cfg):
    """grid.primary_seeds: at claims.primary_depth every method without dropout and none with
    dropout, and none at depth 1 without dropout; every pretraining population holds them."""
    cfg = validate_config(deep_merge(cfg, {"grid": {"primary_seeds": [7, 8, 9]},
                                           "claims": {"primary_depth": 2}}))  # fmt: skip
    seeds = (1, 2, 7, 8, 9)
    assert all(job.seeds == seeds for job in pretrain_jobs(cfg))
    by_cell: dict[tuple, set] = {}
    for job in finetune_jobs(cfg):
        for m in job.members:
            by_cell.setdefault((job.depth, m.pretraining, m.dropout), set()).add(m.seed)
            assert seeds[m.seed_index] == m.seed  # the member starts from its own seed's stack
    for (depth, method, dropout), found in by_cell.items():
        primary = (depth == 2 and (not dropout or method == "none")) or (
            depth == 1 and method == "none" and not dropout)  # fmt: skip
        assert found == (set(seeds) if primary else {1, 2}), (depth, method, dropout)
    assert sum(found == set(seeds) for found in by_cell.values()) == 4 + 1 + 1
