"""The config schema is the one source of defaults: where the engine's settings also carry a
default (for direct use of the library, without a config), it is the schema's."""

from __future__ import annotations

import dataclasses

import pytest

from layerwise.config import load_schema
from layerwise.engine.finetune import FinetuneSettings

#: finetune-section keys that are also fields of FinetuneSettings with the same meaning
#: (lr and momentum are candidate lists in the config, a scalar or K values in the engine)
SHARED = [
    "max_epochs",
    "patience",
    "min_epochs",
    "min_improvement",
    "batch_size",
    "eval_batch_size",
    "record_grad_norms",
    "blowup_factor",
    "tie_break",
    "output_lr",
]


def _schema_default(section: str, key: str):
    return load_schema()["properties"][section]["properties"][key]["default"]


@pytest.mark.parametrize("key", SHARED)
def test_engine_defaults_are_the_schemas(key):
    engine = {f.name: f.default for f in dataclasses.fields(FinetuneSettings)}
    assert engine[key] == _schema_default("finetune", key)


def test_eval_batch_size_has_one_default():
    assert (
        _schema_default("dropout_study", "eval_batch_size")
        == _schema_default("finetune", "eval_batch_size")
        == FinetuneSettings(seeds=[1]).eval_batch_size
    )
