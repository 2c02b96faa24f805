"""Inference pipeline: the one place that assembles motion tokenizer (with its normaliser) + motion-language model.

    from motiongpt.lm.pipeline import Pipeline
    pipe = Pipeline.from_pretrained("checkpoints/default")        # dir with lm/ and tokenizer/ (+ evaluator/)
    [res] = pipe.text_to_motion(["a person waves with the left hand"], lengths=[120], seed=0)
    res.ok, res.features.shape, res.joints.shape                   # True, (120, 263), (120, 22, 3)
    [cap] = pipe.motion_to_text(["clip.bvh"])                      # features (T,263), joints (T,22,3) or paths
    pipe.predict([prefix], lengths=[160]); pipe.inbetween([start], [end], lengths=[120])
    pipe.chat(["Describe <Motion_Placeholder> please"], motions=[joints])

Every method takes lists and returns one `MotionResult` per output (text-major: `num_samples` results per
text). A malformed generation gives `ok=False` with an `error` message instead of an array; bad input raises
`ValueError` naming the offending item. Requested lengths are honoured to within 2 frames (4 frames per token).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence, Union

import numpy as np
import torch

from motiongpt.lm.generation import GenerationError, parse_chat, parse_motion, parse_text
from motiongpt.lm.model import MotionLM
from motiongpt.lm.templates import MOTION, PREFIX, SUFFIX, Fields, Task, load_tasks, render
from motiongpt.utils import pick_device

MotionInput = Union[np.ndarray, torch.Tensor, str, os.PathLike]
__all__ = ["GenerationError", "MotionResult", "Pipeline"]


@dataclass
class MotionResult:
    """One output: a motion (raw features + joints + codebook ids) and/or text, or an error."""

    features: np.ndarray | None = None  # (T, D) raw HumanML3D features
    joints: np.ndarray | None = None  # (T, J, 3) metres, Y up
    text: str | None = None
    tokens: torch.Tensor | None = None  # (N,) codebook ids
    ok: bool = True
    error: str | None = None

    @property
    def frames(self) -> int:
        """Number of motion frames (0 without a motion)."""
        return 0 if self.features is None else int(self.features.shape[0])


def _failed(message: str) -> MotionResult:
    return MotionResult(ok=False, error=message)


class Pipeline:
    """Motion tokenizer + `MotionLM` with batched text-to-motion, motion-to-text, prediction, in-between, chat."""

    def __init__(self, lm: MotionLM, motion_tokenizer: torch.nn.Module, device: str | torch.device | None = None,
                 evaluator_dir: str | os.PathLike | None = None) -> None:
        if lm.vocab.codebook_size != motion_tokenizer.codebook_size:
            raise ValueError(f"LM vocabulary has {lm.vocab.codebook_size} motion tokens but the motion tokenizer "
                             f"has a codebook of {motion_tokenizer.codebook_size}")
        self.device = pick_device(str(device) if device is not None else "auto")
        self.lm = lm.to(self.device).eval()
        self.tokenizer = motion_tokenizer.to(self.device).eval()
        self.vocab = lm.vocab
        self.tasks: dict[str, Task] = load_tasks()
        self.evaluator_dir = Path(evaluator_dir) if evaluator_dir is not None else None

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike | None = None, device: str | torch.device | None = None
                        ) -> "Pipeline":
        """Load `<path>/lm` and `<path>/tokenizer` (default: `paths.default_model_dir()`)."""
        from motiongpt.paths import default_model_dir
        from motiongpt.tokenizer import MotionTokenizer

        root = Path(path) if path is not None else default_model_dir()
        for sub in ("lm", "tokenizer"):
            if not (root / sub).is_dir():
                raise FileNotFoundError(f"{root / sub}: missing (a model directory holds lm/ and tokenizer/)")
        evaluator = root / "evaluator"
        return cls(MotionLM.from_pretrained(root / "lm"), MotionTokenizer.from_pretrained(root / "tokenizer"),
                   device=device, evaluator_dir=evaluator if evaluator.is_dir() else None)

    def save_pretrained(self, path: str | os.PathLike, evaluator_dir: str | os.PathLike | None = None) -> Path:
        """Write `<path>/lm`, `<path>/tokenizer` (+ a copy of the evaluator) atomically: built beside, then swapped."""
        import shutil
        import tempfile

        root = Path(path)
        root.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=root.parent, prefix=f".{root.name}."))
        try:
            self.lm.save_pretrained(staging / "lm")
            self.tokenizer.save_pretrained(staging / "tokenizer")
            source = Path(evaluator_dir) if evaluator_dir is not None else self.evaluator_dir
            if source is not None:
                shutil.copytree(source, staging / "evaluator")
            for extra in root.glob("*.md") if root.is_dir() else ():  # keep the model card
                shutil.copy2(extra, staging / extra.name)
            old = root.with_name(f".{root.name}.old")
            if root.exists():
                root.rename(old)
            staging.rename(root)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return root

    # --- motion conversion -----------------------------------------------------------------------------------
    @property
    def frames_per_token(self) -> int:
        return int(self.tokenizer.downsample)

    def as_features(self, motion: MotionInput, where: str = "motion") -> np.ndarray:
        """Raw features (T, D) of features (T, D), joints (T, J, 3), a BVH path or a motion .npy/.json path."""
        from motiongpt.motion.features import joints_to_features

        dim = int(self.tokenizer.cfg.feature_dim)
        if isinstance(motion, (str, os.PathLike)):
            motion = self._load_path(Path(motion))
        array = motion.detach().cpu().numpy() if isinstance(motion, torch.Tensor) else np.asarray(motion)
        if array.ndim == 2 and array.shape[1] == dim:
            feats = array.astype(np.float32)
        elif array.ndim == 3 and array.shape[2] == 3:
            feats = joints_to_features(array.astype(np.float32))
        else:
            raise ValueError(f"{where}: expected features (T, {dim}) or joints (T, J, 3), got shape {array.shape}")
        if feats.shape[0] < self.frames_per_token or not np.isfinite(feats).all():
            raise ValueError(f"{where}: needs >= {self.frames_per_token} finite frames, got {feats.shape[0]}")
        return feats

    @staticmethod
    def _load_path(path: Path) -> np.ndarray:
        """Joints (T, 22, 3) of a BVH file (retargeted) or any file `motiongpt.io.export.load_motion` reads."""
        if not path.is_file():
            raise FileNotFoundError(f"{path}: motion file not found")
        if path.suffix.lower() == ".bvh":
            from motiongpt.io.retarget import bvh_to_smpl22

            return bvh_to_smpl22(path)
        from motiongpt.io.export import load_motion

        return load_motion(path)

    def encode(self, motions: Sequence[MotionInput]) -> list[torch.Tensor]:
        """Codebook ids [(N_i,)] of motions given in any accepted form (one batched tokenizer call)."""
        feats = [self.as_features(m, f"motions[{i}]") for i, m in enumerate(motions)]
        if not feats:
            return []
        lengths = torch.tensor([len(f) for f in feats])
        batch = torch.zeros(len(feats), int(lengths.max()), feats[0].shape[1])  # (B, T, D)
        for i, f in enumerate(feats):
            batch[i, :len(f)] = torch.from_numpy(f)
        return [c.cpu() for c in self.tokenizer.encode(batch.to(self.device), lengths.to(self.device))]

    def decode(self, codes: Sequence[torch.Tensor]) -> list[MotionResult]:
        """Motions (features + joints) of codebook-id sequences (one batched tokenizer call)."""
        from motiongpt.motion.features import features_to_joints

        if not codes:
            return []
        feats, lengths = self.tokenizer.decode([c.to(self.device) for c in codes])  # (B, T, D), (B,)
        out = []
        for f, n, c in zip(feats.cpu().numpy(), lengths.tolist(), codes):
            f = f[:n]
            out.append(MotionResult(features=f, joints=features_to_joints(f), tokens=c.cpu()))
        return out

    def frames_to_tokens(self, frames: int, where: str = "length") -> int:
        """Token count for a requested length in frames (nearest multiple of 4 frames, at least one token)."""
        n = max(1, round(int(frames) / self.frames_per_token))
        if int(frames) < 1 or n > self.lm.max_motion_tokens:
            raise ValueError(f"{where}: {frames} frames is outside [1, "
                             f"{self.lm.max_motion_tokens * self.frames_per_token}]")
        return n

    # --- generation core -------------------------------------------------------------------------------------
    def _prompt(self, task: str, fields: Fields) -> torch.Tensor:
        """LM ids of the canonical (first) phrasing of `task`."""
        return render(self.tasks[task].inputs[0], fields, self.vocab, where=f"task {task}")

    def _generate_motions(self, prompts: list[torch.Tensor], counts: list[int | None], sampling: dict,
                          num_samples: int = 1) -> list[torch.Tensor | str]:
        """Codebook ids per (prompt, sample), or an error message for malformed generations."""
        prompts = [p for p in prompts for _ in range(num_samples)]
        counts = [c for c in counts for _ in range(num_samples)]
        gen = self.lm.generate(prompts, ["motion"] * len(prompts), counts, **sampling)
        out: list[torch.Tensor | str] = []
        for ids in gen:
            try:
                out.append(parse_motion(ids, self.vocab))
            except GenerationError as err:
                out.append(str(err))
        return out

    def _results(self, codes: list[torch.Tensor | str], prefixes: Sequence[torch.Tensor] | None = None,
                 suffixes: Sequence[torch.Tensor] | None = None) -> list[MotionResult]:
        """Decode the good generations (optionally framed by given prefix / suffix codes), keep errors typed."""
        full: dict[int, torch.Tensor] = {}
        for i, c in enumerate(codes):
            if isinstance(c, torch.Tensor):
                parts = [prefixes[i] if prefixes else None, c, suffixes[i] if suffixes else None]
                full[i] = torch.cat([p for p in parts if p is not None])
        decoded = dict(zip(full, self.decode(list(full.values()))))
        return [decoded[i] if i in decoded else _failed(str(c)) for i, c in enumerate(codes)]

    # --- public tasks ----------------------------------------------------------------------------------------
    def text_to_motion(self, texts: Sequence[str] | str, lengths: Sequence[int | None] | int | None = None,
                       num_samples: int = 1, temperature: float = 1.0, top_k: int | None = None,
                       top_p: float | None = None, seed: int | None = None) -> list[MotionResult]:
        """Motions for captions; `lengths` in frames (None: the model decides). Result i*num_samples+j."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        frames = _per_item(lengths, len(texts), "lengths")
        prompts, counts = [], []
        for i, (text, n) in enumerate(zip(texts, frames)):
            text = text.strip()
            if n is None:
                task = "t2m" if text else "t2m_unconditional"
            else:
                task = "t2m_frames" if text else "t2m_length_only"
            prompts.append(self._prompt(task, Fields(caption=text or None, frames=n)))
            counts.append(None if n is None else self.frames_to_tokens(n, f"lengths[{i}]"))
        sampling = dict(temperature=temperature, top_k=top_k, top_p=top_p, seed=seed)
        results = self._results(self._generate_motions(prompts, counts, sampling, num_samples))
        for i, r in enumerate(results):
            r.text = texts[i // num_samples]
        return results

    def motion_to_text(self, motions: Sequence[MotionInput], temperature: float = 0.0, top_k: int | None = None,
                       top_p: float | None = None, seed: int | None = None) -> list[MotionResult]:
        """Captions of motions (greedy by default); each result also carries the input motion."""
        codes = self.encode(list(motions))
        prompts = [self._prompt("m2t", Fields(motions={MOTION: c})) for c in codes]
        gen = self.lm.generate(prompts, ["text"] * len(prompts), [None] * len(prompts), temperature=temperature,
                               top_k=top_k, top_p=top_p, seed=seed)
        results = self.decode(codes)
        for r, ids in zip(results, gen):
            try:
                r.text = parse_text(ids, self.vocab)
            except GenerationError as err:
                r.ok, r.error = False, str(err)
        return results

    def predict(self, prefixes: Sequence[MotionInput], lengths: Sequence[int] | int, temperature: float = 1.0,
                top_k: int | None = None, top_p: float | None = None, seed: int | None = None
                ) -> list[MotionResult]:
        """Continue each prefix motion to `lengths` frames in total (prefix included)."""
        codes = self.encode(list(prefixes))
        totals = _per_item(lengths, len(codes), "lengths")
        prompts, counts = [], []
        for i, (c, total) in enumerate(zip(codes, totals)):
            rest = self._remaining(total, len(c), f"lengths[{i}]")
            prompts.append(self._prompt("m2m_predict", Fields(motions={PREFIX: c})))
            counts.append(rest)
        sampling = dict(temperature=temperature, top_k=top_k, top_p=top_p, seed=seed)
        return self._results(self._generate_motions(prompts, counts, sampling), prefixes=codes)

    def inbetween(self, starts: Sequence[MotionInput], ends: Sequence[MotionInput], lengths: Sequence[int] | int,
                  temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
                  seed: int | None = None) -> list[MotionResult]:
        """Fill the motion between each start and end clip; `lengths` is the total in frames (clips included)."""
        if len(starts) != len(ends):
            raise ValueError(f"inbetween: {len(starts)} start clips but {len(ends)} end clips")
        codes = self.encode(list(starts) + list(ends))
        heads, tails = codes[:len(starts)], codes[len(starts):]
        totals = _per_item(lengths, len(heads), "lengths")
        prompts, counts = [], []
        for i, (h, t, total) in enumerate(zip(heads, tails, totals)):
            counts.append(self._remaining(total, len(h) + len(t), f"lengths[{i}]"))
            prompts.append(self._prompt("m2m_inbetween", Fields(motions={PREFIX: h, SUFFIX: t})))
        sampling = dict(temperature=temperature, top_k=top_k, top_p=top_p, seed=seed)
        return self._results(self._generate_motions(prompts, counts, sampling), prefixes=heads, suffixes=tails)

    def chat(self, messages: Sequence[str] | str, motions: Sequence[MotionInput | None] | None = None,
             temperature: float = 0.0, top_k: int | None = None, top_p: float | None = None,
             seed: int | None = None) -> list[MotionResult]:
        """Free-form instructions; a given motion fills `<Motion_Placeholder>` (or is appended). Text and/or motion."""
        messages = [messages] if isinstance(messages, str) else list(messages)
        given = list(motions) if motions is not None else [None] * len(messages)
        if len(given) != len(messages):
            raise ValueError(f"chat: {len(messages)} messages but {len(given)} motions")
        present = [i for i, m in enumerate(given) if m is not None]
        codes = dict(zip(present, self.encode([given[i] for i in present])))
        prompts = []
        for i, msg in enumerate(messages):
            if i in codes and MOTION not in msg:
                msg = f"{msg.strip()} {MOTION}"
            fields = Fields(motions={MOTION: codes[i]} if i in codes else {})
            prompts.append(render(msg, fields, self.vocab, where=f"messages[{i}]"))
        gen = self.lm.generate(prompts, ["chat"] * len(prompts), [None] * len(prompts), temperature=temperature,
                               top_k=top_k, top_p=top_p, seed=seed)
        return [self._chat_result(ids) for ids in gen]

    def _chat_result(self, ids: torch.Tensor) -> MotionResult:
        """Text and (optional) decoded motion of one chat reply."""
        try:
            text, motion = parse_chat(ids, self.vocab)
        except GenerationError as err:
            return _failed(str(err))
        result = self.decode([motion])[0] if motion is not None else MotionResult()
        result.text = text
        if not text and motion is None:
            result.ok, result.error = False, "the model produced an empty reply"
        return result

    def _remaining(self, total_frames: int, given_tokens: int, where: str) -> int:
        """Tokens to generate so that given + generated tokens make `total_frames`."""
        rest = self.frames_to_tokens(total_frames, where) - given_tokens
        if rest < 1:
            raise ValueError(f"{where}: {total_frames} frames leave nothing to generate after the "
                             f"{given_tokens * self.frames_per_token} given frames")
        return min(rest, self.lm.max_motion_tokens)


def _per_item(values: Sequence | int | None, n: int, name: str) -> list:
    """Broadcast a scalar / None to n items, or check a sequence has n items."""
    if values is None or isinstance(values, (int, np.integer)):
        return [values] * n
    values = list(values)
    if len(values) != n:
        raise ValueError(f"{name}: expected {n} values, got {len(values)}")
    return values
