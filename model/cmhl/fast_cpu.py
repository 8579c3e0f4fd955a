"""A fast CPU inference path for BERT-family encoders: the encoder on a bf16 copy of its weights, with
oneDNN fusions where the layer layout allows, while pooling and heads stay fp32.

`bf16_model(model)` returns a model of the same class whose encoder runs this way; the scorer uses it
on CPUs with native bf16 matmul (AVX512-BF16/AMX) after its agreement check (docs/ARCHITECTURE.md).
Measured with tests/benchmarks/bench_scoring.py: about 1.5-2x faster than running the Hugging Face
module in bf16, and 99.8% identical top categories against fp32 on the distress test posts.
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
    """The same computation as a BERT-family encoder, in bf16, with oneDNN fusions: Q, K and V in one
    matmul; bias + GELU and bias + residual add as post-ops of their matmul (computed in fp32 inside
    the kernel before rounding to bf16); scaled-dot-product attention; LayerNorm. It avoids most of
    the separate elementwise passes that dominate a bf16 forward on CPU (about 1.5-2x faster than
    running the Hugging Face module in bf16). Built only for encoders that pass `_fusable` and a
    self-check against the fp32 encoder; otherwise `_Bf16Encoder` is used."""

    kind = "bf16-fused"

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        dt = torch.bfloat16
        cfg = encoder.config
        self.config = cfg
        self.heads = int(cfg.num_attention_heads)
        self.eps = float(cfg.layer_norm_eps)
        self.embeddings = copy.deepcopy(encoder.embeddings).to(dt).eval()

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
        h = self.embeddings(input_ids=input_ids).reshape(B * T, -1)  # (B*T, C) bf16
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
    """The fused encoder must match the fp32 encoder about as closely as plain bf16 does."""
    g = torch.Generator().manual_seed(0)
    vocab = int(getattr(encoder.config, "vocab_size", 1000))
    ids = torch.randint(5, max(6, min(vocab, 20000)), (3, 24), generator=g)
    mask = torch.ones_like(ids)
    mask[1, 10:] = 0
    mask[2, 3:] = 0
    m = mask.bool()
    with torch.inference_mode():
        ref = encoder(input_ids=ids, attention_mask=mask).last_hidden_state.float()
        plain = _Bf16Encoder(encoder)(ids, mask).last_hidden_state
        got = fast(ids, mask).last_hidden_state
    err_plain = float((plain - ref)[m].abs().mean())
    err_fast = float((got - ref)[m].abs().mean())
    return bool(torch.isfinite(got[m]).all()) and err_fast <= 2.0 * err_plain + 1e-3


def bf16_model(model: nn.Module) -> nn.Module:
    """A model of the same class whose encoder runs in bf16 (fused where possible) and whose pooling
    and heads (shared with `model`, not copied) run in fp32. The original model is left untouched.
    The encoder kind is in `.encoder.kind` ("bf16-fused" or "bf16")."""
    enc: nn.Module = model.encoder
    fast_enc: nn.Module | None = None
    if _fusable(enc):
        try:
            cand = _FusedBertEncoder(enc)
            if _self_check(enc, cand):
                fast_enc = cand
        except Exception:  # a private oneDNN op missing or changed: the plain bf16 path instead
            fast_enc = None
    if fast_enc is None:
        fast_enc = _Bf16Encoder(enc)
    fast = type(model).__new__(type(model))
    nn.Module.__init__(fast)
    fast.config = model.config
    for name, child in model.named_children():
        setattr(fast, name, fast_enc if name == "encoder" else child)
    for name, buf in model.named_buffers(recurse=False):
        fast.register_buffer(name, buf, persistent=False)
    return fast.eval()
