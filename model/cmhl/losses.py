"""CMHL loss terms. Each has its own weight in the recipe (0 switches it off).

- emotion / distress cross-entropy (distress class-weighted)
- circumplex regression: valence and intensity heads -> the gold emotion's circumplex point
- contradiction: penalises confidence in both sides of an incompatible pair (label-free)
- consistency: the valence/intensity heads agree with sum_k p_k * point_k (label-free)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .config import INCOMPATIBLE_PAIRS, LossWeights


def pair_index(emotion_labels: list[str]) -> torch.Tensor:
    """(P, 2) indices of the incompatible emotion pairs present in the label set."""
    idx = [
        (emotion_labels.index(a), emotion_labels.index(b))
        for a, b in INCOMPATIBLE_PAIRS
        if a in emotion_labels and b in emotion_labels
    ]
    return torch.tensor(idx, dtype=torch.long).reshape(-1, 2)


def contradiction_loss(probs: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of sum over incompatible pairs of p_i * p_j.

    ~0 when one emotion is certain; at most 1/4 per pair (both at 0.5). Needs no labels.
    """
    if pairs.numel() == 0:
        return probs.new_zeros(())
    return (probs[:, pairs[:, 0]] * probs[:, pairs[:, 1]]).sum(-1).mean()


def implied_point(probs: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """(B, 2): the valence/arousal implied by the emotion distribution, sum_k p_k * point_k."""
    return probs @ points


def consistency_loss(
    probs: torch.Tensor, valence: torch.Tensor, intensity: torch.Tensor, points: torch.Tensor
) -> torch.Tensor:
    """Ties the regression heads to the emotion head's implied circumplex point. Needs no labels."""
    imp = implied_point(probs.detach(), points)  # the emotion head leads; the regressors follow
    return F.mse_loss(valence, imp[:, 0]) + F.mse_loss(intensity, imp[:, 1])


def circumplex_targets(
    labels: torch.Tensor, points: torch.Tensor, lexicon: torch.Tensor | None = None, blend: float = 0.0
) -> torch.Tensor:
    """(B, 2) regression targets: the gold emotion's point, optionally softened by the post's lexicon mean."""
    target = points[labels]
    if lexicon is not None and blend > 0:
        has = ~torch.isnan(lexicon[:, 0])
        soft = torch.where(has.unsqueeze(-1), lexicon, target)
        target = (1 - blend) * target + blend * soft
    return target


def cmhl_loss(
    out,
    points: torch.Tensor,
    pairs: torch.Tensor,
    weights: LossWeights,
    task: str,
    labels: torch.Tensor,
    lexicon: torch.Tensor | None = None,
    lexicon_blend: float = 0.0,
    distress_class_weights: torch.Tensor | None = None,
    label_smoothing: float = 0.0,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Total loss for one batch of `task` ("emotion" or "distress") and its per-term values for logging."""
    terms: dict[str, torch.Tensor] = {}
    emo_logits = out.emotion_logits.float()
    if task == "emotion":
        if weights.emotion_ce:
            terms["emotion_ce"] = F.cross_entropy(emo_logits, labels, label_smoothing=label_smoothing)
        if weights.circumplex:
            tgt = circumplex_targets(labels, points, lexicon, lexicon_blend)
            terms["circumplex"] = F.mse_loss(out.valence.float(), tgt[:, 0]) + F.mse_loss(
                out.intensity.float(), tgt[:, 1]
            )
    else:
        if weights.distress_ce:
            terms["distress_ce"] = F.cross_entropy(
                out.distress_logits.float(),
                labels,
                weight=distress_class_weights,
                label_smoothing=label_smoothing,
            )
    if weights.lexicon and lexicon is not None:
        has = ~torch.isnan(lexicon[:, 0])
        if has.any():
            terms["lexicon"] = F.mse_loss(out.valence.float()[has], lexicon[has, 0]) + F.mse_loss(
                out.intensity.float()[has], lexicon[has, 1]
            )
    probs = emo_logits.softmax(-1)
    if weights.contradiction:
        terms["contradiction"] = contradiction_loss(probs, pairs)
    if weights.consistency:
        terms["consistency"] = consistency_loss(probs, out.valence.float(), out.intensity.float(), points)
    total = sum(getattr(weights, k) * v for k, v in terms.items())
    return total, {k: float(v.detach()) for k, v in terms.items()}
