"""One entry point per data source: config entry -> :class:`readers.RawData`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import io
from . import readers

YELP_INSTRUCTIONS = """\
The Yelp Open Dataset is not downloaded automatically (its licence must be accepted).
  1. Get it from https://business.yelp.com/data/resources/open-dataset/
     (the JSON archive "Yelp-JSON.zip" containing yelp_dataset.tar).
  2. Extract {review_file} and {business_file}.
  3. Put both files in {dir}/ (relative to the workflow directory), or set
     datasets.{dataset}.dir in config.yaml to the folder that holds them.
Missing: {missing}"""

YELP2013_INSTRUCTIONS = """\
The RecSys-2013 Yelp release is not downloaded automatically (Kaggle's competition rules
must be accepted).
  1. Sign in to Kaggle, accept the rules of the competition "RecSys Challenge 2013: Yelp
     business rating prediction" and download its data from
     https://www.kaggle.com/competitions/yelp-recsys-2013/data
  2. From its training-set archive (yelp_training_set/) extract {review_file} and
     {business_file}.
  3. Put both files in {dir}/ (relative to the workflow directory), or set
     datasets.{dataset}.dir in config.yaml to the folder that holds them.
Missing: {missing}"""

#: source -> (reader, what to tell the user when the files are missing)
YELP_RELEASES = {
    "yelp": (readers.read_yelp, YELP_INSTRUCTIONS),
    "yelp2013": (readers.read_yelp2013, YELP2013_INSTRUCTIONS),
}


def import_raw(dataset: str, entry: dict[str, Any], inputs: dict[str, str]) -> readers.RawData:
    """Read a dataset's raw files as its config ``entry`` describes them.

    ``inputs`` holds the files Snakemake resolved for the job (Amazon downloads, atomic
    files); sources whose files are found here (recbole package, Yelp releases) ignore it.
    """
    source = entry["source"]
    fields = {"user": "user_id", "item": "item_id", "time": "timestamp", **entry.get("fields", {})}
    text_fields = entry.get("preprocess", {}).get("text_fields")
    if source == "recbole_package":
        folder = readers.recbole_package_dir(entry["recbole_name"])
        stem = entry["recbole_name"]
        inter, item = folder / f"{stem}.inter", folder / f"{stem}.item"
        return readers.read_recbole_atomic(
            inter,
            item if item.exists() else None,
            user_field=fields["user"],
            item_field=fields["item"],
            time_field=fields["time"],
            text_fields=text_fields,
        )
    if source == "atomic":
        return readers.read_recbole_atomic(
            inputs["inter"],
            inputs.get("item"),
            user_field=fields["user"],
            item_field=fields["item"],
            time_field=fields["time"],
            text_fields=text_fields,
        )
    if source == "amazon2018":
        return readers.read_amazon(inputs["reviews"], inputs["meta"])
    if source in YELP_RELEASES:
        reader, instructions = YELP_RELEASES[source]
        folder = Path(entry["dir"])
        review, business = folder / entry["review_file"], folder / entry["business_file"]
        missing = [str(p) for p in (review, business) if not p.exists()]
        if missing:
            raise FileNotFoundError(
                instructions.format(dataset=dataset, missing=", ".join(missing), **entry)
            )
        return reader(review, business)
    raise ValueError(f"datasets.{dataset}.source: unknown source {source!r}")


def write_raw(raw: readers.RawData, interactions: str, item_table: str, problems: str) -> None:
    io.write_table(interactions, raw.interactions)
    io.write_table(item_table, raw.items)
    io.write_json(problems, raw.problems)
