"""ChoiceSets and Rankings: validation of bad input (a named table), and JSON/CSV round trips."""

import json

import numpy as np
import pytest

from bayesirl.data.choices import (
    ChoiceSets,
    choices_from_preferences,
    Rankings,
    load_choices,
    make_choice_sets,
    make_rankings,
    save_choices,
)

RNG = np.random.default_rng(0)
FEATURES = RNG.normal(size=(3, 4, 2))
CHOSEN = np.array([0, 3, 1])
AVAILABLE = np.array([[1, 1, 0, 1], [1, 1, 1, 1], [0, 1, 1, 0]], bool)


def _nan_at(n, k, f):
    x = FEATURES.copy()
    x[n, k, f] = np.nan
    return x


#: (name, kwargs for make_choice_sets, error type, words the message must contain)
BAD_CHOICES = [
    ("features_2d", dict(features=FEATURES[0]), ValueError, ["features", "(N, K, F)"]),
    ("features_text", dict(features="abc"), TypeError, ["features", "numeric"]),
    ("one_option", dict(features=FEATURES[:, :1], chosen=[0, 0, 0], available=None),
     ValueError, ["features", "K >= 2"]),
    ("nan_feature", dict(features=_nan_at(1, 2, 0)), ValueError,
     ["features", "choice set 1", "option 2", "feature 0"]),
    ("chosen_shape", dict(chosen=[0, 1]), ValueError, ["chosen", "(3,)"]),
    ("chosen_range", dict(chosen=[0, 4, 1]), ValueError, ["chosen", "index 4", "out of range"]),
    ("chosen_float", dict(chosen=[0.5, 1, 1]), TypeError, ["chosen", "integer"]),
    ("chosen_unavailable", dict(chosen=[2, 3, 1]), ValueError,
     ["chosen", "choice set 0", "option 2", "not available"]),
    ("available_shape", dict(available=AVAILABLE[:, :3]), ValueError, ["available", "(3, 4)"]),
    ("available_values", dict(available=AVAILABLE * 2), ValueError, ["available", "0/1"]),
    ("too_few_available", dict(available=np.array([[1, 0, 0, 0], [1, 1, 1, 1], [0, 1, 1, 0]]),
                               chosen=[0, 3, 1]), ValueError,
     ["available", "choice set 0", "1 option", "at least 2"]),
    ("person_shape", dict(person=[0, 1]), ValueError, ["person", "(3,)"]),
    ("person_negative", dict(person=[0, -1, 2]), ValueError, ["person", "out of range"]),
    ("person_out_of_range", dict(person=[0, 1, 2], num_persons=2), ValueError,
     ["person", "index 2", "out of range"]),
    ("num_persons_zero", dict(person=[0, 0, 0], num_persons=0), ValueError, ["num_persons"]),
]


@pytest.mark.parametrize("name,kwargs,error,words", BAD_CHOICES, ids=[b[0] for b in BAD_CHOICES])
def test_make_choice_sets_rejects_bad_input(name, kwargs, error, words):
    args = dict(features=FEATURES, chosen=CHOSEN, available=AVAILABLE)
    args.update(kwargs)
    with pytest.raises(error) as info:
        make_choice_sets(**args)
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message, (word, message)


def test_make_choice_sets_copies_and_zeroes_unavailable_features():
    features = FEATURES.copy()
    features[0, 2] = np.nan  # unavailable option: allowed, stored as 0
    before = features.copy()
    c = make_choice_sets(features, CHOSEN, AVAILABLE, [0, 2, 2])
    np.testing.assert_array_equal(features, before)  # input untouched (NaN included)
    assert isinstance(c, ChoiceSets) and c.num_persons == 3 and c.num_options == 4
    np.testing.assert_array_equal(np.asarray(c.features)[~AVAILABLE], 0.0)
    np.testing.assert_array_equal(np.asarray(c.features)[AVAILABLE], FEATURES[AVAILABLE])
    assert c.chosen.dtype == np.int32 and c.available.dtype == bool


#: (name, rankings, available, words)
BAD_RANKINGS = [
    ("repeat", [[0, 0], [1], [2]], None, ["rankings[0]", "more than once"]),
    ("unavailable", [[0], [1], [0, 1]], AVAILABLE, ["rankings[2]", "option 0", "not available"]),
    ("empty", [[0], [], [1]], None, ["rankings[1]", "non-empty"]),
    ("count", [[0], [1]], None, ["rankings", "expected 3"]),
    ("range", [[0], [9], [1]], None, ["rankings[1]", "out of range"]),
]


@pytest.mark.parametrize("name,rankings,available,words", BAD_RANKINGS,
                         ids=[b[0] for b in BAD_RANKINGS])
def test_make_rankings_rejects_bad_input(name, rankings, available, words):
    with pytest.raises(ValueError) as info:
        make_rankings(FEATURES, rankings, available)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_make_rankings_completes_orders():
    r = make_rankings(FEATURES, [[3, 0], [2, 1, 0, 3], np.array([2])], AVAILABLE)
    order = np.asarray(r.order)
    assert order[0].tolist() == [3, 0, 1, 2]      # ranked, unranked available, unavailable
    assert order[2].tolist() == [2, 1, 0, 3]
    assert np.asarray(r.length).tolist() == [2, 4, 1]
    assert all(sorted(row) == [0, 1, 2, 3] for row in order.tolist())
    padded = make_rankings(FEATURES, np.array([[3, 0, -1, -1], [2, 1, 0, 3], [2, -1, -1, -1]]),
                           AVAILABLE)
    np.testing.assert_array_equal(np.asarray(padded.order), order)


@pytest.mark.parametrize("suffix", [".json", ".csv", ".csv.gz"])
@pytest.mark.parametrize("option_names", [None, ("car", "bus", "train", "bike")])
def test_round_trip(tmp_path, suffix, option_names):
    c = make_choice_sets(FEATURES, CHOSEN, AVAILABLE, [1, 0, 1])
    path = tmp_path / f"choices{suffix}"
    save_choices(path, c, ("price", "time"), option_names)
    data = load_choices(path)
    assert data.feature_names == ("price", "time")
    assert data.option_names == (tuple(option_names) if option_names else ())
    for got, want in zip(data.choices, c):
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


def test_csv_by_hand_with_missing_options_and_labels(tmp_path):
    path = tmp_path / "hand.csv"
    path.write_text("choice_set,option,chosen,person,price,time\n"
                    "trip-a,car,0,4,3.0,1.0\n"
                    "trip-a,bus,1,4,1.0,2.0\n"
                    "trip-b,bus,0,0,1.5,2.5\n"
                    "trip-b,train,1,0,2.0,1.5\n")
    data = load_choices(path)
    c = data.choices
    assert data.option_names == ("car", "bus", "train")
    assert np.asarray(c.available).tolist() == [[True, True, False], [False, True, True]]
    assert np.asarray(c.chosen).tolist() == [1, 2]
    assert np.asarray(c.person).tolist() == [4, 0]
    np.testing.assert_array_equal(np.asarray(c.features)[1, 2], [2.0, 1.5])


#: (name, file name, text, words the error must contain)
BAD_FILES = [
    ("csv_no_chosen_column", "a.csv", "choice_set,option,x\n0,0,1\n0,1,2\n", ["'chosen'"]),
    ("csv_bad_flag", "a.csv", "choice_set,option,chosen,x\n0,0,2,1\n0,1,0,2\n",
     ["line 2", "'chosen'", "0 or 1"]),
    ("csv_two_chosen", "a.csv", "choice_set,option,chosen,x\n0,0,1,1\n0,1,1,2\n",
     ["line 3", "more than one chosen"]),
    ("csv_none_chosen", "a.csv", "choice_set,option,chosen,x\n0,0,0,1\n0,1,0,2\n",
     ["no chosen option"]),
    ("csv_text_feature", "a.csv", "choice_set,option,chosen,x\n0,0,1,abc\n0,1,0,2\n",
     ["line 2", "'x'", "number"]),
    ("csv_duplicate_option", "a.csv", "choice_set,option,chosen,x\n0,0,1,1\n0,0,0,2\n0,1,0,3\n",
     ["line 3", "appears twice"]),
    ("csv_nan_available", "a.csv", "choice_set,option,chosen,x\n0,0,1,\n0,1,0,2\n",
     ["features", "choice set 0"]),
    ("json_no_sets", "a.json", json.dumps({"feature_names": ["x"]}), ["'choice_sets'"]),
    ("json_row_length", "a.json", json.dumps({"feature_names": ["x", "y"], "choice_sets": [
        {"features": [[1, 2], [3]], "chosen": 0}]}), ["choice_sets[0].features[1]", "2 numbers"]),
    ("json_chosen_name", "a.json", json.dumps({"feature_names": ["x"], "option_names": ["a", "b"],
                                               "choice_sets": [{"features": [[1], [2]],
                                                                "chosen": "c"}]}),
     ["choice_sets[0].chosen", "'c'"]),
    ("json_chosen_unavailable", "a.json", json.dumps({"feature_names": ["x"], "choice_sets": [
        {"features": [[1], [2], [3]], "available": [True, True, False], "chosen": 2}]}),
     ["chosen", "not available"]),
    ("json_not_json", "a.json", "{not json", ["not valid JSON"]),
    ("extension", "a.txt", "", ["path", ".json"]),
]


@pytest.mark.parametrize("name,filename,text,words", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_load_choices_names_file_and_field(tmp_path, name, filename, text, words):
    path = tmp_path / filename
    path.write_text(text)
    with pytest.raises(ValueError) as info:
        load_choices(path)
    message = str(info.value)
    if name != "extension":
        assert str(path) in message
    for word in words:
        assert word in message, (word, message)


@pytest.mark.parametrize("suffix", [".json", ".csv", ".csv.gz"])
def test_rankings_round_trip_with_person_names(tmp_path, suffix):
    rng = np.random.default_rng(4)
    features = rng.normal(size=(4, 3, 2))
    available = np.array([[1, 1, 1], [1, 1, 0], [1, 1, 1], [0, 1, 1]], bool)
    rankings = make_rankings(features, [[2, 0, 1], [1], [0, 2], [2, 1]], available,
                             [0, 1, 1, 2])
    path = tmp_path / f"r{suffix}"
    save_choices(path, rankings, ["a", "b"], ["x", "y", "z"], ["ann", "bob", "cy"])
    back = load_choices(path)
    assert isinstance(back.choices, Rankings)
    for name in ("order", "length", "available", "person"):
        assert np.array_equal(np.asarray(getattr(back.choices, name)),
                              np.asarray(getattr(rankings, name))), name
    np.testing.assert_allclose(back.choices.features, rankings.features)
    assert back.person_names == ("ann", "bob", "cy")
    assert back.feature_names == ("a", "b") and back.option_names == ("x", "y", "z")


def test_group_by_a_column_of_labels_is_not_a_feature(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("choice_set,option,chosen,annotator,price\n"
                    "q1,0,1,bob,1.0\nq1,1,0,bob,2.0\n"
                    "q2,0,0,ann,1.5\nq2,1,1,ann,0.5\n"
                    "q3,0,0,bob,3.0\nq3,1,1,bob,2.5\n")
    data = load_choices(path, group_by="annotator")
    assert data.feature_names == ("price",)
    assert data.person_names == ("bob", "ann")
    assert np.asarray(data.choices.person).tolist() == [0, 1, 0]
    with pytest.raises(ValueError, match="feature column 'annotator' must be a number"):
        load_choices(path)  # without group_by the labels would be a feature
    with pytest.raises(ValueError, match="no column 'team'"):
        load_choices(path, group_by="team")


def test_json_group_by_key_and_rankings(tmp_path):
    doc = {"format": "bayesirl.choices/1", "feature_names": ["u"], "option_names": ["a", "b", "c"],
           "choice_sets": [
               {"features": [[1.0], [2.0], [3.0]], "ranking": ["c", "a"], "rater": "r1"},
               {"features": [[1.0], [0.0], None], "chosen": "b", "rater": "r2"}]}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(doc))
    data = load_choices(path, group_by="rater")
    assert isinstance(data.choices, Rankings)
    assert np.asarray(data.choices.length).tolist() == [2, 1]
    assert np.asarray(data.choices.order)[:, 0].tolist() == [2, 1]
    assert data.person_names == ("r1", "r2")
    with pytest.raises(ValueError, match=r"choice_sets\[0\]: no 'team'"):
        load_choices(path, group_by="team")
    doc["choice_sets"][0]["chosen"] = 0
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="either 'chosen' or 'ranking'"):
        load_choices(path)


@pytest.mark.parametrize("ranks, words", [
    (("1", "3", ""), "without gaps"), (("1", "1", ""), "without gaps"),
    (("", "", ""), "no chosen option"), (("1", "x", ""), "column 'rank' must be an integer")])
def test_bad_rank_columns_name_line_and_field(tmp_path, ranks, words):
    rows = "".join(f"0,{k},{r},{k}.0\n" for k, r in enumerate(ranks))
    path = tmp_path / "r.csv"
    path.write_text("choice_set,option,rank,price\n" + rows)
    with pytest.raises(ValueError, match=words) as info:
        load_choices(path)
    assert str(path) in str(info.value)


def test_preferences_become_two_option_choices_with_labellers():
    import jax.numpy as jnp

    from bayesirl.data.preferences import make_preferences
    from bayesirl.likelihoods.bradley_terry import bradley_terry_log_likelihood
    from bayesirl.likelihoods.luce import choice_evidence, pointwise_choice_log_likelihood

    counts = np.random.default_rng(0).normal(size=(5, 3))
    prefs = make_preferences(5, [(0, 1, 0), (2, 4, 1), (3, 0, 1)])
    sets = choices_from_preferences(counts, prefs, person=[0, 1, 1])
    assert sets.features.shape == (3, 2, 3)
    np.testing.assert_allclose(np.asarray(sets.features)[1], counts[[2, 4]])
    assert np.asarray(sets.chosen).tolist() == [0, 1, 1]
    assert np.asarray(sets.person).tolist() == [0, 1, 1]
    w = jnp.asarray([0.4, -1.0, 0.3])
    ours = float(jnp.sum(pointwise_choice_log_likelihood(w, choice_evidence(sets))))
    bt = float(bradley_terry_log_likelihood(w, jnp.asarray(counts), prefs))
    assert abs(ours - bt) < 1e-10  # the two-option logit is Bradley–Terry
    with pytest.raises(ValueError, match="about equal"):
        choices_from_preferences(counts, make_preferences(5, [(0, 1, 2)]))
