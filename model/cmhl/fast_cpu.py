"""A fast CPU inference path for BERT-family encoders: oneDNN fusions where the layer layout allows
(Q, K and V in one matmul, bias + GELU and bias + residual as matmul post-ops, scaled-dot-product
attention), in fp32 or on a bf16 copy of the weights, while pooling and heads stay fp32.

`fast_model(model, dtype)` returns a model of the same class whose encoder runs this way:
- fp32 ("fp32-fused"): the same arithmetic as the Hugging Face module, fewer passes over memory;
  100% identical top categories and about 1.15x faster on a 2-core AVX-512 CPU without native bf16
  (v2, 200 distress test posts, interleaved A/B; tests/benchmarks/bench_scoring.py reports it);
- bf16 (`bf16_model`, "bf16-fused"): used by the scorer only on CPUs with native bf16 matmul
  (AVX512-BF16/AMX, `cmhl.inference.bf16_supported`); elsewhere oneDNN emulates bf16 and it runs
  about 3x SLOWER than fp32 (measured on such a CPU). On native-bf16 CPUs about 1.5-2x faster than
  the Hugging Face module in bf16.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class _Hidden:
    __slots__ = ("last_hidden_state",)

    def __init__(self, h: torch.Tensor) -> None:
        self.last_hidden_state = h


class _Bf16Encoder(nn.Module):
    """A bf16 copy of any Hugging Face encoder whose hidden states come back as fp32."""

    kind = "bf16"

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.inner = copy.deepcopy(encoder).to(torch.bfloat16).eval()
        self.config = encoder.config

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> _Hidden:
        out = self.inner(input_ids=input_ids, attention_mask=attention_mask)
        return _Hidden(out.last_hidden_state.float())


def _fusable(encoder: nn.Module) -> bool:
    """A BERT-family encoder (BERT, RoBERTa, MiniLM ...) with the standard post-LN layer layout."""
    cfg = getattr(encoder, "config", None)
    if cfg is None or getattr(cfg, "is_decoder", False) or getattr(cfg, "add_cross_attention", False):
        return False
    if (
        getattr(cfg, "hidden_act", None) != "gelu"
        or getattr(cfg, "position_embedding_type", "absolute") != "absolute"
    ):
        return False
    if not hasattr(torch.ops.mkldnn, "_linear_pointwise") or not torch.backends.mkldnn.is_available():
        return False
    layers = getattr(getattr(encoder, "encoder", None), "layer", None)
    if not hasattr(encoder, "embeddings") or not layers:
        return False
    try:
        for layer in layers:
            a = layer.attention
            mods = (
                a.self.query,
                a.self.key,
                a.self.value,
                a.output.dense,
                layer.intermediate.dense,
                layer.output.dense,
            )
            if not all(isinstance(m, nn.Linear) and m.bias is not None for m in mods):
                return False
            if not isinstance(a.output.LayerNorm, nn.LayerNorm) or not isinstance(
                layer.output.LayerNorm, nn.LayerNorm
            ):
                return False
            if type(layer.intermediate.intermediate_act_fn).__name__ != "GELUActivation":
                return False
    except AttributeError:
        return False
    return True


class _FusedBertEncoder(nn.Module):
    """The same computation as a BERT-family encoder, in `dtype` (fp32 or bf16), with oneDNN fusions:
    Q, K and V in one matmul; bias + GELU and bias + residual add as post-ops of their matmul (in bf16
    computed in fp32 inside the kernel before rounding); scaled-dot-product attention; LayerNorm. It
    avoids most of the separate elementwise passes of the Hugging Face module. Built only for encoders
    that pass `_fusable` and a self-check against the fp32 encoder. In fp32 the weights are shared
    with `encoder` (only the concatenated QKV matrix is new)."""

    def __init__(self, encoder: nn.Module, dtype: torch.dtype = torch.bfloat16) -> None:
        super().__init__()
        dt = dtype
        self.kind = "bf16-fused" if dt == torch.bfloat16 else "fp32-fused"
        cfg = encoder.config
        self.config = cfg
        self.heads = int(cfg.num_attention_heads)
        self.eps = float(cfg.layer_norm_eps)
        self.embeddings = (
            encoder.embeddings if dt == torch.float32 else copy.deepcopy(encoder.embeddings).to(dt).eval()
        )

        def c(t: torch.Tensor) -> torch.Tensor:
            return t.detach().to(dt).contiguous()

        self.layers: list[dict[str, torch.Tensor]] = []
        for layer in encoder.encoder.layer:
            a = layer.attention
            q, k, v = a.self.query, a.self.key, a.self.value
            self.layers.append(
                {
                    "w_qkv": c(torch.cat([q.weight, k.weight, v.weight])),
                    "b_qkv": c(torch.cat([q.bias, k.bias, v.bias])),
                    "w_o": c(a.output.dense.weight),
                    "b_o": c(a.output.dense.bias),
                    "ln1_w": c(a.output.LayerNorm.weight),
                    "ln1_b": c(a.output.LayerNorm.bias),
                    "w_i": c(layer.intermediate.dense.weight),
                    "b_i": c(layer.intermediate.dense.bias),
                    "w_o2": c(layer.output.dense.weight),
                    "b_o2": c(layer.output.dense.bias),
                    "ln2_w": c(layer.output.LayerNorm.weight),
                    "ln2_b": c(layer.output.LayerNorm.bias),
                }
            )

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> _Hidden:
        import torch.nn.functional as F

        linear = torch.ops.mkldnn._linear_pointwise
        B, T = input_ids.shape
        h = self.embeddings(input_ids=input_ids).reshape(B * T, -1)  # (B*T, C) in self's dtype
        C = h.shape[1]
        H = self.heads
        mask = None if bool(attention_mask.all()) else attention_mask.bool()[:, None, None, :]  # (B, 1, 1, T)
        for p in self.layers:
            qkv = linear(h, p["w_qkv"], p["b_qkv"], "none", [], "")  # (B*T, 3C)
            qkv = qkv.view(B, T, 3, H, C // H).permute(2, 0, 3, 1, 4)  # 3 x (B, H, T, D)
            att = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=mask)
            att = att.transpose(1, 2).reshape(B * T, C)
            h = linear.binary(att, h, p["w_o"], p["b_o"], "add")  # att @ Wo + bo + h
            h = F.layer_norm(h, (C,), p["ln1_w"], p["ln1_b"], self.eps)
            inter = linear(h, p["w_i"], p["b_i"], "gelu", [], "none")  # erf GELU, as BERT
            h = linear.binary(inter, h, p["w_o2"], p["b_o2"], "add")
            h = F.layer_norm(h, (C,), p["ln2_w"], p["ln2_b"], self.eps)
        return _Hidden(h.view(B, T, C).float())


def _self_check(encoder: nn.Module, fast: nn.Module) -> bool:
    """The fused encoder must match the fp32 encoder: in bf16 about as closely as plain bf16 does, in
    fp32 to rounding (mean absolute difference <= 1e-4)."""
    g = torch.Generator().manual_seed(0)
    vocab = int(getattr(encoder.config, "vocab_size", 1000))
    ids = torch.randint(5, max(6, min(vocab, 20000)), (3, 24), generator=g)
    mask = torch.ones_like(ids)
    mask[1, 10:] = 0
    mask[2, 3:] = 0
    m = mask.bool()
    with torch.inference_mode():
        ref = encoder(input_ids=ids, attention_mask=mask).last_hidden_state.float()
        got = fast(ids, mask).last_hidden_state
        err_fast = float((got - ref)[m].abs().mean())
        if fast.kind == "fp32-fused":
            return bool(torch.isfinite(got[m]).all()) and err_fast <= 1e-4
        plain = _Bf16Encoder(encoder)(ids, mask).last_hidden_state
    err_plain = float((plain - ref)[m].abs().mean())
    return bool(torch.isfinite(got[m]).all()) and err_fast <= 2.0 * err_plain + 1e-3


def bf16_model(model: nn.Module) -> nn.Module:
    """A model of the same class whose encoder runs in bf16 (fused where possible) and whose pooling
    and heads (shared with `model`, not copied) run in fp32. The original model is left untouched.
    The encoder kind is in `.encoder.kind` ("bf16-fused" or "bf16")."""
    return fast_model(model, torch.bfloat16) or _with_encoder(model, _Bf16Encoder(model.encoder))


def fast_model(model: nn.Module, dtype: torch.dtype = torch.float32) -> nn.Module | None:
    """`model` with its encoder replaced by the fused encoder in `dtype` (pooling and heads shared),
    or None where the encoder is not fusable or the fused one fails its self-check."""
    enc: nn.Module = model.encoder
    if not _fusable(enc):
        return None
    try:
        cand = _FusedBertEncoder(enc, dtype)
        return _with_encoder(model, cand) if _self_check(enc, cand) else None
    except Exception:  # a private oneDNN op missing or changed: the caller's plain path instead
        return None


def _with_encoder(model: nn.Module, fast_enc: nn.Module) -> nn.Module:
    fast = type(model).__new__(type(model))
    nn.Module.__init__(fast)
    fast.config = model.config
    for name, child in model.named_children():
        setattr(fast, name, fast_enc if name == "encoder" else child)
    for name, buf in model.named_buffers(recurse=False):
        fast.register_buffer(name, buf, persistent=False)
    return fast.eval()
