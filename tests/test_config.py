"""Config validation: every profile is valid; typos, wrong types and out-of-range values are refused
with a message naming the key and the legal values; defaults are filled in."""

import re
from pathlib import Path

import pytest
import yaml

from layerwise.config import (
    ConfigError,
    apply_overrides,
    check_config,
    deep_merge,
    load_config,
    main,
    read_yaml,
    validate_config,
)
from layerwise.config_sources import source_of

ROOT = Path(__file__).resolve().parents[1]
PROFILES = ["smoke", "default", "paper"]


@pytest.fixture
def smoke():
    return read_yaml(ROOT / "config" / "smoke.yaml")


@pytest.mark.parametrize("profile", PROFILES)
def test_profiles_are_valid_and_complete(profile):
    cfg = load_config(ROOT / "config" / f"{profile}.yaml")
    assert cfg["study"] == profile
    # defaults filled in, all the way down
    assert cfg["finetune"]["patience"] >= 1
    assert cfg["resources"]["finetune"]["gpu"] >= 0
    assert set(cfg["grid"]["datasets"]) <= set(cfg["data"]["datasets"])


TRIALS = sorted(ROOT.glob("docs/default-run/trial-*.yaml")) + sorted(
    ROOT.glob("docs/reproduction/trials/*.yaml")
)


@pytest.mark.parametrize("path", TRIALS, ids=lambda p: p.name)
def test_committed_trial_configs_still_validate(path):
    """The trial configs the docs cite still run as written: each an overlay on the profile its
    first line names (`--configfile <base> <trial>`; tests/test_trial_overlays.py)."""
    base = re.match(r"# overlay on (\S+):", path.read_text()).group(1)
    cfg = check_config(deep_merge(read_yaml(ROOT / base), read_yaml(path)), [ROOT / base, path])
    assert set(cfg["grid"]["datasets"]) <= set(cfg["data"]["datasets"])


def test_study_profile_covers_the_four_core_data_sets_at_paper_sizes():
    cfg = load_config(ROOT / "config" / "study.yaml")
    assert cfg["grid"]["datasets"] == ["mnist-basic", "mnist-rot", "rectangles", "convex"]
    sizes = {
        k: (v["n_train"], v["n_valid"], v["n_test"]) for k, v in cfg["data"]["datasets"].items()
    }
    assert sizes["mnist-basic"] == (10000, 2000, 50000)
    assert sizes["rectangles"] == (1000, 200, 50000)
    assert sizes["convex"] == (6000, 2000, 50000)


def test_main_job_keeps_the_papers_training_sizes_and_scores_10000_test_images():
    cfg = load_config(ROOT / "config" / "default.yaml")
    sizes = {k: (v["n_train"], v["n_valid"]) for k, v in cfg["data"]["datasets"].items()}
    assert sizes["mnist-rot"] == (10000, 2000) and sizes["rectangles"] == (1000, 200)
    assert sizes["convex"] == (6000, 2000)
    assert {v["n_test"] for k, v in cfg["data"]["datasets"].items()} == {10000}


def test_unknown_key_is_named_with_a_suggestion(smoke):
    with pytest.raises(ConfigError) as err:
        validate_config(deep_merge(smoke, {"finetune": {"learning_rate": [0.1]}}))
    msg = str(err.value)
    assert "learning_rate" in msg and "finetune" in msg and "legal keys" in msg
    with pytest.raises(ConfigError, match="did you mean 'depths'"):
        validate_config(deep_merge(smoke, {"grid": {"depth": [1]}}))


def test_wrong_type_is_named(smoke):
    with pytest.raises(ConfigError, match=r"finetune\.max_epochs: expected integer"):
        validate_config(deep_merge(smoke, {"finetune": {"max_epochs": "ten"}}))


def test_out_of_range_value_names_the_range(smoke):
    with pytest.raises(
        ConfigError, match=r"grid\.depths\.0: 7 is out of range; legal range: \[1, 4\]"
    ):
        validate_config(deep_merge(smoke, {"grid": {"depths": [7, 1]}}))


def test_bad_enum_lists_legal_values(smoke):
    with pytest.raises(ConfigError, match=r"legal values: \['none', 'ae', 'dae', 'rbm'\]"):
        validate_config(deep_merge(smoke, {"grid": {"pretraining": ["pca"]}}))


def test_unknown_dataset_name_and_grid_outside_data(smoke):
    bad = deep_merge(
        smoke, {"data": {"datasets": {"mnist-bsic": {"n_train": 10, "n_valid": 10, "n_test": 10}}}}
    )
    with pytest.raises(ConfigError, match="mnist-bsic"):
        validate_config(bad)
    bad = deep_merge(smoke, {"grid": {"datasets": ["convex", "mnist-rot"]}})
    del bad["data"]["datasets"]["mnist-rot"]
    with pytest.raises(ConfigError, match=r"grid.datasets lists \['mnist-rot'\]"):
        validate_config(bad)


def test_halving_rungs_must_lie_below_max_epochs_and_the_advice_works(smoke):
    bad = deep_merge(smoke, {"finetune": {"max_epochs": 30, "halving": {"rungs": [5, 40]}}})
    with pytest.raises(ConfigError, match=r"finetune.halving.rungs \[5, 40\] must be") as exc:
        validate_config(bad)
    advice = re.search(r"rungs: (\[\d+, \d+\])", str(exc.value)).group(1)  # what it suggests
    fixed = deep_merge(smoke, {"finetune": {"max_epochs": 30, "halving": {"rungs": eval(advice)}}})
    assert validate_config(fixed)["finetune"]["halving"] == {"eta": 3, "rungs": [3, 10]}
    with pytest.raises(ConfigError, match=r"finetune\.halving\.eta"):
        validate_config(deep_merge(smoke, {"finetune": {"halving": {"rungs": [1], "eta": 1}}}))


def test_validation_does_not_mutate_input(smoke):
    before = repr(smoke)
    validate_config(smoke)
    assert repr(smoke) == before


def test_missing_or_broken_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        read_yaml(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("study: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        read_yaml(tmp_path / "bad.yaml")


def test_exclusive_bounds_are_printed_as_open_intervals(smoke):
    # issue 12, 6: "0 is out of range; legal range: [0, 1000000]" rejected a value it printed
    with pytest.raises(ConfigError, match=r"finetune\.lr\.0: 0 is out of range; legal range: "
                                          r"\(0, 1000000\]"):  # fmt: skip
        validate_config(deep_merge(smoke, {"finetune": {"lr": [0]}}))


def test_empty_or_malformed_file_names_the_file_and_line(tmp_path, capsys):
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(ConfigError, match=f"config file {empty} is empty"):
        read_yaml(empty)
    tabs = tmp_path / "tabs.yaml"
    tabs.write_text("study: smoke\nfinetune:\n\tmax_epochs: 3\n")
    with pytest.raises(ConfigError, match=f"config file {tabs}, line 3 column 1 is not valid"):
        read_yaml(tabs)
    # the check a user runs on a file Snakemake refuses without naming it (docs/reliability.md)
    assert main([str(tabs)]) == 1 and f"{tabs}, line 3" in capsys.readouterr().err
    assert main([str(ROOT / "config" / "smoke.yaml")]) == 0


def test_command_line_overrides_are_typed_by_the_schema(smoke):
    # Snakemake's --config 'finetune={max_epochs: 3, lr: [0.5, 1e6]}' hands over strings
    given = {"finetune": {"max_epochs": "3", "lr": ["0.5", "1e6"]}, "device": "cpu",
             "resources": {"finetune": {"gpu_model": "null", "gpu": "1"}},
             "report": {"pdf": "false"}}  # fmt: skip
    cfg = validate_config(apply_overrides(smoke, given))
    assert cfg["finetune"]["max_epochs"] == 3 and cfg["finetune"]["lr"] == [0.5, 1e6]
    assert cfg["finetune"]["patience"] == smoke["finetune"]["patience"]  # merged, not replaced
    assert cfg["resources"]["finetune"]["gpu_model"] is None
    assert cfg["resources"]["finetune"]["gpu"] == 1 and cfg["report"]["pdf"] is False
    assert cfg["study"] == "smoke"  # a string stays a string
    with pytest.raises(ConfigError, match=r"finetune\.max_epochs: expected integer, got 'ten'"):
        validate_config(apply_overrides(smoke, {"finetune": {"max_epochs": "ten"}}))
    with pytest.raises(ConfigError, match=r"finetune\.max_epochs: expected integer, got '3.5'"):
        validate_config(apply_overrides(smoke, {"finetune": {"max_epochs": "3.5"}}))
    given = {"per_dataset": {"rectangles": {"finetune": {"lr": ["1.0"], "max_epochs": "5"}}}}
    cfg = validate_config(apply_overrides(smoke, given))
    assert cfg["per_dataset"]["rectangles"]["finetune"]["lr"] == [1.0]
    assert cfg["per_dataset"]["rectangles"]["finetune"]["max_epochs"] == 5


def test_per_dataset_sections_are_validated_merged_and_named(smoke):
    ok = deep_merge(smoke, {"per_dataset": {"rectangles": {"finetune": {"lr": [1.0]}}}})
    cfg = validate_config(ok)
    entry = cfg["per_dataset"]["rectangles"]["finetune"]
    assert entry["lr"] == [1.0]  # the list replaced, the rest of the section complete
    assert entry["max_epochs"] == cfg["finetune"]["max_epochs"]
    assert validate_config(cfg) == cfg  # validating again changes nothing
    bad = deep_merge(smoke, {"per_dataset": {"rectangles": {"finetune": {"lr": [-1.0]}}}})
    with pytest.raises(ConfigError, match=r"per_dataset\.rectangles: finetune\.lr\.0: -1\.0"):
        validate_config(bad)
    bad = deep_merge(smoke, {"per_dataset": {"rectangles": {"finetun": {"lr": [1.0]}}}})
    with pytest.raises(ConfigError, match=r"unknown key 'finetun' \(did you mean 'finetune'"):
        validate_config(bad)
    bad = deep_merge(
        smoke, {"per_dataset": {"rectangles": {"finetune": {"halving": {"rungs": [99]}}}}}
    )
    with pytest.raises(ConfigError, match=r"per_dataset\.rectangles: finetune\.halving\.rungs"):
        validate_config(bad)
    bad = deep_merge(smoke, {"per_dataset": {"mnist-full": {"finetune": {"lr": [1.0]}}}})
    del bad["data"]["datasets"]["mnist-full"]
    with pytest.raises(ConfigError, match=r"per_dataset names \['mnist-full'\]"):
        validate_config(bad)


# ---- one check for the workflow and `python -m layerwise.config`; errors name their source ----


def _without(smoke: dict, dataset: str, path: Path) -> Path:
    """smoke.yaml without ``dataset`` under data.datasets (and nowhere in the grid), as a file."""
    cfg = deep_merge(smoke, {})
    del cfg["data"]["datasets"][dataset]
    cfg["grid"]["datasets"] = [d for d in cfg["grid"]["datasets"] if d != dataset]
    if cfg["data"].get("baselines", {}).get("datasets"):
        cfg["data"]["baselines"]["datasets"] = [
            d for d in cfg["data"]["baselines"]["datasets"] if d != dataset
        ]
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def test_the_check_refuses_what_the_workflow_refused(smoke, tmp_path, capsys):
    """`python -m layerwise.config` used to print "valid" for a config the workflow refused."""
    study_set = validate_config(smoke)["dropout_study"]["dataset"]  # mnist-full, the default
    cfg = read_yaml(_without(smoke, study_set, tmp_path / "no-study.yaml"))
    assert main([str(tmp_path / "no-study.yaml")]) == 1
    err = capsys.readouterr().err
    assert f"dropout_study.dataset {study_set!r} must be listed" in err
    assert "set dropout_study.enabled: false" in err
    off = {"dropout_study": {"enabled": False}, "deep_autoencoder": {"enabled": False}}
    validate_config(deep_merge(cfg, off))  # the advice works (the autoencoder is on mnist-full too)
    with pytest.raises(ConfigError, match=r"dropout_study\.n_train must be in \[1, "):
        validate_config(deep_merge(smoke, {"dropout_study": {"n_train": 10**9}}))
    with pytest.raises(ConfigError, match=r"dropout_study\.batch_size 400 exceeds"):
        validate_config(deep_merge(smoke, {"dropout_study": {"n_train": 300, "batch_size": 400}}))
    ae = deep_merge(smoke, {"deep_autoencoder": {"enabled": True, "dataset": "mnist-rot"}})
    del ae["data"]["datasets"]["mnist-rot"]
    ae["grid"]["datasets"] = [d for d in ae["grid"]["datasets"] if d != "mnist-rot"]
    with pytest.raises(ConfigError, match=r"deep_autoencoder\.dataset 'mnist-rot' is not listed"):
        validate_config(ae)


def test_errors_name_the_file_and_line_or_the_command_line_that_set_the_key(tmp_path):
    smoke_path = ROOT / "config" / "smoke.yaml"
    cfg = read_yaml(smoke_path)
    with pytest.raises(ConfigError) as caught:
        check_config(cfg, [smoke_path], {"finetune": {"max_epochs": "0"}})
    text = str(caught.value)
    assert "finetune.max_epochs: 0 is out of range" in text and "(set in --config)" in text
    assert str(smoke_path) not in text
    local = tmp_path / "local.yaml"
    local.write_text("finetune:\n  patiense: 3\n  lr: [0]\n")
    merged = deep_merge(cfg, read_yaml(local))
    with pytest.raises(ConfigError) as caught:
        check_config(merged, [smoke_path, local], None)
    lines = str(caught.value).splitlines()
    assert any("finetune.lr.0: 0 is out of range" in x and f"(set in {local}, line 3)" in x
               for x in lines), lines  # fmt: skip
    assert any("'patiense'" in x and f"(set in {local}, line 2)" in x for x in lines), lines
    # a cross-check names its key's source too
    with pytest.raises(ConfigError, match=r"dropout_study\.n_train must .*\(set in --config\)"):
        check_config(cfg, [smoke_path], {"dropout_study": {"n_train": "100000000"}})
    # a list given on the command line replaces the file's: its items are the command line's
    with pytest.raises(ConfigError, match=r"finetune\.lr\.1: 0 .*\(set in --config\)"):
        check_config(merged, [smoke_path, local], {"finetune": {"lr": "[0.1, 0]"}})
    line = next(i for i, t in enumerate(smoke_path.read_text().splitlines(), 1) if "study:" in t)
    assert source_of("study", [(str(smoke_path), cfg)]) == f"{smoke_path}, line {line}"


def test_the_check_reads_a_snakemake_command_line_and_advises(tmp_path, capsys):
    smoke_path = str(ROOT / "config" / "smoke.yaml")
    # a target placed after --configfile (Snakemake: a FileNotFoundError traceback)
    assert main(["--configfile", smoke_path, "results/results.csv", "--cores", "1"]) == 1
    err = capsys.readouterr().err
    assert "config file results/results.csv does not exist" in err
    assert "put targets before --configfile" in err
    # a missing config file
    assert main(["--configfile", "config/smoke.yml"]) == 1
    assert "config file config/smoke.yml does not exist (relative paths are read from" in (
        capsys.readouterr().err
    )
    # a dotted override (Snakemake: a ValueError traceback)
    assert main(["--configfile", smoke_path, "--config", "finetune.max_epochs=3"]) == 1
    assert "write --config 'finetune={max_epochs: 3}'" in capsys.readouterr().err
    assert main(["--configfile", smoke_path, "--config", "finetune={max_epochs: 3}"]) == 0
    assert main(["--configfile", smoke_path, "--config", "finetune={max_epochs: 0}"]) == 1
    assert "(set in --config)" in capsys.readouterr().err
    argv = ["-n", "--configfile", smoke_path, "--config", "study=x", "report={pdf: false}"]
    assert main(argv) == 0
