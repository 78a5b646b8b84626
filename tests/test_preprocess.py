"""Preprocessing: k-core against brute force, leave-one-out split, texts, ids, order."""

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmrec.data import preprocess, processed


def brute_force_k_core(edges, user_core, item_core):
    """Largest edge set induced by a vertex subset where every kept vertex meets its core."""
    users = sorted({u for u, _ in edges})
    items = sorted({i for _, i in edges})
    best = set()
    for ku in range(len(users) + 1):
        for us in itertools.combinations(users, ku):
            for ki in range(len(items) + 1):
                for its in itertools.combinations(items, ki):
                    kept = [(n, e) for n, e in enumerate(edges) if e[0] in us and e[1] in its]
                    u_deg = pd.Series([e[0] for _, e in kept]).value_counts()
                    i_deg = pd.Series([e[1] for _, e in kept]).value_counts()
                    if (u_deg >= user_core).all() and (i_deg >= item_core).all():
                        ids = {n for n, _ in kept}
                        if len(ids) > len(best):
                            best = ids
    return best


@settings(max_examples=40, deadline=None)
@given(
    edges=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=0, max_size=14, unique=True
    ),
    user_core=st.integers(1, 3),
    item_core=st.integers(1, 3),
)
def test_k_core_is_the_largest_k_core(edges, user_core, item_core):
    users = np.array([u for u, _ in edges], dtype=object)
    items = np.array([i for _, i in edges], dtype=object)
    keep = preprocess.k_core(users, items, user_core, item_core) if edges else np.array([])
    kept = {n for n in range(len(edges)) if keep[n]}
    # the result is a k-core ...
    if kept:
        u_deg = pd.Series(users[list(kept)]).value_counts()
        i_deg = pd.Series(items[list(kept)]).value_counts()
        assert (u_deg >= user_core).all() and (i_deg >= item_core).all()
    # ... and the largest one (the maximal k-core is unique, so the sets are equal)
    assert kept == brute_force_k_core(edges, user_core, item_core)


def random_raw(rng, n_users=30, n_items=25, n_inter=400):
    inter = pd.DataFrame(
        {
            "user": [f"u{v}" for v in rng.integers(0, n_users, n_inter)],
            "item": [f"i{v}" for v in rng.integers(0, n_items, n_inter)],
            "timestamp": rng.integers(0, 50, n_inter).astype(np.int64),
        }
    )
    items = pd.DataFrame(
        {
            "item": [f"i{v}" for v in range(n_items)],
            "title": [f"Title {v}" if v % 7 else "" for v in range(n_items)],
            "brand": [f"Brand {v % 3}" for v in range(n_items)],
        }
    )
    return inter, items


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), dup=st.sampled_from(["keep_first", "keep_last", "keep_all"]))
def test_processed_data_invariants(tmp_path_factory, seed, dup):
    rng = np.random.default_rng(seed)
    inter, items = random_raw(rng)
    # every 7th item has no title (~16 % of the interactions): allow that share here
    settings_ = {"user_core": 3, "item_core": 2, "duplicates": dup, "text_fields": ["title"],
                 "max_dropped_without_text": 1.0}  # fmt: skip
    try:
        result = preprocess.preprocess(inter, items, settings_)
    except ValueError as err:  # everything filtered away: a clear message, no output
        assert "no interactions left" in str(err)
        return
    out = result.interactions
    # contiguous ids from 1, padding id 0 unused
    assert sorted(out["user_id"].unique()) == list(range(1, len(result.users) + 1))
    assert sorted(out["item_id"].unique()) == list(range(1, len(result.items) + 1))
    # every surviving user/item meets its core, every item has a text
    assert out.groupby("user_id").size().min() >= 3
    assert out.groupby("item_id").size().min() >= 2
    assert (result.items["text"] != "").all()
    # chronological per user
    assert (out.groupby("user_id")["timestamp"].diff().dropna() >= 0).all()
    if dup != "keep_all":
        assert not out.duplicated(["user_id", "item_id"]).any()
    # the processed interactions are a subset of the raw ones
    raw_pairs = set(zip(inter["user"], inter["item"], inter["timestamp"]))
    u_raw = dict(zip(result.users["user_id"], result.users["raw_id"]))
    i_raw = dict(zip(result.items["item_id"], result.items["raw_id"]))
    for u, i, t in out.itertuples(index=False):
        assert (u_raw[u], i_raw[i], t) in raw_pairs

    # round trip through the processed format + leave-one-out split without leakage
    folder = tmp_path_factory.mktemp("processed")
    preprocess.write_processed(result, folder, "toy", settings_, {})
    data = processed.load(folder)
    assert data.n_users == len(result.users) and data.n_items == len(result.items)
    hist_v, target_v = data.valid_split()
    hist_t, target_t = data.test_split()
    for seq, train, hv, tv, ht, tt in zip(
        data.sequences, data.train_sequences(), hist_v, target_v, hist_t, target_t
    ):
        assert len(train) == len(seq) - 2 and len(train) >= 1
        assert tv == seq[-2] and tt == seq[-1]
        assert np.array_equal(hv, train)  # validation history = training part only
        assert np.array_equal(ht, seq[:-1])  # test history = training + validation item
        assert np.array_equal(np.concatenate([train, [tv, tt]]), seq)


def test_ties_keep_raw_order_and_duplicates_policy():
    inter = pd.DataFrame(
        {
            "user": ["a"] * 6,
            "item": ["x", "y", "x", "z", "w", "v"],
            "timestamp": [5, 5, 6, 1, 9, 9],
        }
    )
    items = pd.DataFrame({"item": list("xyzwv"), "title": list("XYZWV")})
    base = {"user_core": 3, "item_core": 1, "text_fields": ["title"]}
    first = preprocess.preprocess(inter, items, {**base, "duplicates": "keep_first"})
    raw_of = dict(zip(first.items["item_id"], first.items["raw_id"]))
    assert [raw_of[i] for i in first.interactions["item_id"]] == ["z", "x", "y", "w", "v"]
    assert first.counts["dropped_duplicates"] == 1
    last = preprocess.preprocess(inter, items, {**base, "duplicates": "keep_last"})
    raw_of = dict(zip(last.items["item_id"], last.items["raw_id"]))
    assert [raw_of[i] for i in last.interactions["item_id"]] == ["z", "y", "x", "w", "v"]
    both = preprocess.preprocess(inter, items, {**base, "duplicates": "keep_all"})
    assert len(both.interactions) == 6


def test_item_texts_title_first_and_missing_text_policy():
    inter = pd.DataFrame(
        {"user": ["a"] * 4, "item": ["x", "y", "z", "x"], "timestamp": [1, 2, 3, 4]}
    )
    items = pd.DataFrame(
        {"item": ["x", "y"], "title": ["Toy Story", ""], "brand": ["Pixar", "Acme"]}
    )
    base = {"user_core": 3, "item_core": 1, "duplicates": "keep_all", "max_dropped_without_text": 0.5}
    kv = preprocess.preprocess(inter, items, {**base, "text_fields": ["title", "brand"]})
    assert list(kv.items["text"]) == ["title is Toy Story; brand is Pixar", "brand is Acme"]
    assert kv.counts["items_without_text"] == 1  # z has no metadata at all
    assert kv.counts["dropped_interactions_without_text"] == 1
    values = preprocess.preprocess(
        inter, items, {**base, "text_fields": ["title"], "text_style": "values",
                       "missing_text": "placeholder", "placeholder_text": "?"}
    )
    assert dict(zip(values.items["raw_id"], values.items["text"])) == {
        "x": "Toy Story", "y": "?", "z": "?"
    }
    with pytest.raises(KeyError, match="text_fields \\['genre'\\]"):
        preprocess.preprocess(inter, items, {**base, "text_fields": ["genre"]})


def test_date_window_is_inclusive_start_exclusive_end():
    day = 86400
    start = int(pd.Timestamp("2020-01-02", tz="UTC").timestamp())
    inter = pd.DataFrame(
        {
            "user": ["a"] * 5,
            "item": list("vwxyz"),
            "timestamp": [start - 1, start, start + day - 1, start + day, start + 2 * day],
        }
    )
    items = pd.DataFrame({"item": list("vwxyz"), "title": list("VWXYZ")})
    out = preprocess.preprocess(
        inter,
        items,
        {"user_core": 1, "item_core": 1, "text_fields": ["title"],
         "date_start": "2020-01-02", "date_end": "2020-01-03"},
    )
    assert sorted(out.items["raw_id"]) == ["w", "x"]
    assert out.counts["dropped_outside_date_window"] == 3


def test_numeric_raw_ids_keep_numeric_order():
    inter = pd.DataFrame(
        {"user": ["10", "2", "10", "2", "10", "2"], "item": ["3", "20", "20", "3", "100", "100"],
         "timestamp": [1, 2, 3, 4, 5, 6]}
    )
    items = pd.DataFrame({"item": ["3", "20", "100"], "title": ["a", "b", "c"]})
    out = preprocess.preprocess(inter, items, {"user_core": 3, "item_core": 1,
                                               "text_fields": ["title"]})
    assert list(out.users["raw_id"]) == ["2", "10"]
    assert list(out.items["raw_id"]) == ["3", "20", "100"]


def test_statistics():
    inter = pd.DataFrame({"user": ["a", "a", "a", "b", "b", "b"], "item": list("xyzxyw"),
                          "timestamp": range(6)})
    items = pd.DataFrame({"item": list("xyzw"), "title": list("XYZW")})
    out = preprocess.preprocess(inter, items, {"user_core": 3, "item_core": 1,
                                               "text_fields": ["title"]})
    stats = preprocess.statistics(out)
    assert stats == {"users": 2, "items": 4, "interactions": 6, "avg_length": 3.0,
                     "sparsity": pytest.approx(1 - 6 / 8)}


def brute_force_single_pass(edges, user_core, item_core):
    """LLM-ESR's filter_common then filter_minmum(3), written as loops over the edges."""
    count_u, count_i = {}, {}
    for u, i in edges:
        count_u[u] = count_u.get(u, 0) + 1
        count_i[i] = count_i.get(i, 0) + 1
    kept = [(u, i) for u, i in edges if count_u[u] >= user_core and count_i[i] >= item_core]
    left = {}
    for u, _ in kept:
        left[u] = left.get(u, 0) + 1
    return [left[u] >= 3 for u, _ in kept], kept


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), max_size=60),
    st.integers(3, 5),
    st.integers(1, 4),
)
def test_single_pass_core_matches_loops(edges, user_core, item_core):
    users = np.array([f"u{u}" for u, _ in edges], dtype=object)
    items = np.array([f"i{i}" for _, i in edges], dtype=object)
    counted, keep = preprocess.single_pass_core(users, items, user_core, item_core)
    long_enough, kept = brute_force_single_pass(edges, user_core, item_core)
    assert [e for e, c in zip(edges, counted) if c] == kept
    assert keep[counted].tolist() == long_enough
    assert not (keep & ~counted).any()


def test_single_pass_differs_from_iterative_k_core():
    """User c (2 interactions) is dropped; one pass keeps item z (3 before the filter,
    2 after) and users a, b; the iterative 3-core then drops z, a and b too."""
    edges = [("a", "x"), ("a", "y"), ("a", "z"), ("b", "x"), ("b", "y"), ("b", "z")]
    edges += [("c", "z"), ("c", "w"), ("d", "x"), ("d", "y"), ("d", "w"), ("e", "x")]
    edges += [("e", "y"), ("e", "w"), ("f", "x"), ("f", "y"), ("f", "w")]
    inter = pd.DataFrame(
        {"user": [u for u, _ in edges], "item": [i for _, i in edges], "timestamp": range(17)}
    )
    items = pd.DataFrame({"item": list("xyzw"), "title": list("XYZW")})
    base = {"user_core": 3, "item_core": 3, "text_fields": ["title"]}
    one = preprocess.preprocess(inter, items, {**base, "core_mode": "single_pass"})
    raw_of = dict(zip(one.items["item_id"], one.items["raw_id"]))
    assert sorted(raw_of.values()) == ["w", "x", "y", "z"]
    assert (one.counts["dropped_by_k_core"], one.counts["dropped_short_sequences"]) == (2, 0)
    assert sorted(one.users["raw_id"]) == ["a", "b", "d", "e", "f"]
    full = preprocess.preprocess(inter, items, {**base, "core_mode": "iterative"})
    assert sorted(full.items["raw_id"]) == ["w", "x", "y"]
    assert sorted(full.users["raw_id"]) == ["d", "e", "f"]
    with pytest.raises(ValueError, match="core_mode"):
        preprocess.preprocess(inter, items, {**base, "core_mode": "twice"})
