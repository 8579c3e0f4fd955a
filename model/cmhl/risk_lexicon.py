"""The Suicide Risk Lexicon (Low et al., 2024) as an auditable, rule-based second signal.

Source: the Suicide Risk Lexicon of Low et al. (2024): clinically defined suicide-risk constructs (46
in the definitions file, 50 term lists in the validated file) with definitions, references and
word/phrase lists generated with GPT-4 and reviewed by clinicians. Distributed inside the
`construct-tracker` 1.0.16 package (Apache-2.0); the files are read from
``../shared/data/lexicons/suicide_risk_lexicon/`` and never committed (see shared/data/README.md).

What the released CSVs hold (worked out from the files and construct-tracker's ``Lexicon.to_pandas``):

- ``suicide_risk_lexicon_validated_<version>.csv``: wide, one column group per construct. Rows
  ``Prompt name``, ``Definition``, ``Reference``, ``Examples``, then the term list. ``<c>_include``
  and ``<c>_add`` are construct-tracker's rating columns: a rater marks each term for inclusion
  (``_include``) and writes terms to add (``_add``). In this release both are empty in every row: the
  clinicians' removals and additions are already applied, so the term column is the validated list.
  `compile_lexicon` still honours them should a release carry ratings (``_include`` 0/no/false drops
  the row's term; ``_add`` cells, ';'-separated, are added).
- Each term column is construct-tracker's ``tokens_lemmatized``: the validated terms, sorted, followed
  by their spaCy lemmatisation in the same order ("I'll be dead" -> "I will be dead", "dying" ->
  "die", "done with living" -> "do with live"), made for matching lemmatised documents. Matching the
  raw text, the lemma half adds forms that never occur ("kill I", "wish I be dead") or short, generic
  ones that the clinicians did not validate as such ("die", "cut", "end it", "carve"): only the first
  half (the validated surface terms) is kept; the number of lemma forms dropped is recorded.
- ``…prototypical_tokens_<version>.csv``: the same layout with only the most prototypical terms of
  each construct (a subset); kept as a per-construct list (`RiskLexicon(prototypical_only=True)`).

Which constructs count as crisis (`CRISIS_CONSTRUCTS`), decided from the lexicon's definitions: those
that describe the writer's own suicidal thoughts or self-directed injury, i.e. what a clinician must
follow up now:
  * ``passive_suicidal_ideation``: "suicidal thoughts desiring one's own death or related states";
  * ``active_suicidal_ideation_suicidal_planning``: "explicit suicidal thoughts of killing oneself;
    mention of methods, plan, preparations, time and/or place";
  * ``direct_self_injury``: "actual or desired direct and deliberate destruction ... of their own body
    tissue", with or without suicidal intent.
`EXTENDED_CRISIS_CONSTRUCTS` adds ``other_suicidal_language`` ("suicidal language that does not
belong in the other suicidal categories"). It is a catch-all: beside first-person phrases ("nothing
to live for", "I'm not safe") it holds topic words ("suicide", "suicidal", "dying", "fatal",
"crisis hotline", "safety plan") that occur when people talk *about* suicide. Measured on stb val
(tests/benchmarks/bench_lexicon.py, cmhl-minilm-v1 era): the three constructs alone match 21/66
label-1 and 30/541 label-0 posts; with other_suicidal_language, 45/66 and 108/541 ("suicide" alone
matches 60 label-0 posts). Added to the model's flag, it gains 1 more label-1 post for 24 more
label-0 posts. So it is not in the default set.
Not crisis either: ``lethal_means_for_suicide`` (guns, ropes, pills, bridges: access to means is a
risk factor, not an expression of intent, and these words are common in everyday text);
``suicide_exposure`` (someone else's suicide); the risk factors (hopelessness, entrapment,
burdensomeness, ...).

Matching (`RiskLexicon.matches`): text and terms are cut into words (letters/digits, with inner
apostrophes); a word matches case-insensitively (``casefold``) with its apostrophes dropped, so
"don't", "don’t" and "dont" are the same word; a multi-word term matches words separated only by
whitespace or hyphens ("self-harm" = "self harm"; never across other punctuation such as a full stop
or a comma). Whole words only. Every match is reported (overlaps too) with exact character spans
into the original text: ``text[m.start:m.end]`` is the matched phrase. A token trie makes it linear
in the number of words (no regex alternation over thousands of terms).
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

FORMAT = "cmhl-risk-lexicon"
FORMAT_VERSION = 1
LEXICON_FILE = "risk_lexicon.json"  # its name inside a checkpoint folder

CRISIS_CONSTRUCTS = (
    "passive_suicidal_ideation",
    "active_suicidal_ideation_suicidal_planning",
    "direct_self_injury",
)
EXTENDED_CRISIS_CONSTRUCTS = CRISIS_CONSTRUCTS + ("other_suicidal_language",)

SOURCE = {
    "name": "Suicide Risk Lexicon",
    "citation": (
        "Low, D. M. et al. (2024). Suicide Risk Lexicon: clinically defined constructs with "
        "clinician-validated term lists. Distributed with the construct-tracker package "
        "(github.com/danielmlow/construct-tracker)."
    ),
    "package": "construct-tracker 1.0.16",
    "licence": "Apache-2.0 (construct-tracker package)",
    "derived": (
        "term lists only: the validated surface terms of each construct (the spaCy lemma half of each "
        "column dropped), with the construct definitions and references; compiled by "
        "cmhl.risk_lexicon.compile_lexicon"
    ),
}

_META_ROWS = ("Prompt name", "Definition", "Reference", "Examples")
_APOSTROPHES = "'\u2019\u2018\u02bc`\u00b4"
_WORD = re.compile(rf"\w+(?:[{_APOSTROPHES}]\w+)*")
_CLEAN_GAP = re.compile(r"[\s\-\u2010\u2011\u2012\u2013]*")  # what may separate the words of a phrase
_NO = {"0", "0.0", "no", "n", "false", "exclude", "remove"}


@dataclass(frozen=True)
class Match:
    """One term found in a text: ``text[start:end]`` is the matched phrase."""

    construct: str
    term: str  # the lexicon's spelling of the term
    start: int
    end: int


# --------------------------------------------------------------------------- compiling


def construct_key(name: str) -> str:
    """A construct's key, as construct-tracker's ``generate_variable_name``:
    "Active suicidal ideation & suicidal planning" -> "active_suicidal_ideation_suicidal_planning"."""
    s = name.strip().replace(",", "").replace(" & ", "_").replace(" and ", "_")
    return re.sub(r"[\s\-]+", "_", s).lower()


def _fix_mojibake(s: str) -> str:
    """Undo UTF-8 read as Latin-1 (possibly twice), as in some references ("Ã¢Â\\x80Â\\x93" -> "–")."""
    for _ in range(3):
        try:
            t = s.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            break
        if t == s:
            break
        s = t
    return s.strip()


def _read_wide(path: Path) -> dict[str, dict]:
    """{construct column: {"meta": {row name: text}, "terms": [...], "include": [...], "add": [...]}}."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    cols = {name: i for i, name in enumerate(header)}
    out: dict[str, dict] = {}
    for name, i in cols.items():
        if i == 0 or name.endswith("_include") or name.endswith("_add"):
            continue
        inc_i, add_i = cols.get(name + "_include"), cols.get(name + "_add")
        meta: dict[str, str] = {}
        terms, include, add = [], [], []
        for r in body:
            cell = r[i].strip() if i < len(r) else ""
            label = r[0].strip() if r else ""
            if label in _META_ROWS:
                meta[label] = cell
                continue
            inc = r[inc_i].strip() if inc_i is not None and inc_i < len(r) else ""
            if add_i is not None and add_i < len(r) and r[add_i].strip():
                add += [t.strip() for t in r[add_i].split(";") if t.strip()]
            if cell:
                terms.append(cell)
                include.append(inc)
        out[name] = {"meta": meta, "terms": terms, "include": include, "add": add}
    return out


def _surface_half(terms: list[str]) -> tuple[list[str], int]:
    """The validated terms of a ``tokens + lemmatize(tokens)`` column and the number of lemma forms
    dropped; a column without that layout is kept whole. The layout: an even count, the first half
    sorted, and nearly every lemma starting with the same letter as its surface term."""
    n = len(terms)
    if n < 2 or n % 2:
        return terms, 0
    a, b = terms[: n // 2], terms[n // 2 :]
    same_initial = sum(x[:1].lower() == y[:1].lower() for x, y in zip(a, b, strict=True)) / len(a)
    if a == sorted(a) and same_initial >= 0.9:
        return a, len(b)
    return terms, 0


def _split_parentheses(term: str) -> list[str]:
    """ "mtf (male to female)" -> ["mtf", "male to female"] (as construct-tracker's clean_response)."""
    inner = re.findall(r"\((.*?)\)", term)
    outer = re.sub(r"\(.*?\)", " ", term)
    return [t for t in (" ".join(x.split()) for x in [outer, *inner]) if t]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _find(src: Path, pattern: str, exclude: str | None = None) -> Path:
    found = sorted(p for p in src.glob(pattern) if exclude is None or exclude not in p.name)
    if not found:
        raise FileNotFoundError(f"no {pattern} in {src} (the Suicide Risk Lexicon CSVs)")
    return found[-1]  # the newest version when several lie there


def compile_lexicon(src_dir: str | Path, constructs: Iterable[str] | None = None) -> dict:
    """Read the Suicide Risk Lexicon CSVs in `src_dir` into a compact, JSON-ready dict:

    ``{"format", "format_version", "source": {... "files": {name: sha256}, "version"},
    "crisis_constructs": [...], "constructs": {key: {"name", "definition", "reference", "examples",
    "terms": [...], "prototypical": [...], "lemma_forms_dropped": n}}}``

    `constructs` (keys, see `construct_key`) keeps only those (e.g. the crisis set for shipping)."""
    src = Path(src_dir)
    validated = _find(src, "suicide_risk_lexicon_validated_*.csv", exclude="prototypical")
    proto = _find(src, "suicide_risk_lexicon_validated_prototypical_tokens_*.csv")
    wide, wide_proto = _read_wide(validated), _read_wide(proto)
    want = None if constructs is None else set(constructs)
    out: dict[str, dict] = {}
    for name, col in wide.items():
        key = construct_key(name)
        if want is not None and key not in want:
            continue
        rated = [t for t, inc in zip(col["terms"], col["include"], strict=True) if inc.lower() not in _NO]
        surface, dropped = _surface_half(rated) if len(rated) == len(col["terms"]) else (rated, 0)
        terms = _unique(t for term in [*surface, *col["add"]] for t in _split_parentheses(term))
        pcol = wide_proto.get(name, {"terms": []})
        proto_terms, _ = _surface_half(pcol["terms"])
        in_terms = {_term_key(t) for t in terms}
        meta = col["meta"]
        out[key] = {
            "name": name,
            "definition": _fix_mojibake(meta.get("Definition", "")) or None,
            "reference": _fix_mojibake(meta.get("Reference", "")) or None,
            "examples": _fix_mojibake(meta.get("Examples", "")) or None,
            "terms": terms,
            "prototypical": _unique(t for t in proto_terms if _term_key(t) in in_terms),
            "lemma_forms_dropped": dropped,
        }
    if want is not None and (missing := want - set(out)):
        raise KeyError(f"constructs not in the lexicon: {sorted(missing)}")
    version = re.search(r"validated_(.+)\.csv$", validated.name)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "source": {
            **SOURCE,
            "version": version.group(1) if version else validated.name,
            "files": {p.name: _sha256(p) for p in (validated, proto)},
        },
        "crisis_constructs": [c for c in CRISIS_CONSTRUCTS if c in out],  # the default set
        "constructs": out,
    }


def _unique(items: Iterable[str]) -> list[str]:
    seen: set[tuple[str, ...]] = set()
    out = []
    for t in items:
        k = _term_key(t)
        if k and k not in seen:
            seen.add(k)
            out.append(t)
    return out


def save_lexicon(lexicon: dict, path: str | Path) -> Path:
    """Write a compiled lexicon as compact JSON (UTF-8, sorted keys: the same input gives the same
    bytes). Into a checkpoint folder: ``save_lexicon(lex, folder / LEXICON_FILE)``."""
    if lexicon.get("format") != FORMAT:
        raise ValueError("not a compiled risk lexicon (see compile_lexicon)")
    p = Path(path)
    p.write_text(json.dumps(lexicon, ensure_ascii=False, sort_keys=True, separators=(",", ":")), "utf-8")
    return p


def load_lexicon(path: str | Path) -> dict:
    """A compiled lexicon from its JSON file (a checkpoint's ``risk_lexicon.json``)."""
    data = json.loads(Path(path).read_text("utf-8"))
    if data.get("format") != FORMAT or int(data.get("format_version", 0)) > FORMAT_VERSION:
        raise ValueError(f"{path}: not a risk lexicon this version can read")
    return data


# --------------------------------------------------------------------------- matching


def _norm_word(w: str) -> str:
    return w.casefold().translate({ord(c): None for c in _APOSTROPHES})


def _term_key(term: str) -> tuple[str, ...]:
    return tuple(_norm_word(m.group()) for m in _WORD.finditer(term))


class RiskLexicon:
    """Finds lexicon terms in text.

    >>> lex = RiskLexicon.load(folder / "risk_lexicon.json")   # or RiskLexicon(compile_lexicon(src))
    >>> lex.matches("I don’t want to wake up")   # [Match('passive_suicidal_ideation', ..., 2, 23)]
    >>> lex.has_crisis(text)                      # any match in a crisis construct
    """

    def __init__(
        self,
        lexicon: dict,
        constructs: Iterable[str] | None = None,
        crisis_constructs: Iterable[str] | None = None,
        prototypical_only: bool = False,
    ) -> None:
        """`lexicon`: a `compile_lexicon` dict. `constructs`: match only these (default all).
        `crisis_constructs`: the set `crisis_matches` uses (default the lexicon's own list, i.e.
        `CRISIS_CONSTRUCTS`). `prototypical_only`: only the prototypical terms of each construct."""
        if lexicon.get("format") != FORMAT:
            raise ValueError("not a compiled risk lexicon (see compile_lexicon)")
        self.data = lexicon
        all_c = lexicon["constructs"]
        names = list(all_c) if constructs is None else list(constructs)
        if unknown := [c for c in names if c not in all_c]:
            raise KeyError(f"constructs not in this lexicon: {unknown}")
        self.constructs = names
        crisis = lexicon.get("crisis_constructs", []) if crisis_constructs is None else crisis_constructs
        self.crisis_constructs = tuple(c for c in crisis if c in names)
        self.prototypical_only = prototypical_only
        # token trie: word -> child node; a node's "" entry lists (construct, term) ending there
        self._trie: dict = {}
        self.n_terms = 0
        for c in names:
            for term in all_c[c]["prototypical" if prototypical_only else "terms"]:
                key = _term_key(term)
                if not key:
                    continue
                node = self._trie
                for w in key:
                    node = node.setdefault(w, {})
                node.setdefault("", []).append((c, term))
                self.n_terms += 1

    @classmethod
    def load(cls, path: str | Path, **kw) -> RiskLexicon:
        return cls(load_lexicon(path), **kw)

    @classmethod
    def from_source(cls, src_dir: str | Path, **kw) -> RiskLexicon:
        return cls(compile_lexicon(src_dir), **kw)

    @property
    def source(self) -> dict:
        """Where the terms come from (citation, package, licence, version, file hashes)."""
        return self.data["source"]

    def terms(self, construct: str) -> list[str]:
        c = self.data["constructs"][construct]
        return list(c["prototypical" if self.prototypical_only else "terms"])

    def matches(self, text: str, constructs: Iterable[str] | None = None) -> list[Match]:
        """Every term of the lexicon (or of `constructs`) in `text`, ordered by start, longest first;
        overlapping matches are all kept (a phrase and a word inside it, one term in two constructs)."""
        if not text:
            return []
        only = None if constructs is None else set(constructs)
        words = list(_WORD.finditer(text))
        keys = [_norm_word(m.group()) for m in words]
        out: list[Match] = []
        for i in range(len(words)):
            node = self._trie.get(keys[i])
            j = i
            while node is not None:
                for c, term in node.get("", ()):
                    if only is None or c in only:
                        out.append(Match(c, term, words[i].start(), words[j].end()))
                j += 1
                if j >= len(words) or not _CLEAN_GAP.fullmatch(text, words[j - 1].end(), words[j].start()):
                    break
                node = node.get(keys[j])
        out.sort(key=lambda m: (m.start, -m.end, m.construct))
        return out

    def crisis_matches(self, text: str) -> list[Match]:
        """Matches in the crisis constructs only."""
        return self.matches(text, self.crisis_constructs)

    def has_crisis(self, text: str) -> bool:
        return bool(self.crisis_matches(text))
