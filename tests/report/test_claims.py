"""Claims from a fabricated results table and predictions: supported, contradicted, not tested;
the section rendered; build_report puts it right after the summary and writes claims.csv."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from layerwise import layout
from layerwise.report.claims import NOT_TESTED, judge_claims, load_predictions
from layerwise.report.claims_section import MAX_SUMMARY_SENTENCES, claims_section

N_TEST = 2000
SEEDS = (1, 2)
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
                    wrong = rng.permutation(N_TEST) < round(err * N_TEST)
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
    table, judged = judge_claims(results, paths, n_boot=300)
    v = verdicts(table)
    assert v["1"] == v["2"] == v["3"] == v["4"] == v["7"] == "supported", v
    assert v["5"] == v["6"] == NOT_TESTED and table.loc[table["id"] == "5", "note"].item()
    row = table.set_index("id").loc["2"]
    # 3 methods x 3 depths x 2 dropout settings; effect about -(0.12..0.20 - 0.05..0.08)
    assert row["n_comparisons"] == 18 and row["ci_low"] < row["effect"] < row["ci_high"] < 0
    assert table.set_index("id").loc["1", "n_comparisons"] == 2 * 2  # d3 vs d1, d2; 2 dropouts
    assert table.set_index("id").loc["1", "effect"] > 0  # deep random init errs more
    assert list(table.columns[:5]) == ["id", "statement", "measure", "figure", "note"]


def test_pretraining_that_hurts_contradicts_claim_2(tmp_path):
    def error(depth, method, dropout):
        return 0.10 if method == "none" else 0.16

    results, paths = fake_run(tmp_path, error=error)
    v = verdicts(judge_claims(results, paths, n_boot=200)[0])
    assert v["2"] == "contradicted"
    assert v["3"] == "inconclusive"  # ae equal to rbm/dae: no evidence either way
    assert v["1"] == "inconclusive"  # deep equal to shallow: the interval straddles zero
    assert v["7"] == "inconclusive"  # the nets overfit (gap 0.10), but dropout changes nothing


def test_shallow_profile_and_missing_predictions_are_not_tested(tmp_path):
    results, paths = fake_run(tmp_path, depths=(1, 2), train_error=0.5)
    table, _ = judge_claims(results, paths, n_boot=200)
    v = verdicts(table)
    assert v["1"] == NOT_TESTED and "depth >= 3" in table.set_index("id").loc["1", "note"]
    assert v["7"] == NOT_TESTED  # training error above test error: nothing overfits
    assert v["2"] == "supported"
    none = judge_claims(results, [], n_boot=200)[0]
    assert set(none["verdict"]) == {NOT_TESTED}
    assert (none["note"] != "").all()
    # a run where every member diverged (nothing selected): every claim untested, no crash
    diverged = results.assign(selected=False, diverged=True)
    assert set(judge_claims(diverged, paths, n_boot=200)[0]["verdict"]) == {NOT_TESTED}


@pytest.mark.parametrize("figures", [{"error_vs_depth"}, set()])
def test_section_renders_verdicts_effects_and_links(tmp_path, figures):
    results, paths = fake_run(tmp_path, depths=(1, 2))
    table, _ = judge_claims(results, paths, n_boot=200)
    section = claims_section(table, figures)
    html = "\n".join(b for b in section.blocks if isinstance(b, str))
    assert section.id == "claims" and html.count("<tr>") == 1 + len(table)
    assert "supported" in html and NOT_TESTED in html and " pp [" in html
    assert ('href="#fig-error_vs_depth"' in html) == bool(figures)
    assert 'href="#fig-bias_variance"' not in html
    summary = section.blocks[0]
    assert 1 <= summary.count(". ") + 1 <= MAX_SUMMARY_SENTENCES


def test_build_report_places_claims_after_summary_and_writes_csv(fake_tree, tmp_path):
    from layerwise.report.build import build_report

    results = pd.read_csv(fake_tree["results_csv"])
    rng = np.random.default_rng(3)
    paths = []
    for job, part in results.groupby("job_id"):
        n = int(part["n_test"].iloc[0])
        y = rng.integers(0, 10, n)
        preds = {layout.PREDICTIONS_LABELS: y.astype(np.uint8)}
        for mid, err in zip(part["member_id"], part["test_error"].fillna(0.9), strict=True):
            wrong = rng.random(n) < err
            preds[mid] = np.where(wrong, (y + 3) % 10, y).astype(np.uint8)
        paths.append(tmp_path / "results" / job / layout.PREDICTIONS)
        paths[-1].parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(paths[-1], **preds)
    out = tmp_path / "out"
    build_report(**fake_tree, reference_csv=None, out_html=out / "r.html", out_pdf=None,
                 figures_dir=out / "f", prediction_files=paths,
                 claims_csv=out / "claims.csv")  # fmt: skip
    html = (out / "r.html").read_text(encoding="utf-8")
    order = [html.index(f'<section id="{s}">') for s in ("summary", "claims", "tables")]
    assert order == sorted(order)
    claims = pd.read_csv(out / "claims.csv", keep_default_na=False)
    assert len(claims) == 7 and claims.set_index("id").loc[2, "verdict"] == "supported"
    assert 'href="#fig-error_vs_depth"' in html and 'id="fig-error_vs_depth"' in html
