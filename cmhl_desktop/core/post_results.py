"""From the model's raw predictions to one PostResult per post (Qt-free): calibrated probabilities,
top classes, the any-distress score, the most concerning segment and its characters, where reading
stopped in a truncated post, and the rules that fire. `scoring.Scorer` runs the model and calls this
on each chunk.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from cmhl.inference import Predictions, segment_max_probs, softmax
from cmhl.segments import char_span
from cmhl.windows import EncodedPost

from .flags import FlagPolicy
from .results import PostResult
from .text_norm import ModelText


def results_from_predictions(
    preds: Predictions,
    errors: dict[int, str],
    policy: FlagPolicy,
    enc: Sequence[EncodedPost],
    labels: tuple[Sequence[str], Sequence[str]],
    temperatures: tuple[float, float],
    n_special: int,
) -> list[PostResult]:
    """One PostResult per row of `preds` (N posts, in the order of `enc`). errors: {row: reason} of
    posts whose forward pass failed (they get an "error: ..." status). labels and temperatures:
    (distress, emotion). n_special: special tokens a window adds around its content (to find the
    last character read). The segment reported is the suicidewatch class's most concerning one
    (the crisis rule's class), when the labels have it; the distress score is 1 - P(control)
    (NaN without a control class)."""
    dl, el = list(labels[0]), list(labels[1])
    t_distress, t_emotion = temperatures
    control = dl.index("control") if "control" in dl else None
    crisis = dl.index("suicidewatch") if "suicidewatch" in dl else None
    dprobs = softmax(preds.distress_logits.astype(np.float64), t_distress)
    eprobs = softmax(preds.emotion_logits.astype(np.float64), t_emotion)
    seg_max, seg_arg = segment_max_probs(preds, t_distress)
    has_seg = preds.segment_logits is not None
    fires = policy.fires(dprobs, seg_max if has_seg else None)
    seg_only = fires & ~policy.fires(dprobs) if has_seg else np.zeros_like(fires)
    rule_names = policy.rule_names
    dtop = dprobs.argmax(1)
    etop = eprobs.argmax(1)
    dscore = 1.0 - dprobs[:, control] if control is not None else np.full(len(dprobs), np.nan)
    dlist, elist = dprobs.tolist(), eprobs.tolist()
    out = []
    for i in range(len(preds)):
        if i in errors:
            out.append(PostResult(status=f"error: {errors[i]}", n_tokens=int(preds.n_tokens[i])))
            continue
        names = [rule_names[k] for k in np.nonzero(fires[i])[0]]
        read_end = None
        if enc[i].truncated and enc[i].offsets:  # the last character of the last window read
            n_read = enc[i].starts[-1] + len(enc[i].windows[-1]) - n_special
            read_end = enc[i].offsets[max(0, min(n_read, len(enc[i].offsets)) - 1)][1]
        span, tscore, smax = None, math.nan, {}
        if has_seg and seg_arg[i, 0] >= 0:
            smax = dict(zip(dl, seg_max[i].tolist(), strict=True))
            if crisis is not None:
                a, b = enc[i].segment_tokens[int(seg_arg[i, crisis])]
                span = char_span(enc[i].offsets, a, b)
                tscore = float(seg_max[i, crisis])
        out.append(
            PostResult(
                status="truncated" if preds.truncated[i] else "ok",
                category=dl[dtop[i]],
                distress_probs=dict(zip(dl, dlist[i], strict=True)),
                distress_score=float(dscore[i]),
                segment_max=smax,
                trigger_span=span,
                trigger_score=tscore,
                read_end=read_end,
                flagged=bool(names),
                flag_rules=names,
                segment_rules=[rule_names[k] for k in np.nonzero(seg_only[i])[0]],
                emotion=el[etop[i]],
                emotion_probs=dict(zip(el, elist[i], strict=True)),
                valence=float(preds.valence[i]),
                intensity=float(preds.intensity[i]),
                n_tokens=int(preds.n_tokens[i]),
            )
        )
    return out


def map_to_source(r: PostResult, view: ModelText) -> None:
    """Move a result's character spans (trigger, read end, lexicon matches) from the text the model
    read to the original text, as the user sees it, in place."""
    if r.trigger_span is not None:
        r.trigger_span = view.to_source(*r.trigger_span)
    if r.read_end is not None:
        r.read_end = view.to_source(0, r.read_end)[1] if r.read_end else 0
    r.lexicon_matches = [(c, term, *view.to_source(a, b)) for c, term, a, b in r.lexicon_matches]
