"""Tables in the three forms the paper outputs use: CSV, Markdown and LaTeX (booktabs)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pandas as pd

from . import io

Formatter = Callable[[object], str]


def _cell(value, fmt: Formatter | None) -> str:
    if fmt is not None:
        return fmt(value)
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def to_markdown(frame: pd.DataFrame, formats: dict[str, Formatter] | None = None) -> str:
    formats = formats or {}
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = [
        "| " + " | ".join(_cell(v, formats.get(c)) for c, v in zip(frame.columns, row)) + " |"
        for row in frame.itertuples(index=False)
    ]
    return "\n".join([header, rule, *rows]) + "\n"


_LATEX_SPECIAL = {"&": r"\&", "%": r"\%", "_": r"\_", "#": r"\#", "$": r"\$"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def to_latex(
    frame: pd.DataFrame, formats: dict[str, Formatter] | None = None, caption: str = ""
) -> str:
    formats = formats or {}
    align = "".join("l" if frame[c].dtype == object else "r" for c in frame.columns)
    lines = [r"\begin{tabular}{" + align + "}", r"\toprule"]
    lines.append(" & ".join(latex_escape(c) for c in frame.columns) + r" \\")
    lines.append(r"\midrule")
    for row in frame.itertuples(index=False):
        cells = (latex_escape(_cell(v, formats.get(c))) for c, v in zip(frame.columns, row))
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    body = "\n".join(lines)
    if caption:
        body = (
            "\\begin{table}[t]\n\\centering\n\\caption{"
            + latex_escape(caption)
            + "}\n"
            + body
            + "\n\\end{table}"
        )
    return body + "\n"


def write_all(
    frame: pd.DataFrame,
    csv: str | Path,
    md: str | Path,
    tex: str | Path,
    formats: dict[str, Formatter] | None = None,
    caption: str = "",
) -> None:
    """Write one table as CSV (full precision), Markdown and LaTeX (formatted)."""
    io.write_table(csv, frame)
    io.write_text(md, to_markdown(frame, formats))
    io.write_text(tex, to_latex(frame, formats, caption))
