"""Wall time per stage from Snakemake's job records (layerwise.run_timing), made-up records."""

import json

import pytest

from layerwise import run_timing


def _write(folder, name, rule, job_hash, start, end):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps({"rule": rule, "job_hash": job_hash,
                                           "starttime": start, "endtime": end}))  # fmt: skip


def _records(tmp_path):
    meta = tmp_path / ".snakemake" / "metadata"
    # one data job with two outputs (starts microseconds apart, the directory output ends later)
    _write(meta, "a", "dataset", 1, 100.0, 110.0)
    _write(meta, "b", "dataset", 1, 100.0001, 110.5)
    # two fine-tuning jobs side by side, then the same job hash again in a later invocation
    _write(meta, "c", "finetune", 2, 111.0, 171.0)
    _write(meta, "d", "finetune", 3, 111.0, 141.0)
    _write(meta, "e", "finetune", 2, 500.0, 530.0)
    _write(meta, "f", "report", 4, 531.0, 535.0)
    (meta / "scratch").write_text("not json")  # Snakemake's own files are skipped
    _write(meta, "g", "incomplete", 5, 536.0, None)  # no end time: not a finished job
    return tmp_path


def test_jobs_merge_outputs_and_split_reinvocations(tmp_path):
    jobs = run_timing.read_jobs(_records(tmp_path))
    assert [(j.rule, j.start, j.end) for j in jobs] == [
        ("dataset", 100.0, 110.5), ("finetune", 111.0, 141.0), ("finetune", 111.0, 171.0),
        ("finetune", 500.0, 530.0), ("report", 531.0, 535.0)]  # fmt: skip


def test_stage_rows_sum_jobs_and_span(tmp_path):
    rows = {r.rule: r for r in run_timing.stage_times(run_timing.read_jobs(_records(tmp_path)))}
    assert list(rows) == ["dataset", "finetune", "report", "all"]
    assert (rows["finetune"].jobs, rows["finetune"].job_seconds, rows["finetune"].span_seconds) == (
        3,
        30.0 + 60.0 + 30.0,
        530.0 - 111.0,
    )
    assert (rows["all"].jobs, rows["all"].span_seconds) == (5, 535.0 - 100.0)
    assert rows["all"].job_seconds == pytest.approx(10.5 + 120.0 + 4.0)


def test_cli_prints_table_and_writes_json(tmp_path, capsys):
    out = tmp_path / "t.json"
    assert run_timing.main([str(_records(tmp_path)), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "| **whole run** | 5 | 2.2 min | 7.2 min |" in text
    assert json.loads(out.read_text())[-1]["rule"] == "all"


def test_missing_metadata_names_the_folder_to_give(tmp_path):
    with pytest.raises(FileNotFoundError, match="folder the run was started in"):
        run_timing.read_jobs(tmp_path)
