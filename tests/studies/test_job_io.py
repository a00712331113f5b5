"""predictions.npz as the fine-tuning jobs write it from the engine's test predictions."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from layerwise import layout
from layerwise.studies.job_io import write_predictions


def test_write_predictions_stores_evaluated_members_only(tmp_path):
    pred = torch.tensor([[0, 2, 1], [-1, -1, -1], [1, 1, 0]])  # member b: not evaluated (pruned)
    write_predictions(tmp_path, ["a", "b", "c"], SimpleNamespace(test_predictions=pred), [0, 2, 0])
    with np.load(tmp_path / layout.PREDICTIONS) as npz:
        assert sorted(npz.files) == sorted(["a", "c", layout.PREDICTIONS_LABELS])
        assert npz["a"].dtype == np.uint8 and npz["a"].tolist() == [0, 2, 1]
        assert npz["c"].tolist() == [1, 1, 0]
        assert npz[layout.PREDICTIONS_LABELS].tolist() == [0, 2, 0]


def test_write_predictions_refuses_classes_beyond_uint8(tmp_path):
    pred = torch.tensor([[300, 1]])
    with pytest.raises(ValueError, match="uint8"):
        write_predictions(tmp_path, ["a"], SimpleNamespace(test_predictions=pred), [0, 1])
