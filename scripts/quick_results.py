"""Runs every experiment's quick preset and writes what `memjax list` and the README show.

    python scripts/quick_results.py                 # all experiments, then README + gallery
    python scripts/quick_results.py --only ds-unet  # re-measure some; keeps the others' entries

Writes ``experiments/quick_results.json`` (wall time, device, every paper comparison and fit of
each quick run; shipped with the package, read by ``memjax list``), regenerates the README's
experiment table between its ``<!-- experiments:begin/end -->`` markers from it, and copies the
gallery's figures (``GALLERY``) into ``docs/gallery/``. The README table is therefore measured,
never typed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import shutil
import tempfile
import traceback
from pathlib import Path

import jax

from memjax import experiment

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "experiments" / "quick_results.json"
README = ROOT / "README.md"
GALLERY_DIR = ROOT / "docs" / "gallery"
# The headline figure of each paper's experiments: (experiment, figure file in its run folder).
GALLERY = {
    "network-ds": "initializations.png",
    "ds-spectra": "spectra.png",
    "mo1-depth-sweep": "depth_sweep.png",
    "mo2-swiss-roll": "basins.png",
    "inv-fig2": "fig2.png",
}
MARK = {"reproduced": "✓", "not reproduced": "✗", "unfit": "!", "no criterion": "·",
        "not measured": "?"}  # fmt: skip


def measure(names: list[str], save=None) -> dict:
    """Runs the quick presets of ``names``; returns {name: result} and keeps the figures.

    ``save(results)`` is called after each experiment, so an interrupted run keeps what it
    measured."""
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            print(f"== {name}", flush=True)
            try:
                config = experiment.prepare_config(name, "quick", [])
                workdir = experiment.run_experiment(name, config, Path(tmp) / name)
            except Exception:  # noqa: BLE001 - one broken experiment must not stop the table
                results[name] = {"error": traceback.format_exc(limit=3)}
                print(results[name]["error"], flush=True)
                continue
            metrics = experiment.load_metrics(workdir)
            results[name] = {
                "paper": metrics["paper"],
                "figure": metrics["figure"],
                "wall_time_s": round(metrics["wall_time_s"], 1),
                "cpu_time_s": round(metrics["cpu_time_s"], 1),
                "summary": metrics["summary"],
                "comparisons": [
                    {k: c[k] for k in ("label", "ours", "paper", "kind", "tol", "status")}
                    for c in metrics["comparisons"]
                ],
            }
            if name in GALLERY and (workdir / GALLERY[name]).is_file():
                GALLERY_DIR.mkdir(parents=True, exist_ok=True)
                shutil.copy(workdir / GALLERY[name], GALLERY_DIR / f"{name}.png")
            if save is not None:
                save(results)
    return results


def readme_table(results: dict) -> str:
    """The README's experiment table, grouped by paper, from measured quick runs."""
    lines = []
    registry = experiment.registry()
    for paper, title in experiment.PAPERS.items():
        names = [n for n, e in registry.items() if e.paper == paper]
        if not names:
            continue
        lines += [f"**[{paper}] {title}**", "",
                  "| experiment | reproduces | quick, CPU-s | paper vs ours (quick preset) |",
                  "|---|---|---|---|"]  # fmt: skip
        for name in names:
            result = results.get(name, {})
            figure = registry[name].figure.split(":")[0]
            if "cpu_time_s" not in result:
                lines.append(f"| `{name}` | {figure} | not measured | |")
                continue
            lines.append(f"| `{name}` | {figure} | {result['cpu_time_s']:.0f} | "
                         f"{_comparisons(result)} |")  # fmt: skip
        lines.append("")
    return "\n".join(lines)


def _comparisons(result: dict) -> str:
    parts = []
    for c in result["comparisons"]:
        ours = _short(c["ours"])
        paper = "—" if c["paper"] is None else _short(c["paper"])
        paper = {"below": "< ", "above": "> "}.get(c["kind"], "") + paper
        parts.append(f"{MARK[c['status']]} {c['label']}: {ours} (paper {paper})")
    not_fitted = result["summary"].get("models_not_fitted", [])
    if not_fitted:
        parts.append(f"**not fitted: {', '.join(not_fitted)}**")
    return "<br>".join(parts).replace("|", "\\|") or "no paper numbers"


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, list):
        more = ", …" if len(value) > 6 else ""
        return "[" + ", ".join(_short(v) for v in value[:6]) + more + "]"
    return str(value)


def update_readme(table: str) -> None:
    text = README.read_text()
    pattern = re.compile(r"(<!-- experiments:begin -->\n).*?(<!-- experiments:end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit("README.md has no <!-- experiments:begin/end --> markers")
    README.write_text(pattern.sub(lambda m: m.group(1) + table + "\n" + m.group(2), text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", default=None, help="experiments to re-measure")
    parser.add_argument("--no-run", action="store_true", help="only regenerate the README")
    args = parser.parse_args()
    old = json.loads(RESULTS.read_text())["experiments"] if RESULTS.is_file() else {}
    if not args.no_run:
        names = args.only or list(experiment.registry())
        device = f"{jax.default_backend()} ({jax.devices()[0].device_kind})"

        def save(new):
            for result in new.values():
                result.setdefault("device", device)
                result.setdefault("measured", datetime.date.today().isoformat())
            merged = old | new
            RESULTS.write_text(json.dumps({"experiments": merged}, indent=1,
                                          ensure_ascii=False) + "\n")  # fmt: skip

        old |= measure(names, save)
    update_readme(readme_table(old))


if __name__ == "__main__":
    main()
