"""End-to-end runs of the data rules: ml-100k from the recbole wheel, a user's atomic
dataset, the Amazon chain against a local HTTP server, and Yelp's missing-file message."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import yaml

from conftest import snakemake
from llmrec.data import processed



def set_config(workdir: Path, **changes) -> None:
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    for dotted, value in changes.items():
        node = config
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node[key]
        node[leaf] = value
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def test_ml100k_data_rules_end_to_end(workdir: Path):
    snakemake("--cores", "2", "data", cwd=workdir)
    data = processed.load(workdir / "results/data/ml-100k")
    summary = json.loads((workdir / "results/data/ml-100k/summary.json").read_text())
    # RecBole's ml-100k: 943 users with >= 20 ratings each; 5/5-core keeps every user
    assert data.n_users == 943
    assert summary["statistics"]["interactions"] == data.n_interactions
    assert 1000 < data.n_items <= 1682
    assert all(len(s) >= 5 for s in data.sequences)
    assert data.item_texts[0].startswith("movie title is ")
    stats = pd.read_csv(workdir / "results/tables/dataset_stats.csv")
    assert list(stats["dataset"]) == ["ml-100k"]
    assert stats.loc[0, "users"] == 943
    md = (workdir / "results/tables/dataset_stats.md").read_text()
    tex = (workdir / "results/tables/dataset_stats.tex").read_text()
    assert "| ml-100k | 943 |" in md
    assert "\\toprule" in tex and "ml-100k" in tex
    # a second run has nothing to do
    again = snakemake("--cores", "2", "data", "-n", cwd=workdir)
    assert "Nothing to be done" in again.stdout + again.stderr


def write_atomic(folder: Path, name: str, n_users=12, n_items=8, per_user=6) -> None:
    folder.mkdir(parents=True)
    lines = ["uid:token\tiid:token\tts:float"]
    for u in range(n_users):
        for k in range(per_user):
            lines.append(f"u{u}\ti{(u + k) % n_items}\t{1000 + 10 * k + u}.0")
    (folder / f"{name}.inter").write_text("\n".join(lines) + "\n")
    items = ["iid:token\ttitle:token_seq"] + [f"i{i}\tItem number {i}" for i in range(n_items)]
    (folder / f"{name}.item").write_text("\n".join(items) + "\n")


# config entry of the dataset that write_atomic(workdir / "mydata", "toy") creates
ATOMIC_TOY = {
    "source": "atomic",
    "path": "mydata",
    "name": "toy",
    "fields": {"user": "uid", "item": "iid", "time": "ts"},
    "preprocess": {"text_fields": ["title"], "user_core": 3, "item_core": 3},
}


def test_user_atomic_dataset_end_to_end(workdir: Path):
    write_atomic(workdir / "mydata", "toy")
    set_config(workdir, **{"datasets.toy": ATOMIC_TOY, "experiments.embedded.datasets": ["toy"]})
    snakemake("--cores", "2", "data", cwd=workdir)
    data = processed.load(workdir / "results/data/toy")
    assert (data.n_users, data.n_items, data.n_interactions) == (12, 8, 72)
    assert data.item_texts[0] == "title is Item number 0"


def test_yelp_missing_files_say_where_to_get_them(workdir: Path):
    set_config(workdir, **{"experiments.embedded.datasets": ["yelp"]})
    result = snakemake("--cores", "1", "data", cwd=workdir, check=False)
    assert result.returncode != 0
    log = (workdir / "logs/import_yelp/yelp.log").read_text()
    for text in ("business.yelp.com", "yelp_academic_dataset_review.json", "resources/yelp"):
        assert text in log
    assert not (workdir / "results/raw/yelp/yelp/interactions.tsv").exists()


def amazon_files(n_users=8, n_items=6):
    """A 5-core-like review file and a metadata file in Amazon 2018's gzipped JSON lines."""
    reviews = []
    for u in range(n_users):
        for k in range(4):
            item = (u + k) % n_items
            reviews.append(
                {"reviewerID": f"R{u}", "asin": f"B{item:04d}", "unixReviewTime": 1_500_000_000
                 + 86400 * k + u, "overall": 5.0, "reviewText": "fine"}
            )
    meta = [
        {"asin": f"B{i:04d}", "title": f"Ball <b>{i}</b>", "brand": "Acme",
         "category": ["Sports & Outdoors", "Balls"], "description": ["Round.", "Bouncy."]}
        for i in range(n_items)
    ]
    lines = lambda rows: "".join(json.dumps(r) + "\n" for r in rows).encode()  # noqa: E731
    return gzip.compress(lines(reviews), mtime=0), gzip.compress(lines(meta), mtime=0)


def serve_amazon(workdir: Path, server, dataset: str, **changes) -> tuple[bytes, bytes]:
    """Serve the two Amazon files locally and point the dataset's URLs at them."""
    reviews, meta = amazon_files()
    server.files["/reviews.json.gz"] = reviews
    server.files["/meta.json.gz"] = meta
    set_config(
        workdir,
        **{
            "experiments.embedded.datasets": [dataset],
            f"datasets.{dataset}.reviews_url": server.url("/reviews.json.gz"),
            f"datasets.{dataset}.meta_url": server.url("/meta.json.gz"),
            **changes,
        },
    )
    return reviews, meta


def test_amazon_chain_downloads_parses_and_preprocesses(workdir: Path, server):
    reviews, meta = serve_amazon(
        workdir,
        server,
        "sports",
        **{
            "datasets.sports.preprocess.user_core": 3,
            "datasets.sports.preprocess.item_core": 3,
        },
    )
    set_config(workdir, **{"datasets.sports.meta_size": len(meta)})
    snakemake("--cores", "2", "data", cwd=workdir)
    assert (workdir / "resources/amazon2018/sports/reviews.json.gz").read_bytes() == reviews
    assert (workdir / "resources/amazon2018/sports/meta.json.gz.sha256").exists()
    data = processed.load(workdir / "results/data/sports")
    assert (data.n_users, data.n_items, data.n_interactions) == (8, 6, 32)
    assert data.item_texts[0] == (
        "title is Ball 0; brand is Acme; category is Sports & Outdoors, Balls; "
        "description is Round. Bouncy."
    )
    stats = pd.read_csv(workdir / "results/tables/dataset_stats.csv")
    assert list(stats["dataset"]) == ["sports"]


def test_amazon_size_pin_mismatch_fails_without_output(workdir: Path, server):
    reviews, _ = serve_amazon(workdir, server, "cds")
    set_config(workdir, **{"datasets.cds.reviews_size": len(reviews) + 1})
    result = snakemake("--cores", "1", "data", cwd=workdir, check=False)
    assert result.returncode != 0
    assert not (workdir / "resources/amazon2018/cds/reviews.json.gz").exists()
    log = (workdir / "logs/download_amazon/cds.reviews.log").read_text()
    assert str(len(reviews) + 1) in log


def test_yelp2013_release_end_to_end_with_3_core(workdir: Path):
    """The RecSys-2013 release in its exact format: 4 reviews per user, which the
    configured single-pass 3/3 filter keeps (a 5-core would keep nothing)."""
    folder = workdir / "resources/yelp2013"
    folder.mkdir(parents=True)
    reviews = [
        {
            "votes": {"funny": 0, "useful": 1, "cool": 0},
            "user_id": f"U{u:02d}",
            "review_id": f"R{u:02d}{k}",
            "stars": 4,
            "date": f"2012-0{1 + k}-1{u % 10}",
            "text": "Nice place.",
            "type": "review",
            "business_id": f"B{(u + k) % 6}",
        }
        for u in range(12)
        for k in range(4)
    ]
    business = [
        {
            "business_id": f"B{b}",
            "full_address": "1 Main St\nPhoenix, AZ 85001",
            "open": True,
            "categories": ["Restaurants", "Pizza"],
            "city": "Phoenix",
            "review_count": 8,
            "name": f"Pizza {b}",
            "neighborhoods": [],
            "longitude": -112.0,
            "state": "AZ",
            "stars": 4.0,
            "latitude": 33.4,
            "type": "business",
        }
        for b in range(6)
    ]
    for name, rows in (("review", reviews), ("business", business)):
        lines = "".join(json.dumps(r) + "\n" for r in rows)
        (folder / f"yelp_training_set_{name}.json").write_text(lines)
    set_config(workdir, **{"experiments.embedded.datasets": ["yelp2013"]})
    snakemake("--cores", "2", "data", cwd=workdir)
    data = processed.load(workdir / "results/data/yelp2013")
    assert (data.n_users, data.n_items, data.n_interactions) == (12, 6, 48)
    assert data.item_texts[0] == "name is Pizza 0; categories is Restaurants, Pizza; city is Phoenix; state is AZ"
    summary = json.loads((workdir / "results/data/yelp2013/summary.json").read_text())
    settings = summary["settings"]
    assert (settings["user_core"], settings["item_core"]) == (3, 3)
    assert (settings["core_mode"], settings["duplicates"]) == ("single_pass", "keep_all")
