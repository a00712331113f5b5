"""Trial configs are overlays: each states only what differs from its base profile, which its first
line names; merged over that base (as Snakemake merges several ``--configfile``s) it validates."""

import re
from pathlib import Path

import pytest
from snakemake.common.configfile import load_configfile
from snakemake.utils import update_config

from layerwise.config import deep_merge, read_yaml, validate_config

ROOT = Path(__file__).resolve().parents[1]
TRIALS = sorted(ROOT.glob("docs/default-run/trial-*.yaml")) + sorted(
    ROOT.glob("docs/reproduction/trials/*.yaml")
)
#: At most this many lines of keys (comments and blank lines aside) in an overlay.
MAX_LINES = 40
FIRST_LINE = re.compile(
    r"# overlay on (config/\S+\.yaml): snakemake .*--configfile \1 (docs/\S+\.yaml)$"
)


def base_of(path: Path) -> Path:
    """The base profile an overlay's first line names (checked by the test below)."""
    match = FIRST_LINE.match(path.read_text().splitlines()[0])
    assert match, (
        f"{path.name}: first line must be '# overlay on config/<base>.yaml: snakemake ...'"
    )
    assert match.group(2) == str(path.relative_to(ROOT)), f"{path.name}: runs another file"
    return ROOT / match.group(1)


def test_there_are_trials():
    assert len(TRIALS) >= 30


@pytest.mark.parametrize("path", TRIALS, ids=lambda p: p.name)
def test_trial_overlay_names_its_base_is_small_and_validates_over_it(path):
    base = base_of(path)
    assert base.is_file() and base.parent.relative_to(ROOT).parts[0] == "config"
    keys = [
        x for x in path.read_text().splitlines() if x.strip() and not x.lstrip().startswith("#")
    ]
    assert len(keys) <= MAX_LINES, f"{path.name}: {len(keys)} lines of keys"
    overlay = read_yaml(path)
    assert overlay != read_yaml(base)  # an overlay, not a copy
    cfg = validate_config(deep_merge(read_yaml(base), overlay))
    assert set(cfg["grid"]["datasets"]) <= set(cfg["data"]["datasets"])


@pytest.mark.parametrize("path", TRIALS, ids=lambda p: p.name)
def test_the_merge_is_snakemakes(path):
    """deep_merge of base and overlay is what Snakemake builds from `--configfile base overlay`."""
    config: dict = {}
    for f in (base_of(path), path):
        update_config(config, load_configfile(str(f)))
    assert deep_merge(read_yaml(base_of(path)), read_yaml(path)) == config


def test_deep_merge_merges_mappings_and_replaces_lists_as_snakemake_does():
    base = {"a": {"x": 1, "y": [1, 2], "z": {"p": 1, "q": 2}}, "b": [3], "c": None, "d": 4}
    over = {"a": {"y": [9], "z": {"q": 5}}, "b": [], "c": {"k": 1}, "d": None, "e": {"f": [1]}}
    snake: dict = {}
    update_config(snake, base)
    update_config(snake, over)
    merged = deep_merge(base, over)
    assert merged == snake
    assert merged == {"a": {"x": 1, "y": [9], "z": {"p": 1, "q": 5}}, "b": [], "c": {"k": 1},
                      "d": None, "e": {"f": [1]}}  # fmt: skip
