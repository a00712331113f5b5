"""Two runs' claim verdicts side by side: does the main job answer as the full study does?

    python -m layerwise.report.claims_agreement results/claims.csv docs/study-run/claims.csv \
        --names "main job" "full study" --out docs/main-vs-study.md

Reads two ``claims.csv`` files (the same verdict rule: both from ``layerwise.analysis.claims``),
joins them on the claim id and writes a Markdown table: per claim, each run's verdict (with the
conditions it names), effect with its 95% interval (in the claim's unit), the primary comparisons
for / against, and whether the verdicts agree. A table of the earlier rule (``n_comparisons``,
error effects as fractions) is read as such, its effects converted to percentage points.
``--out`` ending in ``.csv`` writes the joined table as CSV instead. Exit status 0 whether or not
they agree; the table says. Never imports torch or mlflow.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from layerwise.files import write_text
from layerwise.report.claims_section import effect_text

COLUMNS = ("verdict", "exceptions", "effect", "ci_low", "ci_high", "n_primary", "n_for",
           "n_against")  # fmt: skip


def read_claims(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such claims table (a run writes results/claims.csv)")
    table = pd.read_csv(path, dtype={"id": str}, keep_default_na=False, na_values=[""])
    if "n_primary" not in table and "n_comparisons" in table:  # the earlier rule's table
        pp = table["unit"] == "pp"
        for col in ("effect", "ci_low", "ci_high"):
            table.loc[pp, col] = 100 * table.loc[pp, col].astype(float)
        table = table.rename(columns={"n_comparisons": "n_primary"})
    if "exceptions" not in table:
        table["exceptions"] = ""
    table["exceptions"] = table["exceptions"].fillna("")
    missing = [c for c in ("id", "statement", "unit", *COLUMNS) if c not in table.columns]
    if missing:
        raise ValueError(f"{path} is not a claims table: columns {missing} missing")
    return table


def agreement(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """One row per claim id found in either table: both runs' columns (suffixes _a, _b) and
    ``agree`` (same verdict; False where one run lacks the claim)."""
    keep = ["id", "statement", "unit", *COLUMNS]
    out = a[keep].merge(b[keep], on="id", how="outer", suffixes=("_a", "_b"), sort=False)
    out["statement"] = out["statement_a"].fillna(out["statement_b"])
    out["unit"] = out["unit_a"].fillna(out["unit_b"])
    out["agree"] = out["verdict_a"].eq(out["verdict_b"]) & out["verdict_a"].notna()
    return out.drop(columns=["statement_a", "statement_b", "unit_a", "unit_b"])


def _side(row: pd.Series, s: str) -> tuple[str, str, str]:
    if pd.isna(row[f"verdict_{s}"]):
        return "(absent)", "", ""
    fields = {c: row[f"{c}_{s}"] for c in COLUMNS}
    effect = effect_text({**fields, "unit": row["unit"]})
    count = f"{int(fields['n_for'])} / {int(fields['n_against'])} of {int(fields['n_primary'])}"
    named = f" ({fields['exceptions']})" if fields["exceptions"] else ""
    verdict = str(fields["verdict"]) + named
    return verdict, effect, count


def markdown(table: pd.DataFrame, names: tuple[str, str]) -> str:
    a, b = names
    head = (
        f"| claim | {a}: verdict | {b}: verdict | agree | {a}: effect [95% CI] | "
        f"{b}: effect [95% CI] | {a}: for / against | {b}: for / against |"
    )
    lines = [head, "|" + "---|" * 8]
    for _, row in table.iterrows():
        va, ea, ca = _side(row, "a")
        vb, eb, cb = _side(row, "b")
        claim = f"{row['id']}. {row['statement']}"
        lines.append(
            f"| {claim} | {va} | {vb} | {'yes' if row['agree'] else '**no**'} | {ea} | {eb} | "
            f"{ca} | {cb} |"
        )
    n = int(table["agree"].sum())
    lines.append("")
    lines.append(f"Verdicts agree on {n} of {len(table)} claims.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("claims_a", type=Path, help="first claims.csv (e.g. the main job's)")
    p.add_argument("claims_b", type=Path, help="second claims.csv (e.g. the full study's)")
    p.add_argument("--names", nargs=2, default=("A", "B"), help="the two runs' names")
    p.add_argument("--out", type=Path, help=".md (default) or .csv; stdout when left out")
    args = p.parse_args(argv)
    try:
        table = agreement(read_claims(args.claims_a), read_claims(args.claims_b))
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.out is not None and args.out.suffix == ".csv":
        write_text(args.out, table.to_csv(index=False))
        return 0
    text = markdown(table, tuple(args.names))
    if args.out is None:
        print(text, end="")
    else:
        write_text(args.out, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
