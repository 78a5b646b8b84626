"""Per-run result folders -> tidy pandas frames.

A run folder is ``{root}/{dataset}/{backbone}/{method_id}/seed{seed}/``. Every reader
takes the *planned* cells and returns what exists plus the cells that are missing, so a
table or figure can mark them instead of silently dropping them.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd

CELL_KEYS = ["dataset", "backbone", "method", "seed"]


@dataclass(frozen=True, order=True)
class Cell:
    """One planned run: dataset x backbone x method id x seed."""

    dataset: str
    backbone: str
    method: str
    seed: int

    def folder(self, root: str | Path) -> Path:
        return Path(root) / self.dataset / self.backbone / self.method / f"seed{self.seed}"

    @property
    def setting(self) -> tuple[str, str, str]:
        return self.dataset, self.backbone, self.method


def cells_from(records: Iterable[dict]) -> list[Cell]:
    """Cells from dicts with keys dataset, backbone, method, seed (as passed by the rules)."""
    return [Cell(r["dataset"], r["backbone"], r["method"], int(r["seed"])) for r in records]


def read_cells(
    cells: Iterable[Cell], root: str | Path, filename: str, reader: Callable[[Path], pd.DataFrame]
) -> tuple[pd.DataFrame, list[Cell]]:
    """``reader(file)`` of every cell whose ``filename`` exists, tagged with the cell's keys;
    and the cells whose file is missing."""
    frames, missing = [], []
    for cell in cells:
        path = cell.folder(root) / filename
        if path.exists():
            frames.append(reader(path).assign(**asdict(cell)))
        else:
            missing.append(cell)
    if not frames:
        return pd.DataFrame(columns=CELL_KEYS), missing
    return pd.concat(frames, ignore_index=True), missing


def _test_metrics(path: Path) -> pd.DataFrame:
    test = json.loads(path.read_text())["test"]
    return pd.DataFrame({"metric": list(test), "value": [float(v) for v in test.values()]})


def _sorted_norms(path: Path) -> pd.DataFrame:
    norms = np.sort(np.load(path).astype(float))[::-1]
    return pd.DataFrame({"item_rank": np.arange(1, len(norms) + 1), "norm": norms})


def load_metrics(cells, root) -> tuple[pd.DataFrame, list[Cell]]:
    """Long frame: dataset, backbone, method, seed, metric, value (test split, best epoch)."""
    return read_cells(cells, root, "metrics.json", _test_metrics)


def load_histories(cells, root) -> tuple[pd.DataFrame, list[Cell]]:
    """history.csv of every run (one row per epoch), tagged with the cell."""
    return read_cells(cells, root, "history.csv", pd.read_csv)


def load_initial_norms(cells, root) -> tuple[pd.DataFrame, list[Cell]]:
    """Initial item-row norms, sorted in descending order: item_rank, norm."""
    return read_cells(cells, root, "initial_item_norms.npy", _sorted_norms)


def load_test_ranks(cells, root) -> dict[Cell, np.ndarray]:
    """1-based rank of every test user's target (user order), for the runs that saved it."""
    out = {}
    for cell in cells:
        path = cell.folder(root) / "test_ranks.npy"
        if path.exists():
            out[cell] = np.load(path).astype(np.int64)
    return out


def load_substitutions(cells, root) -> dict[str, dict[str, str]]:
    """{method: {what: text}} from the ``substitutions`` entry of the runs' settings.json."""
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for cell in cells:
        path = cell.folder(root) / "settings.json"
        if path.exists():
            subs = json.loads(path.read_text()).get("substitutions") or {}
            out[cell.method].update({str(k): str(v) for k, v in subs.items()})
    return {m: dict(sorted(s.items())) for m, s in sorted(out.items()) if s}


def describe_missing(
    missing: Iterable[Cell], planned: Iterable[Cell], pending: Iterable[str] = ()
) -> list[str]:
    """Short lines naming the missing runs: a method with no run at all in one line,
    otherwise one line per dataset/backbone/method with its missing seeds."""
    missing, planned, pending = set(missing), list(planned), set(pending)
    if not missing:
        return []
    lines = []
    by_method = defaultdict(list)
    for cell in planned:
        by_method[cell.method].append(cell)
    for method, cells in by_method.items():
        gone = sorted(c for c in cells if c in missing)
        if not gone:
            continue
        if len(gone) == len(cells):
            why = "not implemented yet" if method.split("~")[0] in pending else "no run finished"
            lines.append(f"{method}: all runs missing ({why})")
            continue
        seeds = defaultdict(list)
        for c in gone:
            seeds[(c.dataset, c.backbone)].append(str(c.seed))
        for (dataset, backbone), s in seeds.items():
            lines.append(f"{dataset}/{backbone}/{method}: seed {', '.join(s)} missing")
    return lines
