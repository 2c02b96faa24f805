"""The T2M text-motion matching evaluator of Guo et al. 2022 ("Generating Diverse and Natural 3D Human Motions
from Text"), used by every HumanML3D metric (R-Precision, FID, MM-Dist, Diversity, MultiModality).

Module structure and parameter names match the original (`TextEncoderBiGRUCo`, `MotionEncoderBiGRUCo`,
`MovementConvEncoder`), so its checkpoint loads as is:

    ev = T2MEvaluator.from_original("t2m/text_mot_match/model/finest.tar", glove_dir="glove",
                                    meta_dir="t2m/Comp_v6_KLD01/meta", allow_pickle=True)

Our own evaluators (trained with `motiongpt train evaluator`, GloVe 6B 50d words) are directories written by
`save_pretrained` (config.json, model.safetensors holding the encoders, word vectors and the evaluator's own
Mean/Std) and read by `T2MEvaluator.from_pretrained(dir)`; `load_evaluator(path)` reads either kind (and TMR).

Interface shared with `motiongpt.eval.tmr.TMREvaluator` (`TextMotionEncoder`):
`encode_text(texts, tokens=None) -> (B, E)`, `encode_motion(features raw (B,T,D), lengths (B,)) -> (B, E)`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from motiongpt.config import PositiveFloat, PositiveInt, from_saved, read_json_object
from motiongpt.eval.words import NUM_POS, Vocabulary, encode_tokens, process_text
from motiongpt.motion.features import layout_for_dim
from motiongpt.utils import TensorBatch, atomic_dir, atomic_write_json, load_state, read_weights

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


class TextMotionEncoder(Protocol):
    """What the metrics need from an evaluator: paired text and motion embeddings in one space."""

    def encode_text(self, texts: Sequence[str], tokens: Sequence[Sequence[str]] | None = None) -> torch.Tensor: ...

    def encode_motion(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor: ...


def init_weight(m: nn.Module) -> None:
    """The original initialisation: Xavier-normal weights, zero biases for linear / conv layers."""
    if isinstance(m, (nn.Conv1d, nn.Linear, nn.ConvTranspose1d)):
        nn.init.xavier_normal_(m.weight)
        if m.bias is not None:
            nn.init.constant_(m.bias, 0)


class MovementConvEncoder(nn.Module):
    """Two stride-2 convolutions: (B, T, D_in) -> (B, T // 4, output_size) movement latents."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv1d(input_size, hidden_size, 4, 2, 1), nn.Dropout(0.2), nn.LeakyReLU(0.2),
            nn.Conv1d(hidden_size, output_size, 4, 2, 1), nn.Dropout(0.2), nn.LeakyReLU(0.2),
        )
        self.out_net = nn.Linear(output_size, output_size)
        self.main.apply(init_weight)
        self.out_net.apply(init_weight)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        outputs = self.main(inputs.permute(0, 2, 1)).permute(0, 2, 1)  # (B, T/4, out)
        return self.out_net(outputs)


def _bigru_last(gru: nn.GRU, hidden0: nn.Parameter, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Final states of both directions of a packed bidirectional GRU: x (B, L, H) -> (B, 2H)."""
    hidden = hidden0.repeat(1, x.shape[0], 1)  # (2, B, H)
    packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    _, last = gru(packed, hidden)  # (2, B, H), original batch order restored
    return torch.cat([last[0], last[1]], dim=-1)


def _output_net(hidden_size: int, output_size: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(hidden_size * 2, hidden_size), nn.LayerNorm(hidden_size), nn.LeakyReLU(0.2),
                         nn.Linear(hidden_size, output_size))


class TextEncoderBiGRUCo(nn.Module):
    """Word vectors + POS one-hots -> bidirectional GRU -> text embedding (B, output_size)."""

    def __init__(self, word_size: int, pos_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.pos_emb = nn.Linear(pos_size, word_size)
        self.input_emb = nn.Linear(word_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True, bidirectional=True)
        self.output_net = _output_net(hidden_size, output_size)
        for m in (self.input_emb, self.pos_emb, self.output_net):
            m.apply(init_weight)
        self.hidden_size = hidden_size
        self.hidden = nn.Parameter(torch.randn((2, 1, hidden_size)))

    def forward(self, word_embs: torch.Tensor, pos_onehot: torch.Tensor, cap_lens: torch.Tensor) -> torch.Tensor:
        inputs = self.input_emb(word_embs + self.pos_emb(pos_onehot))  # (B, L, H)
        return self.output_net(_bigru_last(self.gru, self.hidden, inputs, cap_lens))


class MotionEncoderBiGRUCo(nn.Module):
    """Movement latents -> bidirectional GRU -> motion embedding (B, output_size)."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.input_emb = nn.Linear(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True, bidirectional=True)
        self.output_net = _output_net(hidden_size, output_size)
        self.input_emb.apply(init_weight)
        self.output_net.apply(init_weight)
        self.hidden_size = hidden_size
        self.hidden = nn.Parameter(torch.randn((2, 1, hidden_size)))

    def forward(self, inputs: torch.Tensor, m_lens: torch.Tensor) -> torch.Tensor:
        return self.output_net(_bigru_last(self.gru, self.hidden, self.input_emb(inputs), m_lens))


@dataclass
class EvaluatorConfig:
    """Sizes of the T2M evaluator (defaults: the original HumanML3D evaluator, except the word size)."""

    dim_pose: PositiveInt = 263
    dim_word: PositiveInt = 50  # GloVe 6B 50d here; the original uses 300d GloVe 840B
    dim_pos_ohot: PositiveInt = NUM_POS
    dim_text_hidden: PositiveInt = 512
    dim_coemb_hidden: PositiveInt = 512
    dim_movement_enc_hidden: PositiveInt = 512
    dim_movement_latent: PositiveInt = 512
    dim_motion_hidden: PositiveInt = 1024
    unit_length: PositiveInt = 4
    max_text_len: PositiveInt = 20
    margin: PositiveFloat = 10.0  # contrastive hinge margin for negatives


@dataclass
class EvaluatorBatch(TensorBatch):
    """Collated training pairs: word ids / POS ids (B, L), cap_lens (B,), raw features (B, T, D), lengths (B,)."""

    word_ids: torch.Tensor
    pos_ids: torch.Tensor
    cap_lens: torch.Tensor
    features: torch.Tensor
    lengths: torch.Tensor


def register_feature_stats(model: nn.Module, mean: np.ndarray, std: np.ndarray, dim_pose: int) -> None:
    """Keep the feature Mean/Std, checked to be (dim_pose,), as float32 buffers `mean` / `std` of `model`
    (so they are saved and loaded with its weights and follow it to its device)."""
    if mean.shape != (dim_pose,) or std.shape != (dim_pose,):
        raise ValueError(f"mean {mean.shape} / std {std.shape} must be ({dim_pose},)")
    model.register_buffer("mean", torch.from_numpy(np.asarray(mean, np.float32).copy()))
    model.register_buffer("std", torch.from_numpy(np.asarray(std, np.float32).copy()))


def contrastive_loss(a: torch.Tensor, b: torch.Tensor, negative: bool, margin: float) -> torch.Tensor:
    """The original ContrastiveLoss: squared distance for positives, squared hinge (margin - d)+ for negatives."""
    d = F.pairwise_distance(a, b)  # (B,)
    return (torch.clamp(margin - d, min=0.0) ** 2).mean() if negative else (d**2).mean()


class T2MEvaluator(nn.Module):
    """Text encoder + movement encoder + motion encoder, with the evaluator's own word vectors and Mean/Std."""

    def __init__(self, cfg: EvaluatorConfig, vocab: Vocabulary, mean: np.ndarray, std: np.ndarray) -> None:
        super().__init__()
        if vocab.dim != cfg.dim_word:
            raise ValueError(f"word vectors have size {vocab.dim}, config dim_word is {cfg.dim_word}")
        register_feature_stats(self, mean, std, cfg.dim_pose)
        self.cfg, self.words = cfg, list(vocab.words)
        self.vocab = vocab
        self.layout = layout_for_dim(cfg.dim_pose)
        move_in = self.layout.foot_contact.start  # features without the foot contacts (the original's [..., :-4])
        self.text_encoder = TextEncoderBiGRUCo(cfg.dim_word, cfg.dim_pos_ohot, cfg.dim_text_hidden,
                                               cfg.dim_coemb_hidden)
        self.motion_encoder = MotionEncoderBiGRUCo(cfg.dim_movement_latent, cfg.dim_motion_hidden,
                                                   cfg.dim_coemb_hidden)
        self.movement_encoder = MovementConvEncoder(move_in, cfg.dim_movement_enc_hidden, cfg.dim_movement_latent)
        self.register_buffer("word_vectors", torch.from_numpy(np.asarray(vocab.vectors, np.float32).copy()))

    @property
    def device(self) -> torch.device:
        return self.word_vectors.device

    # ---- text ----------------------------------------------------------------------------------------------
    def tokenize(self, texts: Sequence[str], tokens: Sequence[Sequence[str]] | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Captions -> word ids (B, L), POS ids (B, L), cap_lens (B,); `tokens` (word/POS) skip the tagger."""
        toks = tokens if tokens is not None else [process_text(t) for t in texts]
        if len(toks) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(toks)} token lists")
        enc = [encode_tokens(self.vocab, t, self.cfg.max_text_len) for t in toks]
        ids = torch.from_numpy(np.stack([e[0] for e in enc]))
        pos = torch.from_numpy(np.stack([e[1] for e in enc]))
        return ids, pos, torch.tensor([e[2] for e in enc], dtype=torch.long)

    def text_embedding(self, word_ids: torch.Tensor, pos_ids: torch.Tensor, cap_lens: torch.Tensor) -> torch.Tensor:
        """(B, L) ids -> (B, E) text embeddings."""
        word_embs = F.embedding(word_ids, self.word_vectors)  # (B, L, W)
        pos_onehot = F.one_hot(pos_ids, self.cfg.dim_pos_ohot).to(word_embs.dtype)  # (B, L, P)
        return self.text_encoder(word_embs, pos_onehot, cap_lens)

    # ---- motion --------------------------------------------------------------------------------------------
    def motion_embedding(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Raw features (B, T, D) with lengths (B,) -> (B, E). Frames past each length are ignored."""
        if features.ndim != 3 or features.shape[-1] != self.cfg.dim_pose:
            raise ValueError(f"motion features must be (B, T, {self.cfg.dim_pose}), got {tuple(features.shape)}")
        units = lengths // self.cfg.unit_length  # (B,)
        if (units < 1).any():
            raise ValueError(f"motions need >= {self.cfg.unit_length} frames, got lengths {lengths.tolist()}")
        mask = torch.arange(features.shape[1], device=features.device)[None, :] < lengths[:, None]  # (B, T)
        x = (features - self.mean) / self.std * mask[..., None]  # normalised, zero padding as the original
        movements = self.movement_encoder(x[..., : self.layout.foot_contact.start])  # (B, T/4, M)
        return self.motion_encoder(movements, units)

    # ---- TextMotionEncoder interface -----------------------------------------------------------------------
    @torch.no_grad()
    def encode_text(self, texts: Sequence[str], tokens: Sequence[Sequence[str]] | None = None) -> torch.Tensor:
        """(B,) captions -> (B, E) embeddings (eval mode)."""
        ids, pos, lens = self.tokenize(texts, tokens)
        return self.eval().text_embedding(ids.to(self.device), pos.to(self.device), lens)

    @torch.no_grad()
    def encode_motion(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Raw features (B, T, D), lengths (B,) -> (B, E) embeddings (eval mode)."""
        return self.eval().motion_embedding(features.to(self.device), lengths.to(self.device))

    # ---- training ------------------------------------------------------------------------------------------
    def collate(self, samples: Sequence) -> EvaluatorBatch:
        """`TextMotionSample`s (raw features) -> `EvaluatorBatch`."""
        from motiongpt.data.datasets import pad_features

        ids, pos, lens = self.tokenize([s.text for s in samples], [s.tokens or process_text(s.text) for s in samples])
        features, lengths = pad_features([s.features for s in samples])
        return EvaluatorBatch(ids, pos, lens, features, lengths)

    def training_loss(self, batch: EvaluatorBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Original objective: pull matched pairs together, push a shifted (mismatched) pairing beyond `margin`."""
        text = self.text_embedding(batch.word_ids, batch.pos_ids, batch.cap_lens)  # (B, E)
        motion = self.motion_embedding(batch.features, batch.lengths)  # (B, E)
        b = text.shape[0]
        shift = int(torch.randint(1, b, (1,))) if b > 1 else 0  # never 0 (the original's shift may be 0)
        mis_motion = motion.roll(-shift, dims=0)
        loss_pos = contrastive_loss(text, motion, False, self.cfg.margin)
        loss_neg = contrastive_loss(text, mis_motion, True, self.cfg.margin)
        return loss_pos + loss_neg, {"loss_pos": loss_pos.detach(), "loss_neg": loss_neg.detach()}

    # ---- persistence ---------------------------------------------------------------------------------------
    def save_pretrained(self, out_dir: str | Path) -> None:
        """config.json (sizes + vocabulary words) and model.safetensors (encoders, word vectors, Mean/Std)."""
        save_evaluator(self, out_dir, {"kind": "t2m", "config": asdict(self.cfg), "words": self.words})

    @classmethod
    def from_pretrained(cls, model_dir: str | Path, device: str | torch.device = "cpu") -> T2MEvaluator:
        """Read a directory written by `save_pretrained`."""
        saved = read_evaluator(model_dir, "t2m", EvaluatorConfig, ("word_vectors", "mean", "std"))
        words = saved.meta.get("words")
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise ValueError(f"{saved.config_path}: 'words' must be a list of strings")
        vocab = Vocabulary(words, saved.state["word_vectors"].numpy())
        model = cls(saved.cfg, vocab, saved.state["mean"].numpy(), saved.state["std"].numpy())
        load_state(model, saved.state, saved.weights_path)
        return model.to(device).eval()

    @classmethod
    def from_original(cls, checkpoint: str | Path, glove_dir: str | Path, meta_dir: str | Path,
                      allow_pickle: bool = False, device: str | torch.device = "cpu") -> T2MEvaluator:
        """The original HumanML3D evaluator: `text_mot_match/model/finest.tar` (state dicts `text_encoder`,
        `motion_encoder`, `movement_encoder`), `glove/our_vab_*` and `meta/{mean,std}.npy` (user-supplied).

        The vocabulary's .pkl files are pickles: pass `allow_pickle=True` to read them (files you trust)."""
        if not allow_pickle:
            raise PermissionError("the original evaluator's glove/our_vab_{words,idx}.pkl are Python pickles; "
                                  "pass allow_pickle=True (CLI: --trust-pickle) to load files you trust")
        ckpt = torch.load(str(checkpoint), map_location="cpu", weights_only=True)
        for key in ("text_encoder", "motion_encoder", "movement_encoder"):
            if key not in ckpt:
                raise KeyError(f"{checkpoint}: no {key!r} state dict (keys: {sorted(ckpt)})")
        vocab = Vocabulary.from_original(glove_dir)
        mean, std = (_read_stat(Path(meta_dir), n) for n in ("mean", "std"))
        cfg = EvaluatorConfig(dim_pose=mean.shape[0], dim_word=vocab.dim,
                              dim_text_hidden=ckpt["text_encoder"]["input_emb.weight"].shape[0],
                              dim_coemb_hidden=ckpt["text_encoder"]["output_net.3.weight"].shape[0],
                              dim_movement_enc_hidden=ckpt["movement_encoder"]["main.0.weight"].shape[0],
                              dim_movement_latent=ckpt["movement_encoder"]["out_net.weight"].shape[0],
                              dim_motion_hidden=ckpt["motion_encoder"]["input_emb.weight"].shape[0])
        model = cls(cfg, vocab, mean, std)
        for key in ("text_encoder", "motion_encoder", "movement_encoder"):
            getattr(model, key).load_state_dict(ckpt[key])
        return model.to(device).eval()


def _read_stat(meta_dir: Path, name: str) -> np.ndarray:
    """meta/<name>.npy (or <Name>.npy) as float32 (D,)."""
    for cand in (meta_dir / f"{name}.npy", meta_dir / f"{name.capitalize()}.npy"):
        if cand.is_file():
            arr = np.load(cand)
            if arr.ndim != 1:
                raise ValueError(f"{cand}: expected shape (D,), got {arr.shape}")
            return arr.astype(np.float32)
    raise FileNotFoundError(f"{meta_dir}: no {name}.npy")


@dataclass
class SavedEvaluator:
    """What an evaluator directory holds: its checked config, the whole config.json and the weights."""

    cfg: Any
    meta: dict[str, Any]
    state: dict[str, torch.Tensor]
    config_path: Path
    weights_path: Path


def read_evaluator(model_dir: str | Path, kind: str, config_cls: type, tensors: Sequence[str]) -> SavedEvaluator:
    """Read config.json (kind and sizes checked) and model.safetensors (with the named `tensors`) of a directory
    written by `save_evaluator`; errors are one line naming the file."""
    root = Path(model_dir)
    config_path, weights_path = root / CONFIG_NAME, root / WEIGHTS_NAME
    if not config_path.is_file():
        raise FileNotFoundError(f"{root}: no {CONFIG_NAME} (not an evaluator directory)")
    meta = read_json_object(config_path, {"kind": kind})
    cfg = from_saved(config_cls, meta.get("config"), config_path)
    state = read_weights(weights_path)
    missing = [name for name in tensors if name not in state]
    if missing:
        raise ValueError(f"{weights_path}: no {missing[0]!r} tensor")
    return SavedEvaluator(cfg, meta, state, config_path, weights_path)


def save_evaluator(model: nn.Module, out_dir: str | Path, meta: dict[str, Any]) -> None:
    """Write `meta` as config.json and the state dict as model.safetensors into `out_dir`, swapped in at once."""
    with atomic_dir(out_dir) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(tmp / WEIGHTS_NAME))
        atomic_write_json(tmp / CONFIG_NAME, meta)


def find_original(root: str | Path) -> tuple[Path, Path, Path] | None:
    """(finest.tar, glove dir, meta dir) of an original T2M checkpoint tree under `root`, or None.

    Looks for `<root>/[t2m/]text_mot_match/model/finest.tar`, `<root>/glove` (or beside it) and a `meta` folder
    with mean.npy (`Comp_v6_KLD01/meta` or `text_mot_match/meta`)."""
    root = Path(root)
    for base in (root, root / "t2m"):
        tar = base / "text_mot_match" / "model" / "finest.tar"
        if not tar.is_file():
            continue
        glove = next((g for g in (root / "glove", base / "glove", root.parent / "glove") if g.is_dir()), None)
        meta = next((m for m in (base / "Comp_v6_KLD01" / "meta", base / "text_mot_match" / "meta", root / "meta")
                     if (m / "mean.npy").is_file()), None)
        if glove is not None and meta is not None:
            return tar, glove, meta
    return None


def load_evaluator(path: str | Path, allow_pickle: bool = False,
                   device: str | torch.device = "cpu") -> TextMotionEncoder:
    """An evaluator directory: ours (config.json kind t2m / tmr) or an original T2M checkpoint tree."""
    root = Path(path)
    if (root / CONFIG_NAME).is_file():
        kind = read_json_object(root / CONFIG_NAME).get("kind")
        if kind == "tmr":
            from motiongpt.eval.tmr import TMREvaluator

            return TMREvaluator.from_pretrained(root, device=device)
        return T2MEvaluator.from_pretrained(root, device=device)
    found = find_original(root)
    if found is None:
        raise FileNotFoundError(f"{root}: neither an evaluator directory (config.json) nor an original T2M tree "
                                "(text_mot_match/model/finest.tar + glove/ + meta/mean.npy)")
    return T2MEvaluator.from_original(*found, allow_pickle=allow_pickle, device=device)
