"""Shared fixtures: the repository root and a runner for the workflow's CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "lib"))

# Where the training and fine-tuning tests put their models: the CPU (CI, laptops), or a
# GPU to check the CUDA path on a GPU node: LLMREC_TEST_DEVICE=cuda python -m pytest
# tests/test_backbones.py tests/test_training.py tests/test_baselines.py tests/test_llm_finetune.py
DEVICE = os.environ.get("LLMREC_TEST_DEVICE", "cpu")


def snakemake(*args: str, cwd: Path = ROOT, check: bool = True) -> subprocess.CompletedProcess:
    """Run the snakemake CLI of this interpreter's environment; return the result."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    cmd = [sys.executable, "-m", "snakemake", *args]
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout[-4000:]}\n"
            f"{result.stderr[-6000:]}"
        )
    return result


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: a second thread only adds overhead, and its synchronisation stalls
    badly on a busy 2-core machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def server():
    """A local HTTP server with Range support (see httpserver.py)."""
    from httpserver import Server

    s = Server()
    yield s
    s.close()


def copy_workflow(dest: Path, seeds: list[int] | None = None) -> Path:
    """Copy the workflow (code, config, profiles; no results) into ``dest``. ``seeds``
    (e.g. [0]) replaces the embedded experiment's seeds (three by default): the tests
    that run jobs train one seed, the plan tests check the three of config.yaml."""
    for name in ("Snakefile", "config.yaml", "workflow", "envs", "profiles"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, dest / name)
    if seeds is not None:
        config = yaml.safe_load((dest / "config.yaml").read_text())
        config["experiments"]["embedded"]["seeds"] = list(seeds)
        (dest / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return dest


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A copy of the workflow (code and config, no results) to run in isolation, with one
    seed."""
    return copy_workflow(tmp_path, seeds=[0])


#: modules whose every test runs the workflow (snakemake) or a model end to end
WORKFLOW_MODULES = {"test_workflow", "test_train_workflow", "test_data_workflow", "test_slurm_profile",
                    "test_slurm_cluster", "test_llm_finetune", "test_encoders", "test_tools"}  # fmt: skip


def pytest_collection_modifyitems(config, items):
    """Mark the slow tests `workflow` (a snakemake run, a model end to end), the others
    `unit`, so that `make test-unit` (-m unit) runs the fast part alone."""
    for item in items:
        slow = item.module.__name__ in WORKFLOW_MODULES or "workdir" in getattr(item, "fixturenames", ())
        item.add_marker(pytest.mark.workflow if slow else pytest.mark.unit)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Say plainly whether the real-SLURM rehearsal, left out of plain pytest, can run here."""
    if "slurm" in (config.getoption("markexpr") or "").replace("not slurm", ""):
        return  # this is the rehearsal's own run
    why = subprocess.run(["bash", str(ROOT / "tests/slurm/cluster.sh"), "can-run"],
                         capture_output=True, text=True)
    if why.returncode == 0:
        line = "the real-SLURM rehearsal is not part of this run: `make test-slurm` runs it (root and apt-get are here)"
    else:
        line = f"the real-SLURM rehearsal (`make test-slurm`) cannot run here: {why.stderr.strip()}"
    terminalreporter.write_line(line)
