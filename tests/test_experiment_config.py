"""The config builders experiments declare themselves with: new_config and train_block."""

import ml_collections
import numpy as np
import pytest

from memjax import experiment, runs
from memjax.train import TrainConfig


def test_train_block_is_the_train_config_plus_its_fit_threshold():
    block = experiment.train_block("adam", 1e-4, max_steps=2000, loss_tol=1e-6, fit_loss=1e-2)
    expected = runs.as_config(TrainConfig("adam", 1e-4, max_steps=2000, loss_tol=1e-6))
    assert block.fit_loss == 1e-2
    assert {k: v for k, v in block.items() if k != "fit_loss"} == dict(expected.items())
    assert experiment._train_config(block) == TrainConfig("adam", 1e-4, 2000, loss_tol=1e-6)


def test_train_block_refuses_what_train_config_refuses_and_needs_a_fit_loss():
    with pytest.raises(TypeError):
        experiment.train_block("adam", 1e-4, max_steps=10, fit_loss=1e-2, steps=10)
    with pytest.raises(TypeError, match="fit_loss"):
        experiment.train_block("adam", 1e-4, max_steps=10)


def test_new_config_holds_the_seed_and_makes_blocks_overridable():
    config = experiment.new_config(
        top_k=24, model={"filters": 32}, train=experiment.train_block("gd", 0.1, 5, fit_loss=1.0)
    )
    assert sorted(config) == ["model", "seed", "top_k", "train"] and config.seed == 0
    assert isinstance(config.model, ml_collections.ConfigDict)
    config = runs.apply_overrides(config, ["model.filters=64", "train.max_steps=7"])
    assert config.model.filters == 64 and config.train.max_steps == 7
    experiment.check_config(config)
    assert experiment.new_config(seed=3).seed == 3


def test_median_skips_missing_numbers_and_keeps_their_precision():
    assert experiment.median([0.3, None, 0.1, 0.2]) == 0.2
    assert experiment.median([]) is None and experiment.median([None, None]) is None
    assert experiment.median(np.array([])) is None
    halves = np.array([0.1, 0.2, 0.3, 0.4], np.float32)  # float32 mean of the middle two
    assert experiment.median(halves) == float(np.median(halves)) != np.median(halves.astype(float))


def test_table_rows_take_columns_from_metric_dicts():
    records = [{"name": "a", "spectrum": {"median": 0.5}, "fitted": 2, "seeds": 3,
                "share_above_0.9": 1.0}]  # fmt: skip
    columns = {"net": "name", "median": "spectrum.median", "fitted": ("fitted", "seeds"),
               "> 0.9": "share_above_0.9", "twice": lambda r: 2 * r["fitted"]}  # fmt: skip
    rows = experiment.table_rows(records, columns)
    assert rows == [{"net": "a", "median": 0.5, "fitted": "2/3", "> 0.9": 1.0, "twice": 4}]
    assert experiment.format_table(records, columns) == experiment.format_table(rows)
