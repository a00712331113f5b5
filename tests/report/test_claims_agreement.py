"""Two runs' claims tables joined claim by claim (layerwise.report.claims_agreement)."""

from __future__ import annotations

import pandas as pd
import pytest

from layerwise.report import claims_agreement as ca


def _claims(path, verdicts: dict[str, str], effect: float = -0.02):
    rows = [
        {"id": cid, "statement": f"claim {cid}", "measure": "", "figure": "", "note": "",
         "unit": "pp", "verdict": v, "n_comparisons": 4, "n_for": 3, "n_against": 1,
         "effect": effect, "ci_low": effect - 0.01, "ci_high": effect + 0.01, "weakest": ""}
        for cid, v in verdicts.items()
    ]  # fmt: skip
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_agreement_marks_each_claim(tmp_path):
    a = _claims(tmp_path / "a.csv", {"1": "supported", "2": "contradicted", "6b": "supported"})
    b = _claims(tmp_path / "b.csv", {"1": "supported", "2": "supported", "7": "supported"})
    table = ca.agreement(ca.read_claims(a), ca.read_claims(b)).set_index("id")
    assert bool(table.loc["1", "agree"]) and not bool(table.loc["2", "agree"])
    assert not bool(table.loc["6b", "agree"]) and not bool(table.loc["7", "agree"])  # one-sided


def test_markdown_names_runs_effects_and_count(tmp_path):
    a = _claims(tmp_path / "a.csv", {"1": "supported", "2": "contradicted"})
    b = _claims(tmp_path / "b.csv", {"1": "supported", "2": "supported"}, effect=0.01)
    out = tmp_path / "t.md"
    assert ca.main([str(a), str(b), "--names", "main", "study", "--out", str(out)]) == 0
    text = out.read_text()
    assert "main: verdict" in text and "study: verdict" in text
    assert "-2.00 pp [-3.00, -1.00]" in text and "+1.00 pp" in text
    assert "| **no** |" in text and "Verdicts agree on 1 of 2 claims." in text


def test_csv_out_and_bad_input(tmp_path, capsys):
    a = _claims(tmp_path / "a.csv", {"1": "supported"})
    out = tmp_path / "t.csv"
    assert ca.main([str(a), str(a), "--out", str(out)]) == 0
    assert pd.read_csv(out)["agree"].tolist() == [True]
    assert ca.main([str(a), str(tmp_path / "missing.csv")]) == 2
    assert "no such claims table" in capsys.readouterr().err
    (tmp_path / "bad.csv").write_text("x,y\n1,2\n")
    with pytest.raises(ValueError, match="not a claims table"):
        ca.read_claims(tmp_path / "bad.csv")
