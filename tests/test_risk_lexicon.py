"""cmhl.risk_lexicon: compiling the Suicide Risk Lexicon (Low et al., 2024) and matching its terms.

Fictional text only. Most tests build a tiny lexicon (a dict, or CSVs in the released layout) and need
no data; the ones that read ../shared/data/lexicons/suicide_risk_lexicon skip with a reason without it.
"""

from __future__ import annotations

import csv
import json

import pytest
from cmhl.risk_lexicon import (
    CRISIS_CONSTRUCTS,
    EXTENDED_CRISIS_CONSTRUCTS,
    FORMAT,
    Match,
    RiskLexicon,
    compile_lexicon,
    construct_key,
    load_lexicon,
    save_lexicon,
)
from data_paths import DATA

SRC = DATA / "lexicons" / "suicide_risk_lexicon"
needs_lexicon = pytest.mark.skipif(
    not SRC.is_dir(), reason="../shared/data/lexicons/suicide_risk_lexicon is absent (research data)"
)


def fake_lexicon() -> dict:
    def c(terms, proto=()):
        return {"name": "x", "definition": None, "reference": None, "examples": None, "terms": terms,
                "prototypical": list(proto), "lemma_forms_dropped": 0}  # fmt: skip

    return {
        "format": FORMAT,
        "format_version": 1,
        "source": {"name": "fake", "version": "test"},
        "crisis_constructs": ["passive", "active"],
        "constructs": {
            "passive": c(
                ["want to die", "I want to die", "don't want to wake up", "end it all"], ["want to die"]
            ),
            "active": c(["kill myself", "self-harm", "end it all"]),
            "means": c(["rope", "gun"]),
        },
    }


@pytest.fixture
def lex() -> RiskLexicon:
    return RiskLexicon(fake_lexicon())


def spans(lex: RiskLexicon, text: str, **kw) -> list[tuple[str, str, str]]:
    return [(m.construct, m.term, text[m.start : m.end]) for m in lex.matches(text, **kw)]


def test_case_insensitive_whole_words_with_exact_spans(lex):
    text = "Honestly I KILL MYSELF over nothing"
    assert lex.matches(text) == [Match("active", "kill myself", 11, 22)]
    assert text[11:22] == "KILL MYSELF"
    assert lex.matches("skill myselfie, ropes, guns, shotgun") == []  # whole words only
    assert spans(lex, "a Rope.") == [("means", "rope", "Rope")]


def test_phrases_span_whitespace_and_hyphens_but_not_punctuation(lex):
    assert spans(lex, "we want\nto   die") == [("passive", "want to die", "want\nto   die")]
    assert [m.term for m in lex.matches("self harm, self-harm, self‑harm")] == ["self-harm"] * 3
    assert lex.matches("I don't want to. Die hard is on tonight") == []
    assert lex.matches("kill, myself") == []


@pytest.mark.parametrize("spelling", ["don't", "don’t", "dont", "DON'T", "don‘t", "donʼt"])
def test_apostrophe_variants(lex, spelling):
    text = f"honestly i {spelling} want to wake up"
    (m,) = lex.matches(text)
    assert m.construct == "passive" and m.term == "don't want to wake up"
    assert text[m.start : m.end] == f"{spelling} want to wake up"


def test_overlaps_are_all_reported_in_order(lex):
    text = "🙂 I want to die. I want to end it all"
    got = spans(lex, text)
    assert got == [
        ("passive", "I want to die", "I want to die"),
        ("passive", "want to die", "want to die"),
        ("active", "end it all", "end it all"),
        ("passive", "end it all", "end it all"),
    ]
    assert [m.start for m in lex.matches(text)] == sorted(m.start for m in lex.matches(text))


def test_crisis_constructs_and_filters(lex):
    assert lex.crisis_constructs == ("passive", "active")
    assert lex.has_crisis("I want to die")
    assert not lex.has_crisis("bought a rope and a gun for the show")
    assert [m.construct for m in lex.matches("a gun")] == ["means"]
    assert lex.crisis_matches("a gun") == []
    assert spans(lex, "kill myself, rope", constructs=["means"]) == [("means", "rope", "rope")]
    only = RiskLexicon(fake_lexicon(), constructs=["means"])
    assert only.crisis_constructs == () and not only.has_crisis("I want to die")
    strict = RiskLexicon(fake_lexicon(), crisis_constructs=["active"])
    assert not strict.has_crisis("I want to die") and strict.has_crisis("self-harm")
    proto = RiskLexicon(fake_lexicon(), prototypical_only=True)
    assert [m.term for m in proto.matches("I want to die, kill myself")] == ["want to die"]
    assert proto.terms("passive") == ["want to die"]


def test_bad_input_is_refused(lex):
    with pytest.raises(KeyError, match="nope"):
        RiskLexicon(fake_lexicon(), constructs=["nope"])
    with pytest.raises(ValueError, match="not a compiled risk lexicon"):
        RiskLexicon({"constructs": {}})
    assert lex.matches("") == [] and lex.matches("   ") == []


def test_save_and_load_round_trip(tmp_path, lex):
    data = fake_lexicon()
    p = save_lexicon(data, tmp_path / "risk_lexicon.json")
    raw = p.read_bytes()
    assert b"\n" not in raw and b'": ' not in raw  # compact
    assert load_lexicon(p) == data
    assert save_lexicon(data, tmp_path / "again.json").read_bytes() == raw  # deterministic
    assert RiskLexicon.load(p).matches("kill myself") == lex.matches("kill myself")
    (tmp_path / "bad.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(ValueError):
        load_lexicon(tmp_path / "bad.json")


def test_construct_keys_follow_construct_tracker():
    assert construct_key("Active suicidal ideation & suicidal planning") == (
        "active_suicidal_ideation_suicidal_planning"
    )
    assert construct_key("Shame, self-disgust, & worthlessness") == "shame_self_disgust_worthlessness"
    assert construct_key("Direct self-injury") == "direct_self_injury"


def _write_wide(path, columns: dict[str, dict]) -> None:
    """A CSV in the released layout: meta rows, then terms; `<c>_include` and `<c>_add` beside each."""
    n = max(len(c["terms"]) for c in columns.values())
    header = [""]
    for name in columns:
        header += [name, f"{name}_include", f"{name}_add"]
    rows = [header]
    for r, label in enumerate(["Prompt name", "Definition", "Reference", "Examples", *map(str, range(n))]):
        row = [label]
        for c in columns.values():
            if r < 4:
                row += [c.get("meta", {}).get(label, ""), "", ""]
            else:
                i = r - 4
                row += [c["terms"][i] if i < len(c["terms"]) else "", *(c.get("rate", {}).get(i, ("", "")))]
        rows.append(row)
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)


def test_compile_reads_the_released_layout(tmp_path):
    surface = ["I'll be dead", "dying slowly", "kill myself", "wish I was dead"]  # sorted, as released
    lemmas = ["I will be dead", "die slowly", "kill myself", "wish I be dead"]
    _write_wide(
        tmp_path / "suicide_risk_lexicon_validated_24-01-02T03-04-05.csv",
        {
            "Passive suicidal ideation": {
                "terms": surface + lemmas,
                "meta": {"Definition": "Thoughts of one\u00c3\u00a2\u00c2\u0080\u00c2\u0099s death", "Reference": "Someone (2023)"},
            },
            "Lethal means for suicide": {
                "terms": ["gun", "mtf (male to female)", "rope"],
                "rate": {1: ("0", ""), 2: ("", "noose; ledge")},  # a rater drops term 1, adds two
            },
        },
    )  # fmt: skip
    _write_wide(
        tmp_path / "suicide_risk_lexicon_validated_prototypical_tokens_24-01-09T00-00-00.csv",
        {"Passive suicidal ideation": {"terms": ["wish I was dead", "not a term here"]}},
    )
    lex = compile_lexicon(tmp_path)
    passive = lex["constructs"]["passive_suicidal_ideation"]
    assert passive["terms"] == surface and passive["lemma_forms_dropped"] == 4
    assert passive["prototypical"] == ["wish I was dead"]
    assert passive["definition"] == "Thoughts of one\u2019s death"  # mojibake repaired
    means = lex["constructs"]["lethal_means_for_suicide"]
    assert means["terms"] == ["gun", "rope", "noose", "ledge"]  # no lemma layout (odd count)
    assert lex["crisis_constructs"] == ["passive_suicidal_ideation"]
    assert lex["source"]["version"] == "24-01-02T03-04-05"
    assert set(lex["source"]["files"]) == {
        "suicide_risk_lexicon_validated_24-01-02T03-04-05.csv",
        "suicide_risk_lexicon_validated_prototypical_tokens_24-01-09T00-00-00.csv",
    }
    assert "Apache-2.0" in lex["source"]["licence"] and "Low" in lex["source"]["citation"]
    only = compile_lexicon(tmp_path, constructs=["lethal_means_for_suicide"])
    assert list(only["constructs"]) == ["lethal_means_for_suicide"] and only["crisis_constructs"] == []
    with pytest.raises(KeyError):
        compile_lexicon(tmp_path, constructs=["hopelessness"])
    with pytest.raises(FileNotFoundError):
        compile_lexicon(tmp_path / "nowhere")


# --------------------------------------------------------------------------- the real lexicon


@pytest.fixture(scope="module")
def real() -> dict:
    return compile_lexicon(SRC)


@needs_lexicon
def test_real_lexicon_compiles(real, tmp_path):
    cons = real["constructs"]
    assert len(cons) >= 46
    assert real["crisis_constructs"] == list(CRISIS_CONSTRUCTS)
    assert set(EXTENDED_CRISIS_CONSTRUCTS) < set(cons) and "lethal_means_for_suicide" in cons
    for key in EXTENDED_CRISIS_CONSTRUCTS:
        c = cons[key]
        assert len(c["terms"]) >= 40 and c["lemma_forms_dropped"] > 0, key
        assert set(c["prototypical"]) <= set(c["terms"]), key
    assert "kill I" not in cons["active_suicidal_ideation_suicidal_planning"]["terms"]  # a spaCy lemma
    assert cons["passive_suicidal_ideation"]["definition"].startswith("Suicidal thoughts")
    shipped = save_lexicon(compile_lexicon(SRC, CRISIS_CONSTRUCTS), tmp_path / "risk_lexicon.json")
    assert shipped.stat().st_size < 20_000  # small enough to ship in a checkpoint folder


@needs_lexicon
@pytest.mark.parametrize(
    "text, construct",
    [
        ("i dont want to be alive anymore", "passive_suicidal_ideation"),
        ("I wish I was never born", "passive_suicidal_ideation"),
        ("I'm going to kill myself", "active_suicidal_ideation_suicidal_planning"),
        ("I cut myself again", "direct_self_injury"),
        ("there is nothing to live for", "other_suicidal_language"),
    ],
)
def test_real_lexicon_finds_crisis_phrases(real, text, construct):
    lex = RiskLexicon(real, crisis_constructs=EXTENDED_CRISIS_CONSTRUCTS)
    assert construct in {m.construct for m in lex.crisis_matches(text)}


@needs_lexicon
def test_real_lexicon_is_quiet_on_everyday_text_and_finds_a_buried_statement(real):
    lex = RiskLexicon(real)
    everyday = ["Great game last night.", "ok thanks", "Just finished my first 10k run", "[deleted]"]
    for text in everyday + ["Our unit did suicide prevention training today."]:  # topic, not crisis
        assert lex.crisis_matches(text) == [], text
    # ~3,000 words of everyday text, the statement at the end (speed: tests/benchmarks/bench_lexicon.py)
    long = "We walked the dog along the canal and stopped for a coffee at the lock. " * 200
    assert lex.has_crisis(long + "I want to die")
    assert not lex.has_crisis(long)
