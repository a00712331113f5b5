"""docs/claims.md and layerwise.analysis.protocol state the same protocol: every claim has a row
with its statement, delta (in its unit) and margin; the defaults of the rule match the schema's."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerwise.analysis import claims as claims_module
from layerwise.analysis.protocol import CLAIMS
from layerwise.config import load_schema

DOC = (Path(__file__).resolve().parents[2] / "docs" / "claims.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_every_claim_has_its_row_with_delta_and_margin(claim):
    rows = [line for line in DOC.splitlines() if line.startswith(f"| {claim.id}. ")]
    assert len(rows) == 1, f"docs/claims.md needs one protocol row for claim {claim.id}"
    cells = [c.strip() for c in rows[0].strip("|").split("|")]
    assert cells[0] == f"{claim.id}. {claim.statement.split(':')[0]}"
    unit = "pp" if claim.unit == "pp" else claim.unit
    assert cells[5] == f"{claim.delta:g} {unit}"
    assert cells[6] == (f"{claim.margin:g} {unit}" if claim.margin else "")
    assert cells[4] == ("A not better" if claim.direction == "a_not_better" else cells[4])


def test_the_rule_defaults_match_the_schema():
    props = load_schema()["properties"]["claims"]["properties"]
    assert props["primary_depth"]["default"] == claims_module.PRIMARY_DEPTH
    assert props["overfit_gap"]["default"] == claims_module.OVERFIT_GAP
    assert props["alpha"]["default"] == claims_module.ALPHA
    assert props["power_target"]["default"] == claims_module.POWER_TARGET
