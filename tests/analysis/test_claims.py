"""Claims judged by their protocol (layerwise.analysis.claims) from a fabricated results table and
predictions over five seeds: supported, contradicted, the named exceptions, not tested; claim 4
from fabricated histories, claim 5 from fabricated gradient-norm histories, claims 6 and 6b from
fabricated deep-autoencoder files; the rule's writer."""

from __future__ import annotations

from itertools import product

import numpy as np
import pandas as pd
import pytest

from layerwise import layout
from layerwise.analysis.claims import (
    CLAIMS_COLUMNS,
    COMPARISON_COLUMNS,
    SelectedNets,
    Settings,
    judge_claims,
    load_predictions,
    write_claims,
)
from layerwise.analysis.verdicts import NOT_TESTED
from layerwise.report.claims_section import effect_text

N_TEST = 2000
SEEDS = (1, 2, 3, 4, 5)
METHODS = ("none", "ae", "dae", "rbm")


def default_error(depth: int, method: str, dropout: bool) -> float:
    """Deep random init worse, pretraining better, ae worst of the pretrained, dropout better."""
    if method == "none":
        err = 0.20 if depth >= 3 else 0.12
    else:
        err = 0.08 if method == "ae" else 0.05
    return err * (0.7 if dropout else 1.0)


def fake_run(root, depths=(1, 2, 3), error=default_error, train_error=0.0, with_files=True):
    """results.csv rows (one selected member per cell and seed) + predictions.npz per job."""
    rng = np.random.default_rng(7)
    y = rng.integers(0, 10, N_TEST)
    rows, paths = [], []
    for depth in depths:
        job = f"finetune/ds/d{depth}/all"
        preds = {layout.PREDICTIONS_LABELS: y.astype(np.uint8)}
        for method in METHODS:
            for dropout in (False, True):
                for seed in SEEDS:
                    mid = f"{method}.p.c0.do{int(dropout)}.s{seed}"
                    err = error(depth, method, dropout)
                    wrong = rng.random(N_TEST) < err  # binomial: seeds differ
                    preds[mid] = np.where(wrong, (y + 1) % 10, y).astype(np.uint8)
                    rows.append(dict(dataset="ds", depth=depth, pretraining=method,
                                     dropout=dropout, seed=seed, member_id=mid, job_id=job,
                                     train_error=train_error, test_error=wrong.mean(),
                                     diverged=False, selected=True))  # fmt: skip
        path = root / "results" / job / layout.PREDICTIONS
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **preds)
        paths.append(path)
    return pd.DataFrame(rows), paths if with_files else []


def verdicts(table: pd.DataFrame) -> dict[str, str]:
    return dict(zip(table["id"], table["verdict"], strict=True))


def test_predictions_load_as_correct_vectors_keyed_by_job_and_member(tmp_path):
    results, paths = fake_run(tmp_path, depths=(1,))
    correct = load_predictions(paths)
    assert len(correct) == len(results)
    for _, row in results.iterrows():
        got = correct[(row["job_id"], row["member_id"])]
        assert got.dtype == bool and np.isclose(1 - got.mean(), row["test_error"])


def test_claims_supported_on_the_lectures_pattern(tmp_path):
    results, paths = fake_run(tmp_path)
    table, comps = judge_claims(results, prediction_files=paths)
    v = verdicts(table)
    assert v["1"] == v["2"] == v["3"] == v["7"] == "supported", v
    assert v["4"] == v["5"] == v["6"] == v["6b"] == NOT_TESTED  # no history, no autoencoder
    notes = table.set_index("id")["note"]
    assert "history" in notes["4"] and "not enabled" in notes["6"]
    row = table.set_index("id").loc["2"]
    # primary: 3 methods at depth 3 without dropout (one data set); effect in pp
    assert row["n_primary"] == 3 and row["n_for"] == 3 and row["min_seeds"] == 5
    assert row["ci_low"] < row["effect"] < row["ci_high"] < 0 and -16 < row["effect"] < -11
    assert row["n_secondary"] == 3 * 5  # depths 1-2 without dropout, 1-3 with: 5 cells x 3
    assert table.set_index("id").loc["1", "n_primary"] == 1  # none d3 vs none d1
    assert table.set_index("id").loc["1", "effect"] > 0  # deep random init errs more
    assert list(table.columns) == list(CLAIMS_COLUMNS)
    assert list(comps.columns) == list(COMPARISON_COLUMNS)
    primary = comps[(comps["claim"] == "2") & (comps["role"] == "primary")]
    assert set(primary["condition"]) == {"ae on ds", "dae on ds", "rbm on ds"}
    assert primary["mcnemar"].str.startswith("A lower in 5").all()  # every seed, per-seed check


def test_a_method_that_hurts_on_one_data_set_is_named(tmp_path):
    def error(depth, method, dropout):
        return 0.20 if method in ("none", "rbm") else 0.08

    results, paths = fake_run(tmp_path, error=error)
    row = judge_claims(results, prediction_files=paths)[0].set_index("id").loc["2"]
    assert row["verdict"] == "supported except" and row["n_for"] == 2
    assert "no detectable effect: rbm on ds" in row["exceptions"]


def test_pretraining_that_hurts_contradicts_claim_2(tmp_path):
    def error(depth, method, dropout):
        return 0.10 if method == "none" else 0.16

    results, paths = fake_run(tmp_path, error=error)
    table = judge_claims(results, prediction_files=paths)[0]
    v = verdicts(table)
    assert v["2"] == "contradicted"
    assert v["7"] != "supported"  # the nets overfit (gap 0.10), but dropout changes nothing


def test_random_init_nets_stuck_at_chance_enter_the_claims_diverged_ones_do_not(tmp_path):
    """A net that backprop leaves at chance is not selected (the report shows "failed"), but the
    claims compare it with its measured error; a diverged one has none and drops out."""
    results, paths = fake_run(tmp_path)
    stuck = (results["pretraining"] == "none") & (results["depth"] == 3)
    chance = results.assign(selected=~stuck, fail_reason=np.where(stuck, "chance", ""),
                            test_error=np.where(stuck, 0.9, results["test_error"]))  # fmt: skip
    # a second, also-at-chance candidate of each stuck net, ranked lower on validation
    worse = chance[stuck].assign(member_id=lambda t: t["member_id"] + "b", test_error=0.95)
    chance = pd.concat([chance.assign(valid_error=0.5), worse.assign(valid_error=0.6)])
    table, comps = judge_claims(chance)
    primary = comps[(comps["claim"] == "2") & (comps["role"] == "primary")]
    assert len(primary) == 3 and (primary["outcome"] == "for").all()
    pretrained = results[~stuck].query("depth == 3 and not dropout and pretraining != 'none'")
    expected = 100 * (pretrained.groupby("pretraining")["test_error"].mean() - 0.9)
    got = primary.set_index(primary["a"].str.split().str[0])["effect"]
    assert np.allclose(got.loc[expected.index], expected)  # the first-ranked one (0.9, not 0.95)
    diverged = chance.assign(diverged=np.where(chance["fail_reason"] == "chance", True, False))
    table, comps = judge_claims(diverged)
    assert comps[(comps["claim"] == "2") & (comps["role"] == "primary")].empty
    assert verdicts(table)["2"] == NOT_TESTED


def test_the_test_images_sampling_error_floors_a_comparison(tmp_path):
    """Paired (from predictions) or unpaired binomial (from n_test) sampling error of a difference
    of error rates, per seed, is the floor of a comparison's standard error."""
    results, paths = fake_run(tmp_path, depths=(3,))
    nets = SelectedNets(results, load_predictions(paths))
    cell = ("ds", 3, "ae", False), ("ds", 3, "none", False)
    rows = nets.pairs(*cell)
    variances = []
    for ra, rb in rows:
        ca = nets.correct[(ra["job_id"], ra["member_id"])]
        cb = nets.correct[(rb["job_id"], rb["member_id"])]
        d = (~ca).astype(float) - (~cb).astype(float)  # per image: A wrong minus B wrong
        variances.append(d.var() / d.size)
    assert nets.sampling_se(rows) == pytest.approx(100 * np.sqrt(np.mean(variances) / len(rows)))
    unpaired = SelectedNets(results.assign(n_test=N_TEST))  # no predictions: binomial
    p = [(float(a["test_error"]), float(b["test_error"])) for a, b in rows]
    expected = 100 * np.sqrt(np.mean([a * (1 - a) / N_TEST + b * (1 - b) / N_TEST
                                      for a, b in p]) / len(p))  # fmt: skip
    assert unpaired.sampling_se(unpaired.pairs(*cell)) == pytest.approx(expected)
    assert SelectedNets(results).sampling_se(rows) == 0.0  # neither recorded: no floor
    # two seeds whose differences agree to the digit: the interval is not a point
    same = results[results["seed"] <= 2].assign(test_error=lambda t: np.where(
        t["pretraining"] == "none", 0.067, 0.040), n_test=10000)  # fmt: skip
    comps = judge_claims(same)[1].set_index("label")
    row = comps.loc["ds: ae d3 vs none d3"]
    assert row["ci_low"] < row["effect"] < row["ci_high"] and row["outcome"] == "neither"


def test_shallow_profile_has_no_primary_and_says_so(tmp_path):
    results, paths = fake_run(tmp_path, depths=(1, 2), train_error=0.5)
    table, comps = judge_claims(results, prediction_files=paths)
    v = verdicts(table)
    assert set(v.values()) == {NOT_TESTED}
    note = table.set_index("id").loc["2", "note"]
    assert "no primary comparison" in note and "depth 3" in note and "secondary" in note
    assert len(comps[comps["claim"] == "2"]) == 2 * 2 * 3  # still tested as secondaries
    # the primary depth is a setting: at depth 2 the claims are judged
    v2 = verdicts(judge_claims(results, prediction_files=paths,
                               settings=Settings(primary_depth=2))[0])  # fmt: skip
    assert v2["2"] == "supported" and v2["7"] == NOT_TESTED  # training error 0.5: no overfit
    # a run where every member diverged (nothing selected): every claim untested, no crash
    diverged = results.assign(selected=False, diverged=True)
    all_diverged = judge_claims(diverged, prediction_files=paths)[0].set_index("id")
    assert set(all_diverged["verdict"]) == {NOT_TESTED}
    for cid in ("1", "2", "3", "4", "7"):  # the note says why: divergence, not the profile
        assert all_diverged.loc[cid, "note"].startswith("not judged: every member diverged")


def test_verdicts_need_no_predictions_only_the_mcnemar_check_does(tmp_path):
    results, paths = fake_run(tmp_path)
    with_files, comps = judge_claims(results, prediction_files=paths)
    without, bare = judge_claims(results)
    assert verdicts(with_files) == verdicts(without)
    assert (bare["mcnemar"].fillna("") == "").all() and (comps["mcnemar"] != "").any()


def learning_history(results: pd.DataFrame, worse: dict) -> pd.DataFrame:
    """Per selected member: training error falls to about 0 over 10 epochs; validation error at
    each epoch is 0.05 + 0.5 x training error, plus ``worse[method]`` (a method that generalises
    worse at the same fit)."""
    rows = []
    for r in results.to_dict("records"):
        extra = worse.get(r["pretraining"], 0.0)
        for epoch in range(1, 11):
            train = max(0.0, 0.3 - 0.03 * epoch) + 0.001 * r["seed"]
            rows.append(dict(job_id=r["job_id"], member_id=r["member_id"], epoch=epoch,
                             train_error=train, valid_error=0.05 + 0.5 * train + extra
                             + 0.002 * np.sin(r["seed"] * epoch)))  # fmt: skip
    return pd.DataFrame(rows)


def test_claim4_compares_validation_error_at_matched_training_error(tmp_path):
    results, paths = fake_run(tmp_path)
    row = judge_claims(results, history=learning_history(results, {"none": 0.04}))[0]
    four = row.set_index("id").loc["4"]
    assert four["verdict"] == "supported" and four["effect"] == pytest.approx(-4.0, abs=0.3)
    worse = {"none": 0.04, "ae": 0.08}  # ae generalises worse than none: against, for ae
    four = judge_claims(results, history=learning_history(results, worse))[0].set_index("id")
    assert four.loc["4", "verdict"] == "supported except"
    assert "opposite effect: ae on ds" in four.loc["4", "exceptions"]


def test_write_claims_writes_both_tables(tmp_path):
    results, paths = fake_run(tmp_path)
    (tmp_path / "results.csv").write_text(results.to_csv(index=False))
    learning_history(results, {"none": 0.04}).to_csv(tmp_path / "history.csv", index=False)
    out = {"out_claims": tmp_path / "c.csv", "out_comparisons": tmp_path / "k.csv"}
    table = write_claims(results_csv=tmp_path / "results.csv",
                         history_csv=tmp_path / "history.csv", prediction_files=paths,
                         autoencoder_files=[], claims={"primary_depth": 3}, baseline="fan-in",
                         **out)  # fmt: skip
    back = pd.read_csv(tmp_path / "c.csv", dtype={"id": str}, keep_default_na=False)
    assert list(back["verdict"]) == list(table["verdict"])
    assert back.set_index("id").loc["2", "baseline"] == "fan-in"
    assert len(pd.read_csv(tmp_path / "k.csv")) > 8


# --- claim 5: vanishing gradients, from fabricated histories ------------------------------------


def grad_history(log_ratio, depths=(1, 2, 3), seeds=(1, 2, 3), n_epochs=8, later=None):
    """Selected-member history (figures.selected_history's columns) of random-init members whose
    log10(grad_norm_l1 / grad_norm_l{depth+1}) is ``log_ratio(depth, seed)`` in the first 5
    epochs and ``later(depth, seed)`` afterwards (default: the same); pretrained members get the
    opposite ratio, so that they must be left out."""
    rows = []
    for depth, seed, method, epoch in product(
        depths, seeds, ("none", "rbm"), range(1, n_epochs + 1)
    ):
        r = log_ratio(depth, seed) if epoch <= 5 or later is None else later(depth, seed)
        r = r if method == "none" else -r
        row = dict(
            dataset="ds",
            depth=depth,
            seed=seed,
            pretraining=method,
            dropout=False,
            member_id=f"{method}.s{seed}",
            job_id=f"finetune/ds/d{depth}/all",
            epoch=epoch,
        )
        for layer in range(1, max(depths) + 2):  # geometric in the layer: l1 = out * 10^r
            norm = 0.5 * 10 ** (r * (depth + 1 - layer) / depth)
            row[f"grad_norm_l{layer}"] = norm if layer <= depth + 1 else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def claim(table: pd.DataFrame, cid: str) -> pd.Series:
    return table.set_index("id").loc[cid]


def judge_grads(tmp_path, history):
    results, _ = fake_run(tmp_path, depths=(1,), with_files=False)
    return judge_claims(results, history=history)[0]


def noise(depth, seed):
    return 0.02 * np.sin(7 * depth + 3 * seed)  # deterministic, not constant across seeds


def test_claim5_supported_when_the_first_layer_gradient_vanishes_with_depth(tmp_path):
    table = judge_grads(tmp_path, grad_history(lambda d, s: -0.4 * d + noise(d, s)))
    row = claim(table, "5")
    assert row["verdict"] == "supported", row.to_dict()
    assert row["n_primary"] == 1 and row["n_secondary"] == 2  # the slope; depths 2 and 3
    assert row["ci_low"] < row["effect"] < row["ci_high"] < 0
    assert row["effect"] == pytest.approx(-0.4, abs=0.03)  # the slope, log10 per added layer
    assert row["unit"] == "log10/layer" and "log10/layer [" in effect_text(row)


def test_claim5_contradicted_when_the_gradient_grows_inputwards(tmp_path):
    table = judge_grads(tmp_path, grad_history(lambda d, s: 0.3 * d + noise(d, s)))
    row = claim(table, "5")
    assert row["verdict"] == "contradicted" and row["n_against"] == 1
    assert row["effect"] > 0


def test_claim5_no_trend_is_not_support_even_when_small_at_every_depth(tmp_path):
    table = judge_grads(tmp_path, grad_history(lambda d, s: -1.0 + noise(d, s)))
    row = claim(table, "5")
    # below 1 at every depth (secondary), but no trend (the primary): no detectable effect
    assert row["verdict"] == "mixed" and row["n_for"] == 0 and row["n_against"] == 0
    assert row["exceptions"] == "no detectable effect: ds"


def test_claim5_reads_only_the_first_epochs_and_needs_seeds(tmp_path):
    later = grad_history(lambda d, s: -0.4 * d + noise(d, s), later=lambda d, s: 0.5 * d)
    assert claim(judge_grads(tmp_path, later), "5")["verdict"] == "supported"
    one_seed = grad_history(lambda d, s: -0.4 * d, seeds=(1,))
    assert claim(judge_grads(tmp_path, one_seed), "5")["verdict"] == "underpowered"  # no spread


def test_claim5_not_tested_with_one_depth_or_without_gradient_norms(tmp_path):
    shallow = judge_grads(tmp_path, grad_history(lambda d, s: -0.4 * d, depths=(2,)))
    assert claim(shallow, "5")["verdict"] == NOT_TESTED
    assert "fewer than 2 depths" in claim(shallow, "5")["note"]
    hist = grad_history(lambda d, s: -0.4 * d)
    no_norms = judge_grads(tmp_path, hist.drop(columns=[c for c in hist if "grad_norm" in c]))
    assert claim(no_norms, "5")["verdict"] == NOT_TESTED
    assert "record_grad_norms: false" in claim(no_norms, "5")["note"]


# --- claims 6 and 6b: deep autoencoder vs PCA, from fabricated study files ----------------------


def write_autoencoder(
    root, errors, seeds=(1, 2), codes=(30, 2), n_test=1000, recons=True, diverged=()
):
    """code{n}/summary.csv with the given mean test errors per (variant, seed) and recons.npz
    whose 10 digits have per-image errors near them. errors: {"pre"|"rand": f(code, seed),
    "pca": f(code)}. Returns the summary.csv paths (what the report rule lists)."""
    rng = np.random.default_rng(0)
    paths = []
    for code in codes:
        folder = root / f"code{code}"
        folder.mkdir(parents=True, exist_ok=True)
        rows = [
            dict(
                member_id="pca",
                method="pca",
                code_size=code,
                pretrained=False,
                seed=0,
                test_mse_per_image=errors["pca"](code),
                diverged=False,
                n_test=n_test,
            )
        ]
        for tag, pre in (("pre", True), ("rand", False)):
            rows += [
                dict(
                    member_id=f"deep-ae.{tag}.s{s}",
                    method="deep-ae",
                    code_size=code,
                    pretrained=pre,
                    seed=s,
                    test_mse_per_image=errors[tag](code, s),
                    diverged=(tag, s) in diverged,
                    n_test=n_test,
                )
                for s in seeds
            ]
        pd.DataFrame(rows).to_csv(folder / "summary.csv", index=False)
        if recons:
            x = rng.uniform(0, 1, (10, 784)).astype(np.float32)

            def near(err, k, x=x):  # k reconstructions of x, squared error about err per image
                scale = np.sqrt(err / 784) * rng.uniform(0.8, 1.2, (k, 10, 1))
                return (x + scale * rng.choice([-1.0, 1.0], (k, 10, 784))).astype(np.float32)

            np.savez(
                folder / "recons.npz",
                x=x,
                labels=np.arange(10),
                seeds=np.array(seeds),
                pca=near(errors["pca"](code), 1)[0],
                ae_pretrained=np.stack([near(errors["pre"](code, s), 1)[0] for s in seeds]),
                ae_random=np.stack([near(errors["rand"](code, s), 1)[0] for s in seeds]),
            )
        paths.append(folder / "summary.csv")
    return paths


def judge_autoencoder(tmp_path, files):
    results, _ = fake_run(tmp_path, depths=(1,), with_files=False)
    return judge_claims(results, autoencoder_files=files)[0]


def hinton(code, seed=0):  # published pattern: deep AE 3.0, PCA 13.9, random init much worse
    return {"pre": 3.0 + 0.1 * seed, "rand": 26.0 + 0.5 * seed, "pca": 13.9}


def test_claim6_supported_on_the_published_pattern(tmp_path):
    errors = {k: (lambda c, s=0, k=k: hinton(c, s)[k]) for k in ("pre", "rand", "pca")}
    table = judge_autoencoder(tmp_path, write_autoencoder(tmp_path / "ae", errors))
    six, six_b = claim(table, "6"), claim(table, "6b")
    assert six["verdict"] == six_b["verdict"] == "supported", (six.to_dict(), six_b.to_dict())
    assert six["n_primary"] == 1 and six["n_secondary"] == 1  # code 30 decides, code 2 names
    assert six["effect"] == pytest.approx(3.15 - 13.9)  # mean over seeds 1, 2
    assert six["ci_low"] < six["effect"] < six["ci_high"] < 0
    assert six_b["effect"] == pytest.approx(3.15 - 26.75)
    assert "sq. error/image" in effect_text(six)


def test_claim6_contradicted_when_pca_wins_and_underpowered_without_spread(tmp_path):
    errors = {
        "pre": lambda c, s: 20.0 + 0.1 * s,
        "rand": lambda c, s: 21.0 + 0.1 * s,
        "pca": lambda c: 10.0,
    }
    table = judge_autoencoder(tmp_path, write_autoencoder(tmp_path / "a", errors))
    assert claim(table, "6")["verdict"] == "contradicted"
    # one seed and no recons.npz: no interval can be estimated, so no verdict either way
    files = write_autoencoder(tmp_path / "b", errors, seeds=(1,), recons=False)
    row = claim(judge_autoencoder(tmp_path, files), "6")
    assert row["verdict"] == "underpowered" and "no interval" in effect_text(row)
    # two seeds and no recons.npz: the interval is over seeds
    files = write_autoencoder(tmp_path / "c", errors, recons=False)
    assert claim(judge_autoencoder(tmp_path, files), "6")["verdict"] == "contradicted"


def test_claim6_not_tested_without_the_study_and_diverged_members_drop_out(tmp_path):
    table = judge_autoencoder(tmp_path, None)
    assert claim(table, "6")["verdict"] == claim(table, "6b")["verdict"] == NOT_TESTED
    assert "deep_autoencoder" in claim(table, "6")["note"]
    errors = {k: (lambda c, s=0, k=k: hinton(c, s)[k]) for k in ("pre", "rand", "pca")}
    files = write_autoencoder(tmp_path / "d", errors, diverged={("rand", 1), ("rand", 2)})
    table = judge_autoencoder(tmp_path, files)
    assert claim(table, "6")["verdict"] == "supported"
    assert claim(table, "6b")["verdict"] == NOT_TESTED  # no random-init partner left
