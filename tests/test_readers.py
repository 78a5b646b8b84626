"""Raw readers: small files in each source's exact raw format -> RawData."""

from __future__ import annotations

import calendar
import gzip
import json
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmrec.data import readers
from llmrec.data.readers import PROBLEM_KINDS, RawFormatError

N_GOOD = 300  # enough good lines that two bad ones stay under the 1% limit


def write_lines(path: Path, lines: list[str], *, gz: bool = False) -> Path:
    data = "".join(line + "\n" for line in lines).encode("utf-8")
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


def assert_frames(raw: readers.RawData, text_fields: list[str]) -> None:
    """The raw form's column names and dtypes."""
    assert list(raw.interactions.columns) == ["user", "item", "timestamp"]
    assert raw.interactions["timestamp"].dtype == np.int64
    assert raw.interactions["user"].map(type).eq(str).all()
    assert raw.interactions["item"].map(type).eq(str).all()
    assert list(raw.items.columns) == ["item", *text_fields]
    for column in raw.items.columns:
        assert raw.items[column].map(type).eq(str).all(), column
    assert raw.items["item"].is_unique
    assert set(raw.problems) == set(PROBLEM_KINDS)


def error_at(exc: pytest.ExceptionInfo, path: Path, line: int) -> str:
    """The error message, after checking that it names the file and the line."""
    message = str(exc.value)
    assert message.startswith(f"{path}:{line}: expected "), message
    assert exc.value.path == str(path) and exc.value.line == line
    return message


# ------------------------------------------------------------------------------------
# RecBole atomic files
# ------------------------------------------------------------------------------------

INTER_HEADER = "user_id:token\titem_id:token\trating:float\ttimestamp:float"
ITEM_HEADER = "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq"


def atomic_inter(tmp_path: Path, extra: list[str] = (), header: str = INTER_HEADER) -> Path:
    good = [f"{u % 17}\t{u % 23}\t{u % 5 + 1}\t{881250000 + u}.0" for u in range(N_GOOD)]
    return write_lines(tmp_path / "d.inter", [header, *good[:3], *extra, *good[3:]])


def test_recbole_atomic_reads_typed_header_and_counts_bad_rows(tmp_path):
    inter = atomic_inter(tmp_path, ["1\t2\t3", "4\t5\t3\tnot-a-time", ""])
    item = write_lines(
        tmp_path / "d.item",
        [
            ITEM_HEADER,
            "1\tToy Story\t1995\tAnimation Children's Comedy",
            "2\tGoldenEye\t\tAction",
            "1\tToy Story again\t1996\tComedy",
        ]
        + [f"{k}\tMovie {k}\t2000\tDrama" for k in range(3, 30)],
    )
    raw = readers.read_recbole_atomic(inter, item)
    assert_frames(raw, ["movie_title", "release_year", "class"])
    assert len(raw.interactions) == N_GOOD
    assert raw.interactions.iloc[:4].values.tolist() == [
        ["0", "0", 881250000],
        ["1", "1", 881250001],
        ["2", "2", 881250002],
        ["3", "3", 881250003],
    ]  # raw file order, float timestamps as int64 seconds
    assert raw.problems == {
        **dict.fromkeys(PROBLEM_KINDS, 0),
        "malformed_lines": 1,
        "bad_timestamps": 1,
        "duplicate_metadata": 1,
    }
    first = raw.items.set_index("item").loc["1"].to_dict()
    assert first == {
        "movie_title": "Toy Story",
        "release_year": "1995",
        "class": "Animation Children's Comedy",
    }  # first of the duplicates
    assert raw.items.set_index("item").loc["2", "release_year"] == ""


def test_recbole_atomic_text_fields_and_no_item_file(tmp_path):
    inter = atomic_inter(tmp_path)
    item = write_lines(
        tmp_path / "d.item", [ITEM_HEADER, "1\tToy Story\t1995\tComedy", "2\t\t1996\tDrama"]
    )
    raw = readers.read_recbole_atomic(inter, item, text_fields=["movie_title"])
    assert raw.items.to_dict("list") == {"item": ["1", "2"], "movie_title": ["Toy Story", ""]}
    assert not any(raw.problems.values())
    bare = readers.read_recbole_atomic(inter)
    assert list(bare.items.columns) == ["item"] and bare.items.empty
    with pytest.raises(RawFormatError) as exc:
        readers.read_recbole_atomic(inter, item, text_fields=["genre"])
    assert "missing ['genre']" in error_at(exc, item, 1)


def test_recbole_atomic_custom_field_names(tmp_path):
    inter = write_lines(
        tmp_path / "x.inter",
        ["session:token\tsong:token\tt:float", *[f"s{k}\tx{k}\t{k}" for k in range(5)]],
    )
    raw = readers.read_recbole_atomic(
        inter, user_field="session", item_field="song", time_field="t"
    )
    assert raw.interactions["user"].tolist() == [f"s{k}" for k in range(5)]
    assert raw.interactions["timestamp"].tolist() == list(range(5))


@pytest.mark.parametrize(
    "header",
    ["user_id,item_id,rating,timestamp", "user:token\titem_id:token\ttimestamp:float"],
)
def test_recbole_atomic_wrong_header(tmp_path, header):
    inter = atomic_inter(tmp_path, header=header)
    with pytest.raises(RawFormatError) as exc:
        readers.read_recbole_atomic(inter)
    message = error_at(exc, inter, 1)
    assert "user_id" in message and "columns [" in message and "missing ['user_id'" in message


def test_recbole_atomic_first_data_line_or_too_many_bad_lines_reject_the_file(tmp_path):
    bad_first = write_lines(tmp_path / "a.inter", [INTER_HEADER, "1\t2\t3", "1\t2\t3\t4"])
    with pytest.raises(RawFormatError) as exc:
        readers.read_recbole_atomic(bad_first)
    assert "4 tab-separated values" in error_at(exc, bad_first, 2)

    many_bad = atomic_inter(tmp_path, ["1\t2\t3"] * 4)  # 4 of 304 lines > 1%
    with pytest.raises(RawFormatError) as exc:
        readers.read_recbole_atomic(many_bad)
    assert "4 of 304 data lines" in error_at(exc, many_bad, 5)
    # the limit is a setting
    raw = readers.read_recbole_atomic(many_bad, max_bad_fraction=0.05)
    assert raw.problems["malformed_lines"] == 4

    empty = write_lines(tmp_path / "e.inter", [])
    with pytest.raises(RawFormatError) as exc:
        readers.read_recbole_atomic(empty)
    error_at(exc, empty, 1)


def test_recbole_package_dir_ml_100k():
    try:
        folder = readers.recbole_package_dir("ml-100k")
    except ModuleNotFoundError:
        pytest.skip("recbole is not installed")
    assert folder.name == "ml-100k" and folder.parent.name == "dataset_example"
    raw = readers.read_recbole_atomic(folder / "ml-100k.inter", folder / "ml-100k.item")
    assert_frames(raw, ["movie_title", "release_year", "class"])
    assert len(raw.interactions) == 100_000 and len(raw.items) == 1682
    assert not any(raw.problems.values())
    assert raw.interactions.iloc[0].tolist() == ["196", "242", 881250949]
    assert not raw.interactions.duplicated(["user", "item"]).any()
    with pytest.raises(FileNotFoundError, match="available: .*ml-100k"):
        readers.recbole_package_dir("no-such-dataset")


def test_recbole_package_dir_without_recbole(monkeypatch):
    monkeypatch.setattr(readers.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install --no-deps recbole==1\.2\.1"):
        readers.recbole_package_dir()


# ------------------------------------------------------------------------------------
# Amazon Review Data (2018)
# ------------------------------------------------------------------------------------


def amazon_review(user: str, asin: str, t: int, **extra) -> str:
    record = {
        "overall": 5.0,
        "verified": True,
        "reviewTime": "06 3, 2014",
        "reviewerID": user,
        "asin": asin,
        "reviewerName": "X",
        "reviewText": "Works well",
        "summary": "ok",
        "unixReviewTime": t,
        **extra,
    }
    return json.dumps(record)


def amazon_reviews(tmp_path: Path, extra: list[str] = ()) -> Path:
    good = [amazon_review(f"U{k % 40}", f"B{k % 7:09d}", 1401753600 + k) for k in range(N_GOOD)]
    return write_lines(tmp_path / "reviews.json.gz", [*good[:2], *extra, *good[2:]], gz=True)


def amazon_meta(tmp_path: Path) -> Path:
    records = [
        {
            "asin": "B000000000",
            "title": "Camp <b>Stove</b> &amp; Pot\n\t Set",
            "brand": "  Coleman ",
            "category": ["Sports & Outdoors", "Outdoor Recreation", ""],
            "description": ["<p>Light.</p>", "Sturdy\nand   small."],
            "also_buy": ["B1"],
            "price": "$19.99",
        },
        {
            "asin": "B000000001",
            "title": "var aPageStart = (new Date()).getTime();",
            "brand": "Acme",
            "category": [],
            "description": "One <br/>string",
        },
        {"asin": "B000000002"},  # no text at all
        {"asin": "B000000000", "title": "duplicate, ignored"},
        {"asin": "B999999999", "title": "never reviewed"},
        *[{"asin": f"B{k:09d}", "title": f"Item {k}", "brand": None} for k in range(3, 7)],
    ]
    lines = [json.dumps(r) for r in records]
    return write_lines(tmp_path / "meta.json.gz", lines, gz=True)


def test_amazon_reviews_and_metadata(tmp_path):
    reviews = amazon_reviews(
        tmp_path,
        [
            '{"reviewerID": "U1", "asin": ',  # cut-off JSON
            amazon_review("U1", "B000000001", 1)[:-1] + ', "x": }',  # not JSON either
            json.dumps({"asin": "B000000001", "unixReviewTime": 5}),  # no reviewerID
            amazon_review("U2", "B000000001", "yesterday"),  # bad time
        ],
    )
    raw = readers.read_amazon(reviews, amazon_meta(tmp_path), max_bad_fraction=0.02)
    assert_frames(raw, ["title", "brand", "category", "description"])
    assert len(raw.interactions) == N_GOOD
    assert raw.interactions.iloc[:3].values.tolist() == [
        ["U0", "B000000000", 1401753600],
        ["U1", "B000000001", 1401753601],
        ["U2", "B000000002", 1401753602],
    ]
    assert raw.problems == {
        "malformed_lines": 2,
        "missing_fields": 1,
        "bad_timestamps": 1,
        "duplicate_metadata": 1,
        "junk_text": 1,
    }
    items = raw.items.set_index("item")
    assert list(items.index) == [f"B{k:09d}" for k in range(7)]  # unreviewed item dropped
    assert items.loc["B000000000"].to_dict() == {
        "title": "Camp Stove & Pot Set",
        "brand": "Coleman",
        "category": "Sports & Outdoors, Outdoor Recreation",
        "description": "Light. Sturdy and small.",
    }
    assert items.loc["B000000001"].to_dict() == {
        "title": "",
        "brand": "Acme",
        "category": "",
        "description": "One string",
    }
    assert items.loc["B000000002"].tolist() == ["", "", "", ""]
    assert items.loc["B000000003", "brand"] == ""
    every = readers.read_amazon(
        reviews, amazon_meta(tmp_path), all_items=True, max_bad_fraction=0.02
    )
    assert "B999999999" in set(every.items["item"])


def test_amazon_reads_in_a_stream(tmp_path, monkeypatch):
    """The readers never read a whole file at once: only line by line."""
    reviews, meta = amazon_reviews(tmp_path), amazon_meta(tmp_path)

    def no_full_reads(*args, **kwargs):
        raise AssertionError("a whole file was read at once")

    monkeypatch.setattr(gzip.GzipFile, "readlines", no_full_reads)
    monkeypatch.setattr(Path, "read_bytes", no_full_reads)
    monkeypatch.setattr(Path, "read_text", no_full_reads)
    assert len(readers.read_amazon(reviews, meta).interactions) == N_GOOD


def test_amazon_rejects_csv_and_other_formats(tmp_path):
    meta = amazon_meta(tmp_path)
    csv = write_lines(tmp_path / "reviews.json.gz", ["user,item,time", "u1,i1,1"])
    with pytest.raises(RawFormatError) as exc:
        readers.read_amazon(csv, meta)
    assert "gzip" in error_at(exc, csv, 1) and "'user,item,time" in str(exc.value)

    gz_csv = write_lines(tmp_path / "csv.json.gz", ["user,item,time", "u1,i1,1"], gz=True)
    with pytest.raises(RawFormatError) as exc:
        readers.read_amazon(gz_csv, meta)
    assert "a JSON object with keys reviewerID, asin, unixReviewTime" in error_at(exc, gz_csv, 1)
    assert "invalid JSON" in str(exc.value)

    # metadata passed as reviews: JSON, but not the right keys
    with pytest.raises(RawFormatError) as exc:
        readers.read_amazon(meta, meta)
    assert "no value for reviewerID, unixReviewTime" in error_at(exc, meta, 1)

    blank_first = write_lines(tmp_path / "b.json.gz", ["", "[1, 2]"], gz=True)
    with pytest.raises(RawFormatError) as exc:
        readers.read_amazon(blank_first, meta)
    assert "found a JSON list" in error_at(exc, blank_first, 2)


def test_amazon_truncated_gzip(tmp_path):
    reviews = amazon_reviews(tmp_path)
    data = reviews.read_bytes()
    reviews.write_bytes(data[: len(data) // 2])
    with pytest.raises(RawFormatError, match="expected an intact gzip stream") as exc:
        readers.read_amazon(reviews, amazon_meta(tmp_path))
    assert str(exc.value).startswith(f"{reviews}:")
    assert exc.value.line > 1  # where reading stopped


def test_amazon_too_many_malformed_lines(tmp_path):
    reviews = amazon_reviews(tmp_path, ["{not json"] * 3 + [json.dumps({"asin": "x"})] * 2)
    with pytest.raises(RawFormatError) as exc:
        readers.read_amazon(reviews, amazon_meta(tmp_path))
    message = error_at(exc, reviews, 3)
    assert "5 of 305 data lines (1.6%) unusable" in message


# ------------------------------------------------------------------------------------
# Yelp Open Dataset
# ------------------------------------------------------------------------------------


def yelp_review(n: int, date: object) -> str:
    return json.dumps(
        {
            "review_id": f"r{n}",
            "user_id": f"user{n % 11}",
            "business_id": f"biz{n % 5}",
            "stars": 4.0,
            "useful": 0,
            "date": date,
            "text": "Great\nfood!",
        }
    )


def yelp_business(biz: str, **fields) -> str:
    record = {
        "business_id": biz,
        "name": "Cafe",
        "address": "1 Main St",
        "city": "Tampa",
        "state": "FL",
        "postal_code": "33601",
        "latitude": 27.9,
        "longitude": -82.4,
        "stars": 4.5,
        "review_count": 9,
        "is_open": 1,
        "attributes": {"WiFi": "u'free'"},
        "categories": "Coffee & Tea, Cafes",
        "hours": None,
        **fields,
    }
    return json.dumps(record)


@pytest.mark.parametrize("gz", [False, True])
def test_yelp_reviews_and_businesses(tmp_path, gz):
    good = [yelp_review(n, f"2018-07-07 22:{n // 60 % 60:02d}:{n % 60:02d}") for n in range(N_GOOD)]
    reviews = write_lines(
        tmp_path / "yelp_academic_dataset_review.json",
        [*good[:2], yelp_review(999, "07/07/2018 bad"), "{oops", *good[2:]],
        gz=gz,
    )
    business = write_lines(
        tmp_path / "yelp_academic_dataset_business.json",
        [
            yelp_business("biz0", name="  Joe's\tDiner "),
            yelp_business("biz1", categories=None),
            yelp_business("biz0", name="dup"),
            json.dumps({"name": "no id"}),
            *[yelp_business(f"biz{k}") for k in (2, 3, 4, 77)],
        ],
        gz=not gz,
    )
    raw = readers.read_yelp(reviews, business, max_bad_fraction=0.2)
    assert_frames(raw, ["name", "categories", "city", "state"])
    assert len(raw.interactions) == N_GOOD
    expected = calendar.timegm(time.strptime("2018-07-07 22:00:01", "%Y-%m-%d %H:%M:%S"))
    assert raw.interactions.iloc[1].tolist() == ["user1", "biz1", expected]
    assert expected == 1531000801
    assert raw.problems == {
        **dict.fromkeys(PROBLEM_KINDS, 0),
        "malformed_lines": 1,
        "bad_timestamps": 1,
        "missing_fields": 1,
        "duplicate_metadata": 1,
    }
    items = raw.items.set_index("item")
    assert list(items.index) == ["biz0", "biz1", "biz2", "biz3", "biz4"]  # biz77: no reviews
    assert items.loc["biz0"].tolist() == ["Joe's Diner", "Coffee & Tea, Cafes", "Tampa", "FL"]
    assert items.loc["biz1", "categories"] == ""


def test_yelp_bad_first_date_and_wrong_file(tmp_path):
    business = write_lines(tmp_path / "b.json", [yelp_business("biz0")])
    reviews = write_lines(tmp_path / "r.json", [yelp_review(0, None), yelp_review(1, "2019-01-01")])
    with pytest.raises(RawFormatError) as exc:
        readers.read_yelp(reviews, business)
    assert "date" in error_at(exc, reviews, 1)

    reviews = write_lines(tmp_path / "r2.json", [yelp_review(0, 1546300800)])
    with pytest.raises(RawFormatError) as exc:
        readers.read_yelp(reviews, business)
    assert "a date like '2018-07-07 22:09:11'" in error_at(exc, reviews, 1)

    with pytest.raises(RawFormatError) as exc:  # the business file passed as reviews
        readers.read_yelp(business, business)
    assert "no value for user_id, date" in error_at(exc, business, 1)

    tsv = write_lines(tmp_path / "r.tsv", ["user_id\tbusiness_id\tdate"])
    with pytest.raises(RawFormatError) as exc:
        readers.read_yelp(tsv, business)
    assert "a JSON object with keys user_id, business_id, date" in error_at(exc, tsv, 1)


# ------------------------------------------------------------------------------------
# text cleaning
# ------------------------------------------------------------------------------------


@given(st.text())
def test_clean_text_gives_one_trimmed_line(text):
    cleaned = readers.clean_text(text)
    assert cleaned == cleaned.strip()
    assert not any(ch in cleaned for ch in "\t\n\r")
    assert "  " not in cleaned


def test_clean_text_and_junk():
    assert readers.clean_text("<script>var x = 1;</script> A &amp; B <i>c</i>") == "A & B c"
    assert readers.clean_text("3 < 4 > 2") == "3 < 4 > 2"
    assert readers.clean_text(None) == "" and readers.clean_text(12) == "12"
    assert readers.looks_like_junk("var aPageStart = (new Date()).getTime();")
    assert not readers.looks_like_junk("Function Junction: 3-in-1 Tool")


# ------------------------------------------------------------------------------------
# Yelp RecSys-2013 release (Kaggle "yelp-recsys-2013": yelp_training_set_*.json)
# ------------------------------------------------------------------------------------


def yelp2013_review(n: int, date: object, user: str | None = None) -> str:
    """One line of yelp_training_set_review.json, with that release's keys."""
    return json.dumps(
        {
            "votes": {"funny": 0, "useful": n % 3, "cool": 1},
            "user_id": user or f"user{n % 11}",
            "review_id": f"rev{n:06d}",
            "stars": 1 + n % 5,
            "date": date,
            "text": "Loved it.\n\nWill come back.",
            "type": "review",
            "business_id": f"biz{n % 5}",
        }
    )


def yelp2013_business(biz: str, **fields) -> str:
    """One line of yelp_training_set_business.json (categories: a list)."""
    record = {
        "business_id": biz,
        "full_address": "8466 W Peoria Ave\nSte 6\nPeoria, AZ 85345",
        "open": True,
        "categories": ["Accountants", "Professional Services", "Tax Services"],
        "city": "Peoria",
        "review_count": 3,
        "name": "Peoria Income Tax Service",
        "neighborhoods": [],
        "longitude": -112.241596,
        "state": "AZ",
        "stars": 5.0,
        "latitude": 33.581867,
        "type": "business",
        **fields,
    }
    return json.dumps(record)


def test_yelp2013_training_set_files(tmp_path):
    good = [yelp2013_review(n, f"2011-{1 + n % 12:02d}-{1 + n % 28:02d}") for n in range(N_GOOD)]
    reviews = write_lines(
        tmp_path / "yelp_training_set_review.json",
        [*good[:3], yelp2013_review(999, "26/01/2011"), *good[3:]],
    )
    business = write_lines(
        tmp_path / "yelp_training_set_business.json",
        [
            yelp2013_business("biz0", name="  Joe's\tDiner "),
            yelp2013_business("biz1", categories=[]),
            yelp2013_business("biz2", categories=["Food", " ", "Coffee & Tea"]),
            yelp2013_business("biz0", name="dup"),
            *[yelp2013_business(f"biz{k}") for k in (3, 4, 77)],
        ],
    )
    raw = readers.read_yelp2013(reviews, business, max_bad_fraction=0.2)
    assert_frames(raw, ["name", "categories", "city", "state"])
    assert len(raw.interactions) == N_GOOD
    # a day, read as midnight UTC
    expected = calendar.timegm(time.strptime("2011-02-02", "%Y-%m-%d"))
    assert raw.interactions.iloc[1].tolist() == ["user1", "biz1", expected]
    assert raw.problems == {**dict.fromkeys(PROBLEM_KINDS, 0), "bad_timestamps": 1, "duplicate_metadata": 1}
    items = raw.items.set_index("item")
    assert list(items.index) == ["biz0", "biz1", "biz2", "biz3", "biz4"]  # biz77: no reviews
    assert items.loc["biz0"].tolist() == [
        "Joe's Diner",
        "Accountants, Professional Services, Tax Services",
        "Peoria",
        "AZ",
    ]
    assert items.loc["biz1", "categories"] == ""
    assert items.loc["biz2", "categories"] == "Food, Coffee & Tea"


def test_yelp2013_bad_first_date_names_the_release_format(tmp_path):
    business = write_lines(tmp_path / "b.json", [yelp2013_business("biz0")])
    reviews = write_lines(tmp_path / "r.json", [yelp2013_review(0, "Jan 26 2011")])
    with pytest.raises(RawFormatError) as exc:
        readers.read_yelp2013(reviews, business)
    assert "a date like '2011-01-26'" in error_at(exc, reviews, 1)
    with pytest.raises(RawFormatError) as exc:  # the business file passed as reviews
        readers.read_yelp2013(business, business)
    assert "no value for user_id, date" in error_at(exc, business, 1)


def test_yelp2013_missing_files_say_where_to_get_them(tmp_path):
    from llmrec.data import sources

    entry = {
        "source": "yelp2013",
        "dir": str(tmp_path / "resources/yelp2013"),
        "review_file": "yelp_training_set_review.json",
        "business_file": "yelp_training_set_business.json",
    }
    with pytest.raises(FileNotFoundError) as exc:
        sources.import_raw("yelp2013", entry, {})
    message = str(exc.value)
    for text in ("kaggle.com/competitions/yelp-recsys-2013", "yelp_training_set_review.json"):
        assert text in message
    folder = tmp_path / "resources/yelp2013"
    folder.mkdir(parents=True)
    write_lines(folder / entry["review_file"], [yelp2013_review(n, "2012-05-05") for n in range(20)])
    write_lines(folder / entry["business_file"], [yelp2013_business(f"biz{k}") for k in range(5)])
    raw = sources.import_raw("yelp2013", entry, {})
    assert len(raw.interactions) == 20 and len(raw.items) == 5
