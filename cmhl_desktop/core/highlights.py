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


def render_html(
    text: str,
    explanation: Explanation,
    max_abs: float | None = None,
    tokens: bool = False,
    legend: bool = True,
) -> str:
    """The post as HTML for a QTextBrowser (Qt's rich-text subset): each word (or subword with
    tokens=True) on a background from the diverging scale, a tooltip with its score, the text
    HTML-escaped, newlines and runs of spaces preserved, and a legend line."""
    scale = max_abs if max_abs else scale_of(explanation, tokens)
    parts, last = [], 0
    for s, e, sc in _spans(explanation, tokens):
        parts.append(_html_text(text[last:s]))
        bg = colour(sc, scale)
        piece = _html_text(text[s:e])
        if bg:
            parts.append(
                f'<span style="background-color:{bg}; color:#000000" title="{sc:+.3f}">{piece}</span>'
            )
        else:
            parts.append(piece)
        last = e
    parts.append(_html_text(text[last:]))
    body = f'<p style="white-space:pre-wrap">{"".join(parts)}</p>'
    if not legend:
        return body
    return body + "\n" + legend_html(explanation, scale)


def legend_html(explanation: Explanation, max_abs: float) -> str:
    what = html.escape(explanation.target_class or explanation.head)
    unit = "logit" if explanation.objective == "logit" else explanation.objective.replace("_", " ")
    red, blue = colour(1, 1), colour(-1, 1)
    note = " The end of this post was not read (too long)." if explanation.truncated else ""
    conv = "" if explanation.converged else " Attribution did not fully converge; treat it with care."
    return (
        f'<p style="color:#444444; font-size:small">'
        f'<span style="background-color:{red}">&nbsp;&nbsp;&nbsp;</span> toward <b>{what}</b>'
        f' &nbsp; <span style="background-color:{blue}">&nbsp;&nbsp;&nbsp;</span> against'
        f" &nbsp; full colour = {max_abs:.3g} ({html.escape(unit)} units).{note}{conv}</p>"
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
    """One line about an explanation for the window, e.g. "Highlights for distress: anxiety ·
    P(anxiety) = 0.412 · convergence Δ 1.3% · 12 steps" (plus a warning when it did not converge)."""
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
    return f"Highlights for {e.head}: {cls}" + (" · " + " · ".join(parts) if parts else "")
