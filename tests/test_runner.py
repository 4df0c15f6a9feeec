"""The experiment runner: registry, configs, fits that refuse unfit models, saved models, CLI."""

import ast
import dataclasses
import json
import math
from pathlib import Path

import flax.serialization
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from hypothesis import given, settings

from memjax import cli, experiment, runs
from memjax.experiment import Experiment, Run
from memjax.models import MLPAutoencoder, SingleLayerFC
from memjax.train import TrainConfig

# ---------------------------------------------------------------------------------------------
# A tiny experiment: a linear single-layer net on two random vectors (a projection, [MO1] Thm 1)


def _toy_config(preset="quick"):
    config = ml_collections.ConfigDict()
    config.seed = 0
    config.num_examples = 2
    config.model = ml_collections.ConfigDict({"dim": 6})
    config.train = runs.as_config(TrainConfig("gd", 0.5, max_steps=400, progress=False))
    config.train.fit_loss = 1e-8
    return config


def _toy_science(run: Run):
    config = run.config
    data = jax.random.normal(run.keys["data"], (config.num_examples, config.model.dim))
    params, _ = run.train("linear", SingleLayerFC(), data, key=run.keys["init"])
    matrix = np.asarray(params["params"]["kernel"]).T
    rank = int(np.sum(np.abs(np.linalg.eigvals(matrix)) > 0.5))
    run.compare("rank", rank, config.num_examples, tol=0, fits=["linear"])
    with open(run.figure("nothing"), "wb") as f:  # the runner checks declared figures exist
        f.write(b"\x89PNG")
    run.table([{"rank": rank}], title="toy")
    return {"rank": rank}


TOY = Experiment(
    name="toy-projection",
    paper="MO1",
    figure="[MO1] Thm 1: zero-init GD on x ↦ Ax is the projection onto span(X)",
    get_config=_toy_config,
    science=_toy_science,
    keys=("data", "init"),
)


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setattr(experiment, "registry", lambda: {TOY.name: TOY})
    return TOY


def _run(tmp_path, overrides=(), name="run"):
    config = experiment.prepare_config(TOY.name, "quick", overrides)
    workdir = experiment.run_experiment(TOY.name, config, tmp_path / name)
    return workdir, experiment.load_metrics(workdir)


# ---------------------------------------------------------------------------------------------
# The installed experiments


def test_every_installed_experiment_imports_and_declares_both_presets():
    assert experiment.broken_modules() == {}
    names = list(experiment.registry())
    assert "network-ds" in names
    for exp in experiment.registry().values():
        assert exp.name.split("-")[0] in {"ds", "mo1", "mo2", "ic", "inv", "network"}, exp.name
        for preset in experiment.PRESETS:
            config = exp.get_config(preset)
            experiment.check_config(config)  # seed, train blocks with fit_loss, valid TrainConfig


def test_list_groups_by_paper(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert out.index("[DS]") < out.index("network-ds")
    for exp in experiment.registry().values():
        assert exp.name in out and exp.figure in out


def test_named_keys_reproduce_one_split_of_the_root_key():
    keys = experiment.named_keys(3, ("a", "b", "c"))
    expected = jax.random.split(jax.random.PRNGKey(3), 3)
    assert all(np.array_equal(keys[n], expected[i]) for i, n in enumerate("abc"))
    assert np.array_equal(experiment.named_keys(3, ("only",))["only"], jax.random.PRNGKey(3))


# ---------------------------------------------------------------------------------------------
# A run, its folder and what it says


def test_a_run_writes_config_provenance_metrics_params_and_reopens(toy, tmp_path, capsys):
    workdir, metrics = _run(tmp_path)
    assert metrics["rank"] == 2 and metrics["summary"]["reproduced"] == 1
    assert metrics["fits"]["linear"]["status"] == ["fit"]
    provenance = json.loads((workdir / "provenance.json").read_text())
    assert provenance["seed"] == 0 and provenance["versions"]["jax"] == jax.__version__
    assert provenance["device"]["backend"] == jax.default_backend()
    opened = experiment.open_run(workdir)
    model = opened.model("linear")
    x = jnp.arange(6.0)
    assert model.num_seeds is None and isinstance(model.model, SingleLayerFC)
    np.testing.assert_allclose(model.apply(x), x @ model.params["params"]["kernel"], rtol=1e-6)
    assert "all 1 trained models fitted" in capsys.readouterr().out


def test_an_untrained_net_is_reported_as_not_fitted_never_as_reproduced(toy, tmp_path, capsys):
    _, metrics = _run(tmp_path, ["train.max_steps=0"])
    assert metrics["fits"]["linear"]["status"] == ["unfit"]
    assert [c["status"] for c in metrics["comparisons"]] == ["unfit"]
    assert metrics["summary"]["reproduced"] == 0
    out = capsys.readouterr().out
    assert "did NOT fit" in out and "linear: 0/1 fitted" in out


def test_a_diverged_net_is_reported_as_not_fitted(toy, tmp_path, capsys):
    _, metrics = _run(tmp_path, ["train.learning_rate=1e6", "train.nonfinite='stop'"])
    assert metrics["fits"]["linear"]["status"][0] in ("unfit", "nonfinite")
    assert metrics["summary"]["reproduced"] == 0 and "did NOT fit" in capsys.readouterr().out


def test_a_failing_run_leaves_no_folder(toy, tmp_path, monkeypatch):
    def fail(run):
        raise RuntimeError("boom")

    failing = dataclasses.replace(TOY, science=fail)
    monkeypatch.setattr(experiment, "registry", lambda: {TOY.name: failing})
    with pytest.raises(RuntimeError, match="boom"):
        _run(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_comparison_kinds():
    fits = {"ok": experiment.Fit("ok", 1e-3, [1e-4], [10], ["loss_tol"], ["fit"])}
    make = lambda *a, **k: experiment.Comparison(*a, **k)  # noqa: E731
    status = lambda c: experiment._status(c, fits)  # noqa: E731
    assert status(make("a", 1.04, 1.0, "close", 0.05, ("ok",), "all", "")) == "reproduced"
    assert status(make("a", 1.06, 1.0, "close", 0.05, (), "all", "")) == "not reproduced"
    assert status(make("a", 0.001, 0.01, "below", None, (), "all", "")) == "reproduced"
    assert status(make("a", 0.1, 0.01, "below", None, (), "all", "")) == "not reproduced"
    assert status(make("a", 0.5, None, "report", None, (), "all", "")) == "no criterion"
    assert status(make("a", math.nan, 1.0, "close", 0.1, (), "all", "")) == "not measured"


# ---------------------------------------------------------------------------------------------
# Saved models


def test_saved_models_keep_the_architecture_and_the_seed_axis(tmp_path):
    model = MLPAutoencoder(hidden=(5,), activation="tanh")
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    x = jnp.linspace(-1, 1, 4)
    params = jax.vmap(lambda k: model.init(k, x))(keys)
    runs.save_model(tmp_path / "m.msgpack", model, params, seeds=True)
    saved = runs.load_model(tmp_path / "m.msgpack")
    assert saved.model == model and saved.num_seeds == 3
    expected = model.apply(jax.tree.map(lambda a: a[2], params), x)
    np.testing.assert_array_equal(saved.apply(x, seed=2), expected)
    with pytest.raises(IndexError, match="3 seeds"):
        saved.seed_params(3)


def test_truncated_or_foreign_model_files_name_the_file(tmp_path):
    model = SingleLayerFC()
    runs.save_model(tmp_path / "m.msgpack", model, model.init(jax.random.PRNGKey(0), jnp.ones(3)))
    data = (tmp_path / "m.msgpack").read_bytes()
    (tmp_path / "cut.msgpack").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="cut.msgpack"):
        runs.load_model(tmp_path / "cut.msgpack")
    (tmp_path / "junk.msgpack").write_bytes(b"not msgpack at all")
    with pytest.raises(ValueError, match="junk.msgpack"):
        runs.load_model(tmp_path / "junk.msgpack")
    # A plain Flax msgpack file (no model record) is not a saved model either.
    (tmp_path / "plain.msgpack").write_bytes(flax.serialization.msgpack_serialize({"w": 1}))
    with pytest.raises(ValueError, match="plain.msgpack.*not a memjax model"):
        runs.load_model(tmp_path / "plain.msgpack")


# ---------------------------------------------------------------------------------------------
# Config overrides: one clear error naming the key, never a deep traceback


@pytest.mark.parametrize(
    ("override", "error", "message"),
    [
        ("train.max_stepz=3", KeyError, "did you mean train.max_steps"),
        ("nope=1", KeyError, "unknown config key 'nope'"),
        ("train=3", TypeError, "is a block"),
        ("num_examples='two'", TypeError, "holds int 2; got str"),
        ("train.learning_rate=nan", ValueError, "must be a finite number"),
        ("train.learning_rate=inf", ValueError, "must be a finite number"),
        ("train.max_steps=-5", ValueError, "must be ≥ 0"),
        ("num_examples=-1", ValueError, "must be ≥ 0"),
        ("train.optimizer='sgdd'", ValueError, "config train:.*sgdd"),
        ("novalue", ValueError, "KEY=VALUE"),
    ],
)
def test_bad_overrides_give_one_clear_error(toy, override, error, message):
    with pytest.raises(error, match=message):
        experiment.prepare_config(TOY.name, "quick", [override])


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=30), st.text(max_size=30))
def test_any_override_is_applied_or_refused_cleanly(key, value):
    config = _toy_config()
    try:
        runs.apply_overrides(config, [f"{key}={value}"])
        experiment.check_config(config)
    except (KeyError, TypeError, ValueError) as error:
        assert error.args and isinstance(error.args[0], str)


def test_cli_user_errors_are_one_line_with_status_2(toy, capsys, tmp_path):
    assert cli.main(["run", "toy-projektion"]) == 2
    assert "did you mean toy-projection" in capsys.readouterr().err
    assert cli.main(["run", TOY.name, "--config.train.max_steps=-1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "train.max_steps" in err
    assert cli.main(["run", TOY.name, "--workdir", str(tmp_path / "w")]) == 0
    assert (tmp_path / "w" / "metrics.json").is_file()
    assert cli.main(["run", TOY.name, "--workdir", str(tmp_path / "w")]) == 2
    assert "already exists" in capsys.readouterr().err


def test_every_package_folder_is_in_the_distribution():
    """pyproject lists packages by hand (experiments/ maps to memjax_experiments): a new
    subpackage left out would be missing from a wheel although an editable install finds it."""
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    setup = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setup["packages"])
    renames = {folder: name for name, folder in setup["package-dir"].items()}
    found = set()
    for init in [*root.glob("memjax/**/__init__.py"), *root.glob("experiments/**/__init__.py")]:
        parts = init.parent.relative_to(root).parts
        found.add(".".join((renames.get(parts[0], parts[0]), *parts[1:])))
    assert found == listed


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_no_experiment_imports_another_and_the_library_imports_none():
    # Shared logic belongs in memjax: an experiment importing another ties their code together.
    root = Path(__file__).resolve().parents[1]
    offenders = [
        f"{path.relative_to(root)} imports {name}"
        for folder in ("experiments", "memjax")
        for path in sorted((root / folder).rglob("*.py"))
        for name in _imported_modules(path)
        if name.split(".")[0] in ("memjax_experiments", "experiments", "benchmarks")
    ]
    assert offenders == []
