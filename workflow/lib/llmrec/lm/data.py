"""What the fine-tuning stages read from a processed dataset: sequences and item texts.

Item texts are built by preprocessing from ``text_fields`` in ``text_style``
(``key_value``: ``"movie title is Toy Story; release year is 1995; class is ..."``,
``values``: ``"Toy Story; 1995; ..."``), joined by ``"; "``, title field first.
"""

from __future__ import annotations

import json
from pathlib import Path

from llmrec.data import processed
from llmrec.data.preprocess import FIELD_SEPARATOR, item_title  # noqa: F401 (re-exported)



def load(data_dir: str | Path) -> tuple[processed.SequenceData, dict]:
    """(sequences and texts, the preprocessing settings recorded in ``summary.json``)."""
    data = processed.load(data_dir)
    summary = json.loads((Path(data_dir) / processed.SUMMARY).read_text())
    return data, summary.get("settings", {})


def item_titles(data: processed.SequenceData, preprocess: dict | None = None) -> list[str]:
    """:func:`item_title` of every item, in item-id order."""
    return [item_title(text, preprocess) for text in data.item_texts]


def item_attributes(text: str) -> list[str]:
    """The attribute list of an item text (LLMEmb's ``"key is value"`` items)."""
    return [part.strip() for part in text.split(FIELD_SEPARATOR) if part.strip()]
