"""A RoBERTa encoder folder must work unchanged: byte-level BPE, <s> .. </s>, position ids from ids."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from cmhl.checkpoint import load_checkpoint, save_checkpoint
from cmhl.config import ModelConfig
from cmhl.inference import predict_texts
from cmhl.modeling import CMHLModel, load_encoder, tiny_roberta
from cmhl.windows import encode_posts

WORDS = "i feel calm today but yesterday was hard and i could not sleep at all the rent is due".split()


@pytest.fixture(scope="module")
def roberta_folder(tmp_path_factory):
    rng = np.random.default_rng(0)
    corpus = [" ".join(rng.choice(WORDS, 12)) for _ in range(200)]
    encoder, tok = tiny_roberta(corpus, vocab_size=300)
    enc_dir = tmp_path_factory.mktemp("roberta") / "encoder"
    encoder.save_pretrained(enc_dir)
    tok.save_pretrained(enc_dir)
    return enc_dir


def test_roberta_folder_trains_saves_loads_and_windows(roberta_folder, tmp_path, no_network):
    torch.manual_seed(0)
    encoder, tok = load_encoder(str(roberta_folder))  # a local folder, exactly as a user would give it
    model = CMHLModel(ModelConfig(encoder=encoder.config.to_dict(), max_length=64), encoder).eval()
    text = "i could not sleep at all " * 30  # several windows
    enc = encode_posts(tok, [text], 64, model.config.long_text)[0]
    assert len(enc.windows) > 1
    assert all(w[0] == tok.bos_token_id and w[-1] == tok.eos_token_id and len(w) <= 64 for w in enc.windows)
    before = predict_texts(model, tok, [text, "the rent is due"])
    ck = load_checkpoint(save_checkpoint(tmp_path / "ck", model, tok, fp16=False))
    after = predict_texts(ck.model, ck.tokenizer, [text, "the rent is due"])
    np.testing.assert_allclose(before.distress_logits, after.distress_logits, atol=1e-5)
    assert ck.config.encoder["model_type"] == "roberta"
