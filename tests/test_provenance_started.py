"""provenance.json records when the study's jobs started (the report showed "started unknown")."""

from __future__ import annotations

import json
from pathlib import Path

from test_tracking import FT1, FT2, PRETRAIN, make_results_tree

from layerwise import provenance
from layerwise.studies.collect import write_study_tables


def test_earliest_of_time_stamps():
    stamps = ["2026-01-02T03:04:05+00:00", None, "2026-01-02T01:00:00+00:00"]
    stamps.append("2026-01-02T02:30:00Z")
    assert provenance.earliest(stamps) == "2026-01-02T01:00:00+00:00"
    assert provenance.earliest([None, ""]) is None


def test_provenance_json_holds_the_earliest_job_start(tmp_path: Path):
    root = tmp_path / "results"
    make_results_tree(root)
    record = root / FT2 / "record.json"
    early = json.loads(record.read_text()) | {"started": "2026-01-01T00:00:01+00:00"}
    record.write_text(json.dumps(early))
    out = tmp_path / "out"
    write_study_tables(
        {"finetune": {"tie_break": "first"}},
        [root / FT1, root / FT2],
        [root / d / "record.json" for d in (PRETRAIN, FT1, FT2)],
        out / "results.csv",
        out / "history.csv",
        out / "provenance.json",
    )
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["started"] == "2026-01-01T00:00:01+00:00"
    assert prov["finished"] >= prov["started"]
