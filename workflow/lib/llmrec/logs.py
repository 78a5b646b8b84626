"""Logging set-up shared by the workflow scripts."""

from __future__ import annotations

import logging
import sys
from pathlib import Path


def setup(log_path: str | None = None, level: int = logging.INFO) -> logging.Logger:
    """Send library and script logging to the rule's log file (and to stderr)."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        handlers.append(logging.FileHandler(log_path, mode="w", encoding="utf-8"))
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    return logging.getLogger("llmrec")


# What a second attempt (a retry, with more time and memory) can cure: memory, the file
# system, a signal (a time limit, preemption). Anything else (bad config or data, a bug)
# fails the same way again.
RETRYABLE = (MemoryError, OSError, KeyboardInterrupt, SystemExit)


def retryable(err: BaseException) -> bool:
    # torch.OutOfMemoryError (CUDA) is a RuntimeError: matched by name, torch not imported
    return isinstance(err, RETRYABLE) or type(err).__name__ == "OutOfMemoryError"


class DeterministicFailure(RuntimeError):
    """A retry of a job whose previous attempt failed in a way a retry cannot cure."""


def run_logged(main, log_path: str | None = None, attempt: int = 1) -> None:
    """Run ``main()`` with logging set up; an exception is written to the log, then raised.

    A failure that a retry cannot cure (not :func:`retryable`) is recorded next to the log
    (``<log>.deterministic``); a retry of that job (``attempt`` > 1) then fails at once with
    the same message instead of running again. Attempt 1 removes an old record.
    """
    log = setup(log_path)
    record = Path(f"{log_path}.deterministic") if log_path else None
    if record is not None:
        if attempt > 1 and record.is_file():
            message = record.read_text().strip()
            log.error("not retried: attempt %d failed with an error a retry cannot cure: %s",
                      attempt - 1, message)
            raise DeterministicFailure(f"not retried: attempt {attempt - 1} failed with {message}")
        if attempt == 1:
            record.unlink(missing_ok=True)
    try:
        main()
    except BaseException as err:
        log.exception("job failed")
        if record is not None and not retryable(err):
            record.write_text(f"{type(err).__name__}: {err}\n")
        raise
