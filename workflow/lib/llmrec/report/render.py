"""Formatted tables: one tidy CSV (full precision) plus Markdown and LaTeX renderings of
a display layout, with footnotes (missing runs, substitutions, significance marks)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from .. import io, tables


@dataclass(frozen=True)
class Style:
    """How one output format writes emphasis, ±, a missing cell and the marks."""

    bold: str
    underline: str
    plus_minus: str
    missing: str
    marks: dict = field(default_factory=dict)


MARKDOWN = Style("**{}**", "<u>{}</u>", " ± ", "—", {"†": "†", "‡": "‡", "*": "*"})
LATEX = Style(
    r"\textbf{{{}}}",
    r"\underline{{{}}}",
    r"\textpm{}",
    "---",
    {"†": r"\textsuperscript{\dag}", "‡": r"\textsuperscript{\ddag}", "*": r"\textsuperscript{*}"},
)
MISSING = "—"


def is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def mean_std(mean, std, style: Style, place=None, marks: str = "", digits: int = 4) -> str:
    """``mean ± std`` with the best value bold (place 1) and the second underlined (2);
    the std is left out when it is undefined (one seed)."""
    if is_missing(mean):
        return style.missing
    text = f"{mean:.{digits}f}"
    if place == 1:
        text = style.bold.format(text)
    elif place == 2:
        text = style.underline.format(text)
    if not is_missing(std):
        text += style.plus_minus + f"{std:.{digits}f}"
    return text + "".join(style.marks[m] for m in marks)


LATEX_SYMBOLS = {
    "—": "---",
    "†": r"\dag{}",
    "‡": r"\ddag{}",
    "±": r"\textpm{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "α": r"\ensuremath{\alpha}",
    "ρ": r"\ensuremath{\rho}",
    "Δ": r"\ensuremath{\Delta}",
}


def latex_symbols(text: str) -> str:
    """Unicode symbols and < > as LaTeX commands (leaves existing commands alone)."""
    for plain, latex in LATEX_SYMBOLS.items():
        text = text.replace(plain, latex)
    return text


def latex_text(text: str) -> str:
    """Free text (captions, notes) for LaTeX."""
    return latex_symbols(tables.latex_escape(str(text).replace("~", r"\textasciitilde{}")))


def _latex_display(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.map(lambda v: latex_symbols(v) if isinstance(v, str) else v)
    return frame.rename(columns=lambda c: latex_symbols(str(c))).astype(object)


def write_table(
    tidy: pd.DataFrame,
    display: Callable[[Style], pd.DataFrame],
    notes: list[str],
    csv: str | Path,
    md: str | Path,
    tex: str | Path,
    caption: str,
) -> None:
    """Write ``tidy`` as CSV and ``display(style)`` as Markdown and LaTeX with ``notes``."""
    io.write_table(csv, tidy)
    markdown = f"**{caption}**\n\n" + tables.to_markdown(display(MARKDOWN).astype(object))
    if notes:
        markdown += "\n" + "".join(f"- {note}\n" for note in notes)
    io.write_text(md, markdown)
    latex = [r"\begin{table}[t]", r"\centering", r"\caption{" + latex_text(caption) + "}"]
    latex.append(r"\resizebox{\linewidth}{!}{%")
    latex.append(tables.to_latex(_latex_display(display(LATEX))).rstrip() + "}")
    if notes:
        latex.append(r"\par\smallskip\footnotesize")
        latex.append(" \\\\\n".join(latex_text(note) for note in notes))
    latex.append(r"\end{table}")
    io.write_text(tex, "\n".join(latex) + "\n")
