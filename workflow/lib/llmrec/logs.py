"""Logging set-up shared by the workflow scripts."""

from __future__ import annotations

import logging
import sys


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


def run_logged(main, log_path: str | None = None) -> None:
    """Run ``main()`` with logging set up; an exception is written to the log, then raised."""
    log = setup(log_path)
    try:
        main()
    except BaseException:
        log.exception("job failed")
        raise
