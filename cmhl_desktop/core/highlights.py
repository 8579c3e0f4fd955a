"""Showing word attributions (Qt-free): HTML for the window's post view, ANSI colour or plain marks
for a terminal, and the one-line summary of an explanation. Nothing here computes attributions
(`attribution.py` does); everything here only reads an `Explanation` (`explanation.py`).

Colours: a diverging scale blended over white, red toward the explained class, blue against it, at
full strength for the largest |score| shown. Post text is escaped for HTML and stripped of terminal
control sequences: a post can never inject markup or move a terminal's cursor.
"""

from __future__ import annotations

import html
import math
import os
import re
import sys

from .explanation import Explanation, top_words

RED = (215, 48, 39)  # toward the target
BLUE = (49, 104, 178)  # against it
MAX_ALPHA = 0.8  # the strongest highlight keeps black text readable


def _spans(explanation: Explanation, tokens: bool) -> list[tuple[int, int, float]]:
    if not tokens:
        return [(w.start, w.end, w.score) for w in explanation.words]
    merged: dict[tuple[int, int], float] = {}
    for t in explanation.tokens:  # byte-level tokenizers can give several pieces one character span
        if t.end > t.start:
            merged[(t.start, t.end)] = merged.get((t.start, t.end), 0.0) + t.score
    out, last = [], 0
    for (s, e), sc in sorted(merged.items()):
        s = max(s, last)
        if e > s:
            out.append((s, e, sc))
            last = e
    return out


def scale_of(explanation: Explanation, tokens: bool = False) -> float:
    """The colour scale's full strength: the largest |score| shown (1.0 when all are zero)."""
    m = max((abs(sc) for _, _, sc in _spans(explanation, tokens)), default=0.0)
    return m if m > 0 else 1.0


def colour(score: float, max_abs: float) -> str:
    """Diverging scale blended over white: red toward the target, blue against; '' when ~0."""
    a = min(abs(score) / max_abs, 1.0) * MAX_ALPHA if max_abs > 0 else 0.0
    if a < 0.03:
        return ""
    r, g, b = RED if score > 0 else BLUE
    mix = [round(255 + (c - 255) * a) for c in (r, g, b)]
    return "#{:02x}{:02x}{:02x}".format(*mix)


def _html_text(s: str) -> str:
    s = html.escape(s, quote=True).replace("\r\n", "\n").replace("\r", "\n")
    return s.replace("\n", "<br/>")


TRIGGER_COLOR = "#6a1b9a"  # the most concerning sentence: underlined in this purple (as in the export)
STOP_MARK = " ⟂ the model stopped reading here; the rest of this post was not scored "


def render_html(
    text: str,
    explanation: Explanation | None = None,
    max_abs: float | None = None,
    tokens: bool = False,
    legend: bool = True,
    trigger: tuple[int, int] | None = None,
    read_end: int | None = None,
    focus: int | None = None,
) -> str:
    """The post as HTML for a QTextBrowser (Qt's rich-text subset): each word (or subword with
    tokens=True) of an `explanation` on a background from the diverging scale, with a tooltip of its
    score; the `trigger` span [start, end) (the most concerning sentence) underlined in purple behind
    the anchor "trigger"; for a partly read post a visible marker at `read_end` (anchor "stop") and
    the unread rest in grey; the anchor "focus" at the character `focus` (the window scrolls to
    the trigger, else there). The text is HTML-escaped, newlines and runs of spaces preserved; a
    legend line in plain words follows when `legend` and an explanation is given."""
    spans = _spans(explanation, tokens) if explanation is not None else []
    what = html.escape((explanation.target_class or explanation.head) if explanation is not None else "")
    scale = (max_abs or scale_of(explanation, tokens)) if explanation is not None else 1.0
    n = len(text)
    if trigger is not None and not (0 <= trigger[0] < trigger[1] <= n):
        trigger = None
    if read_end is not None and not (0 <= read_end < n):
        read_end = None
    if focus is not None and not (0 <= focus < n):
        focus = None
    marks = {p for p in (read_end, focus) if p is not None}
    cuts = {0, n} | {p for s, e, _ in spans for p in (s, e)} | set(trigger or ()) | marks
    bounds = sorted(p for p in cuts if 0 <= p <= n)
    colour_at = {s: (e, colour(sc, scale), sc) for s, e, sc in spans}
    parts, word = [], None
    for a, b in zip(bounds, bounds[1:], strict=False):
        if a == read_end:
            parts.append(
                '<a name="stop"></a><span style="background-color:#37474f; color:#ffffff">'
                + html.escape(STOP_MARK)
                + "</span>"
            )
        if trigger is not None and a == trigger[0]:
            parts.append('<a name="trigger"></a>')
        if a == focus:
            parts.append('<a name="focus"></a>')
        if a in colour_at:
            word = colour_at[a]
        elif word is not None and a >= word[0]:
            word = None
        style = []
        if word is not None and word[1]:
            style.append(f"background-color:{word[1]}; color:#000000")
        if trigger is not None and trigger[0] <= a < trigger[1]:
            style.append(f"text-decoration:underline; color:{TRIGGER_COLOR}")
        if read_end is not None and a >= read_end:
            style.append("color:#8a8a8a")
        piece = _html_text(text[a:b])
        if style:
            title = f' title="{_push(word[2], what)}"' if word is not None and word[1] else ""
            piece = f'<span style="{"; ".join(style)}"{title}>{piece}</span>'
        parts.append(piece)
    body = f'<p style="white-space:pre-wrap">{"".join(parts)}</p>'
    if not legend or explanation is None:
        return body
    return body + "\n" + legend_html(explanation, scale)


def _push(score: float, what: str) -> str:
    """A word's tooltip in plain words, its score after it: "pushed toward suicidewatch (+0.412)"."""
    return f"pushed {'toward' if score > 0 else 'away from'} {what} ({score:+.3f})"


def legend_html(explanation: Explanation, max_abs: float) -> str:
    """One line in plain words: what red and blue mean (the scale's units are in `explanation_details`)."""
    what = html.escape(explanation.target_class or explanation.head)
    red, blue = colour(1, 1), colour(-1, 1)
    note = " The end of this post was not read (too long)." if explanation.truncated else ""
    conv = (
        ""
        if explanation.converged
        else " These highlights are only approximate for this post; treat them with care."
    )
    return (
        f'<p style="color:#444444; font-size:small">'
        f'<span style="background-color:{red}">&nbsp;&nbsp;&nbsp;</span> pushed toward <b>{what}</b>'
        f' &nbsp; <span style="background-color:{blue}">&nbsp;&nbsp;&nbsp;</span> pushed against it'
        f" &nbsp; (the stronger the colour, the stronger the push).{note}{conv}</p>"
    )


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def term_text(s: str) -> str:
    """No terminal control sequences from a post (ESC and friends show as '?')."""
    return _CONTROL.sub("?", s.replace("\r\n", "\n").replace("\r", "\n"))


def use_colour(stream=None) -> bool:
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ


def render_terminal(
    text: str,
    explanation: Explanation,
    color: bool | None = None,
    k: int = 10,
    tokens: bool = False,
    mark: float = 0.25,
) -> str:
    """The post for a terminal: with colour, words on red/blue backgrounds (24-bit ANSI); without,
    words whose |score| >= mark * the largest are written [word:+0.42]. Then the top words."""
    color = use_colour() if color is None else color
    scale = scale_of(explanation, tokens)
    parts, last = [], 0
    for s, e, sc in _spans(explanation, tokens):
        parts.append(term_text(text[last:s]))
        piece = term_text(text[s:e])
        if color:
            bg = colour(sc, scale)
            if bg:
                r, g, b = (int(bg[i : i + 2], 16) for i in (1, 3, 5))
                piece = f"\x1b[48;2;{r};{g};{b}m\x1b[30m{piece}\x1b[0m"
        elif abs(sc) >= mark * scale and sc != 0:
            piece = f"[{piece}:{sc:+.2f}]"
        parts.append(piece)
        last = e
    parts.append(term_text(text[last:]))
    lines = ["".join(parts), ""]
    what = explanation.target_class or explanation.head
    if color:
        lines.append(f"red = toward {what}, blue = against (full colour = {scale:.3g})")
    else:
        lines.append(f"[word:+s] toward {what} (+) or against it (-); marked where |s| >= {mark * scale:.3g}")
    for direction, title in (("toward", f"Top words toward {what}"), ("against", "Top words against")):
        tw = top_words(explanation, k, direction)
        if tw:
            lines.append(f"{title}: " + ", ".join(f"{term_text(w.word)} ({w.score:+.3f})" for w in tw))
    return "\n".join(lines)


def explanation_info(explanation: Explanation) -> str:
    """One line about an explanation for the terminal, e.g. "Highlights for distress: anxiety ·
    P(anxiety) = 0.412 · convergence Δ 1.3% · 12 steps" (plus a warning when it did not converge)."""
    e = explanation
    cls = e.target_class or e.head
    details = explanation_details(e)
    return f"Highlights for {e.head}: {cls}" + (" · " + details if details else "")


def explanation_details(explanation: Explanation, units: bool = False) -> str:
    """The technical figures of an explanation (the window's tooltip): the class probability, the
    convergence check and (`units`) the colour scale's full strength in the model's units."""
    e = explanation
    cls = e.target_class or e.head
    parts = []
    if e.target_class is not None and math.isfinite(e.target_prob):
        parts.append(f"P({cls}) = {e.target_prob:.3f}")
    if math.isfinite(e.rel_delta):
        parts.append(f"convergence Δ {100 * e.rel_delta:.1f}%")
    if e.n_steps:
        parts.append(f"{e.n_steps} steps")
    if not e.converged:
        parts.append("not converged: treat with care")
    if units:
        unit = "logit" if e.objective == "logit" else e.objective.replace("_", " ")
        parts.append(f"full colour = {scale_of(e):.3g} ({unit} units)")
    return " · ".join(parts)


def explanation_plain(explanation: Explanation) -> str:
    """The window's line about an explanation, in plain words, e.g. "Highlights for distress:
    anxiety. Red words pushed this post toward anxiety, blue words away from it."."""
    e = explanation
    cls = e.target_class or e.head
    text = (
        f"Highlights for {e.head}: {cls}. Red words pushed this post toward {cls}, blue words away from it."
    )
    if not e.converged:
        text += " Only approximate for this post."
    return text
