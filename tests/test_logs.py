"""Retries only for what a retry can cure: llmrec.logs.run_logged and its record of a
deterministic failure (the SLURM profile passes each job's attempt as a resource)."""

import logging

import pytest
import yaml

from conftest import ROOT
from llmrec import logs


@pytest.fixture(autouse=True)
def restore_logging():
    saved = logging.root.handlers[:], logging.root.level
    yield
    for handler in logging.root.handlers:
        handler.close()
    logging.root.handlers[:], _ = saved
    logging.root.setLevel(saved[1])


def job(calls, error=None):
    def main():
        calls.append(1)
        if error is not None:
            raise error
    return main


def test_a_deterministic_failure_is_not_run_again_on_the_retry(tmp_path):
    log, calls = tmp_path / "job.log", []
    with pytest.raises(ValueError, match="bad row 3"):
        logs.run_logged(job(calls, ValueError("items.tsv: bad row 3")), str(log), attempt=1)
    assert (tmp_path / "job.log.deterministic").read_text().startswith("ValueError: items.tsv")
    with pytest.raises(logs.DeterministicFailure, match="attempt 1 failed with ValueError: items.tsv: bad row 3"):
        logs.run_logged(job(calls), str(log), attempt=2)
    assert calls == [1]  # the retry did not run the job
    assert "not retried" in log.read_text()


@pytest.mark.parametrize("error", [MemoryError(), OSError(28, "No space left on device"),
                                   KeyboardInterrupt(), type("OutOfMemoryError", (RuntimeError,), {})()])
def test_what_a_retry_can_cure_is_retried(tmp_path, error):
    log, calls = tmp_path / "job.log", []
    with pytest.raises(type(error)):
        logs.run_logged(job(calls, error), str(log), attempt=1)
    assert not (tmp_path / "job.log.deterministic").exists()
    logs.run_logged(job(calls), str(log), attempt=2)
    assert calls == [1, 1]


def test_a_new_first_attempt_forgets_an_old_failure(tmp_path):
    log, calls = tmp_path / "job.log", []
    (tmp_path / "job.log.deterministic").write_text("ValueError: fixed since\n")
    logs.run_logged(job(calls), str(log), attempt=1)
    assert calls == [1] and not (tmp_path / "job.log.deterministic").exists()


def test_the_slurm_profile_passes_the_attempt_and_the_scripts_read_it():
    profile = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())
    assert profile["default-resources"]["attempt"] == "attempt"
    for script in (ROOT / "workflow/scripts").glob("*.py"):
        text = script.read_text()
        if "run_logged(" in text:
            assert 'attempt=snakemake.resources.get("attempt", 1)' in text, script.name
