"""Inference pipeline: the one place that assembles motion tokenizer (with its normaliser) + motion-language model.

    from motiongpt.lm.pipeline import Pipeline
    pipe = Pipeline.from_pretrained("checkpoints/default")        # dir with lm/ and tokenizer/ (+ evaluator/)
    [res] = pipe.text_to_motion(["a person waves with the left hand"], lengths=[120], seed=0)
    res.ok, res.features.shape, res.joints.shape                   # True, (120, 263), (120, 22, 3)
    [cap] = pipe.motion_to_text(["clip.bvh"])                      # features (T,263), joints (T,22,3) or paths
    pipe.predict([prefix], lengths=[160]); pipe.inbetween([start], [end], lengths=[120])
    pipe.chat(["Describe <Motion_Placeholder> please"], motions=[joints])
    pipe.converse([ChatTurn("user", "show me a person waving"), ChatTurn("assistant", "", res.features),
                   ChatTurn("user", "describe what you made")])   # -> one MotionResult (text and/or motion)
    pipe.run("m2t", [Fields(motions={MOTION: codes})])           # any declared task, by name

Each public method is a thin call of `run`, which renders the first phrasing of the declared task
(`templates.json`) that the given fields can fill and decodes in that task's output mode.

Every method takes lists and returns one `MotionResult` per output (text-major: `num_samples` results per
text). A malformed generation gives `ok=False` with an `error` message instead of an array; bad input raises
`ValueError` naming the offending item. Requested lengths are honoured to within 2 frames (4 frames per token).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence, Union

import numpy as np
import torch

from motiongpt.lm.generation import GenerationError, parse_chat, parse_motion, parse_text
from motiongpt.lm.model import MotionLM
from motiongpt.lm.templates import (CONVERSATION, MOTION, PREFIX, SUFFIX, Fields, Task, Turn, load_tasks, render,
                                    select_task)
from motiongpt.motion.trajectory import RootOffset, blend_root_to_target, joints_offset, splice_clips
from motiongpt.utils import atomic_dir, pick_device

MotionInput = Union[np.ndarray, torch.Tensor, str, os.PathLike]
# Text-to-motion sampling temperature, chosen on the validation split's captions by action accuracy
# (scripts/sampling_sweep.py -> results/sampling_sweep_val.json: T=1.0 0.61, T=0.7 0.81, T=0.5 0.83, top-k 50 0.70).
T2M_TEMPERATURE = 0.7
# Classifier-free guidance of text-to-motion against the caption-free request, chosen on a label-balanced set of
# validation captions (scripts/guidance_sweep.py -> results/guidance_sweep_val.json, 2 seeds, T=0.7: guidance
# 1 / 1.5 / 2 / 3 / 4 / 6: action acc 0.634 0.734 0.774 0.795 0.807 0.802 for the stage-3b model; for the shipped
# stage-3e model, guidance 3 / 4 / 6: 0.874 0.854 0.833, macro 0.830 0.810 0.789 -> results/guidance_sweep_val_3e.json).
T2M_GUIDANCE = 3.0
# Motion-to-text: the greedy caption plus 7 sampled ones (T=0.7), reranked by the model's own text-to-motion
# likelihood of the motion; on the validation split (motiongpt eval m2t --split val --replications 1 --no-bertscore
# --candidates 1|8 -> results/m2t_rerank_val_c*.json) R@3 0.691 -> 0.785, CIDEr 0.723 -> 0.682, BLEU@4 0.370 -> 0.362.
M2T_CANDIDATES = 8
M2T_CANDIDATE_TEMPERATURE = 0.7
# Prediction / in-between: sampling temperatures and seam fades (frames over which a given clip's boundary pose and
# velocity are faded into the generated part), chosen on the validation split (scripts/completion_sweep.py ->
# results/completion_sweep_val.json, 3 seeds): prediction T=0.8 has the lowest FID of the temperatures (1.0 0.9 0.8
# 0.7: FID 3.49 3.35 3.08 3.84, ADE 0.88 0.76 0.76 0.75 m, hold-last-pose 1.23 m) and a 16-frame fade the lowest
# ADE (4 8 16 24 32: 0.78 0.76 0.74 0.75 0.80 m); in-between T=0.5 the lowest FID (1.0 0.7 0.5 0.3: 0.27 0.20 0.17
# 0.17, linear interpolation 0.37-0.53) and an 8-frame fade the lowest ADE and FID (4 8 16: 0.144 0.134 0.145 m).
PRED_TEMPERATURE = 0.8
INBETWEEN_TEMPERATURE = 0.5
PRED_FADE_FRAMES = 16
INBETWEEN_FADE_FRAMES = 8
__all__ = ["ChatTurn", "GenerationError", "MotionResult", "Pipeline", "RootOffset"]
# Which declared task serves each public method: the first one whose first phrasing the given fields fill.
T2M_TASKS = ("t2m_frames", "t2m", "t2m_length_only", "t2m_unconditional")
M2T_TASKS = ("m2t",)
PREDICT_TASKS = ("m2m_predict_text", "m2m_predict")
INBETWEEN_TASKS = ("m2m_inbetween_text", "m2m_inbetween_at", "m2m_inbetween")
CHAT_TASKS = ("chat",)
ROLES = ("user", "assistant")
DEFAULT_CONTEXT = 512  # prompt tokens when the backbone config states no limit
REPLY_TEXT_TOKENS = 64


@dataclass
class ChatTurn:
    """One turn of a conversation: who speaks, what they say and (optionally) a motion (features or joints)."""

    role: str  # "user" | "assistant"
    text: str
    motion: np.ndarray | torch.Tensor | None = None


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

    def save_pretrained(self, path: str | os.PathLike, evaluator_dir: str | os.PathLike | None = None,
                        extra_dirs: dict[str, str | os.PathLike] | None = None, lm_dtype: str | None = None,
                        tokenizer_dtype: str | None = None) -> Path:
        """Write `<path>/lm`, `<path>/tokenizer` (+ copies of the evaluator and of `extra_dirs`, e.g.
        {"recognizer": dir}) atomically: built beside, then swapped. `lm_dtype="bfloat16"` stores the LM weights
        in bf16 and `tokenizer_dtype="float16"` the motion tokenizer's in fp16 (both loaded back as fp32)."""
        import shutil

        root = Path(path)
        with atomic_dir(root) as staging:
            self.lm.save_pretrained(staging / "lm", dtype=lm_dtype)
            self.tokenizer.save_pretrained(staging / "tokenizer", dtype=tokenizer_dtype)
            source = Path(evaluator_dir) if evaluator_dir is not None else self.evaluator_dir
            if source is not None:
                shutil.copytree(source, staging / "evaluator")
            for name, folder in (extra_dirs or {}).items():
                shutil.copytree(folder, staging / name)
            for extra in root.glob("*.md") if root.is_dir() else ():  # keep the model card
                shutil.copy2(extra, staging / extra.name)
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
    def run(self, tasks: str | Sequence[str], fields: Sequence[Fields], tokens: Sequence[int | None] | None = None,
            num_samples: int = 1, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
            seed: int | None = None, guidance: float = 1.0) -> list[MotionResult]:
        """Generate for each `fields` with the first of `tasks` it can fill (its first phrasing, its output mode).

        `tokens`: motion tokens to generate per item (None: the model decides). Motion answers are framed by the
        given parts of the task's cut (prefix / suffix) and, with an end-clip offset, blended to arrive there.
        `guidance` != 1: classifier-free guidance against the same fields without their caption (`unconditional`).
        Result i*num_samples+j; a malformed generation gives `ok=False` with its error.
        """
        candidates = [tasks] if isinstance(tasks, str) else list(tasks)
        fields = list(fields)
        counts = _per_item(tokens, len(fields), "tokens")
        prompts, chosen = self._prompts(candidates, fields)
        if not any(f.caption or f.other_caption for f in fields):
            guidance = 1.0  # nothing to guide by: the unconditional request is the request itself
        uncond = self._prompts(candidates, unconditional(fields))[0] if guidance != 1.0 else None
        rep = [i for i in range(len(fields)) for _ in range(num_samples)]
        gen = self.lm.generate([prompts[i] for i in rep], [chosen[i].output for i in rep], [counts[i] for i in rep],
                               temperature=temperature, top_k=top_k, top_p=top_p, seed=seed, guidance=guidance,
                               unconditional=None if uncond is None else [uncond[i] for i in rep])
        return self._answers([chosen[i] for i in rep], [fields[i] for i in rep], gen)

    def _prompts(self, candidates: Sequence[str], fields: Sequence[Fields]) -> tuple[list[torch.Tensor], list[Task]]:
        """Each item's prompt ids, rendered from the first candidate task its fields fill, and that task."""
        chosen = [select_task(candidates, f, self.tasks) for f in fields]
        return [render(t.inputs[0], f, self.vocab, where=f"task {t.name}") for t, f in zip(chosen, fields)], chosen

    def _answers(self, tasks: Sequence[Task], fields: Sequence[Fields], gen: Sequence[torch.Tensor]
                 ) -> list[MotionResult]:
        """Parse each generation by its task's output mode, decode all motions in one batch, blend roots."""
        parsed = [self._parse(t.output, ids) for t, ids in zip(tasks, gen)]
        wholes = {i: self._whole(t, f, None if isinstance(p, str) else p[1])
                  for i, (t, f, p) in enumerate(zip(tasks, fields, parsed))}
        wholes = {i: w for i, w in wholes.items() if w is not None}
        decoded = dict(zip(wholes, self.decode([torch.cat(w) for w in wholes.values()])))
        out = []
        for i, (task, f, p) in enumerate(zip(tasks, fields, parsed)):
            if isinstance(p, str):  # a failed motion answer carries no motion; a failed caption keeps its input
                out.append(decoded[i] if i in decoded and task.output == "text" else MotionResult())
                out[-1].ok, out[-1].error = False, p
                continue
            result = decoded.get(i, MotionResult())
            result.text = f.caption if task.output == "motion" else p[0]
            if i in decoded and f.offset is not None and task.cutter.anchor:
                self._land(result, task, wholes[i], f)
            out.append(result)
        return out

    def _parse(self, mode: str, ids: torch.Tensor) -> tuple[str | None, torch.Tensor | None] | str:
        """(text, codebook ids) of one generation in `mode`, or the error message."""
        try:
            if mode == "motion":
                return None, parse_motion(ids, self.vocab)
            if mode == "text":
                return parse_text(ids, self.vocab), None
            text, codes = parse_chat(ids, self.vocab)
        except GenerationError as err:
            return str(err)
        return (text, codes) if text or codes is not None else "the model produced an empty reply"

    @staticmethod
    def _whole(task: Task, fields: Fields, generated: torch.Tensor | None) -> list[torch.Tensor] | None:
        """Parts of the complete motion in the cut's order (generated part in the answer's slot), None if absent."""
        slot = task.output_slot if generated is not None else None
        parts = [generated if s == slot else fields.motions.get(s) for s in task.cutter.whole]
        if all(p is not None for p in parts):
            return list(parts)
        return [generated] if generated is not None else None

    def _land(self, result: MotionResult, task: Task, parts: list[torch.Tensor], fields: Fields) -> None:
        """Blend the decoded root so that the part after the gap starts where `fields.offset` puts it, seen from
        the last frame before the gap (`motion.trajectory.blend_root_to_target`). `predict` / `inbetween` then
        splice in the given clips and blend again (`_splice`)."""
        from motiongpt.motion.features import features_to_joints

        first, second = (task.cutter.whole.index(s) for s in task.cutter.anchor)
        starts = np.cumsum([0] + [len(p) for p in parts]) * self.frames_per_token
        a, b = int(starts[first + 1]) - 1, int(starts[second])
        result.features = blend_root_to_target(result.features, a, b, fields.offset)
        result.joints = features_to_joints(result.features)

    # --- public tasks ----------------------------------------------------------------------------------------
    def text_to_motion(self, texts: Sequence[str] | str, lengths: Sequence[int | None] | int | None = None,
                       num_samples: int = 1, temperature: float = T2M_TEMPERATURE, top_k: int | None = None,
                       top_p: float | None = None, seed: int | None = None, guidance: float = T2M_GUIDANCE
                       ) -> list[MotionResult]:
        """Motions for captions; `lengths` in frames (None: the model decides). Result i*num_samples+j.
        `guidance`: classifier-free guidance scale against the caption-free request (1 = off)."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        frames = _per_item(lengths, len(texts), "lengths")
        fields = [Fields(caption=t.strip() or None, frames=n) for t, n in zip(texts, frames)]
        tokens = [None if n is None else self.frames_to_tokens(n, f"lengths[{i}]") for i, n in enumerate(frames)]
        results = self.run(T2M_TASKS, fields, tokens, num_samples, temperature, top_k, top_p, seed, guidance)
        for i, r in enumerate(results):
            r.text = texts[i // num_samples]
        return results

    def motion_to_text(self, motions: Sequence[MotionInput], temperature: float = 0.0, top_k: int | None = None,
                       top_p: float | None = None, seed: int | None = None, candidates: int = M2T_CANDIDATES
                       ) -> list[MotionResult]:
        """Captions of motions (greedy by default); each result also carries the input motion.

        `candidates` > 1: besides that caption, `candidates - 1` are sampled (at `temperature`, or
        `M2T_CANDIDATE_TEMPERATURE` when greedy) and each motion keeps the caption under which the model's own
        text-to-motion finds it most likely (noisy-channel reranking, `rerank_captions`).
        """
        codes = self.encode(list(motions))
        fields = [Fields(motions={MOTION: c}) for c in codes]
        results = self.run(M2T_TASKS, fields, None, 1, temperature, top_k, top_p, seed)
        if candidates > 1:
            extra = self._sample_captions(fields, candidates - 1, temperature or M2T_CANDIDATE_TEMPERATURE, top_k,
                                          top_p, seed)
            keep = [i for i, r in enumerate(results) if r.ok and r.text]
            best = self.rerank_captions([[results[i].text, *extra[i]] for i in keep], [codes[i] for i in keep])
            for i, text in zip(keep, best):
                results[i].text = text
        return results

    def _sample_captions(self, fields: Sequence[Fields], n: int, temperature: float, top_k: int | None,
                         top_p: float | None, seed: int | None) -> list[list[str]]:
        """`n` sampled motion-to-text captions per item (malformed or empty ones left out)."""
        prompts, _ = self._prompts(M2T_TASKS, fields)
        rep = [i for i in range(len(fields)) for _ in range(n)]
        gen = self.lm.generate([prompts[i] for i in rep], ["text"] * len(rep), [None] * len(rep),
                               temperature=temperature, top_k=top_k, top_p=top_p,
                               seed=None if seed is None else seed + 1)
        out: list[list[str]] = [[] for _ in fields]
        for i, ids in zip(rep, gen):
            parsed = self._parse("text", ids)
            if not isinstance(parsed, str) and parsed[0]:
                out[i].append(parsed[0])
        return out

    def rerank_captions(self, captions: Sequence[Sequence[str]], codes: Sequence[torch.Tensor]) -> list[str]:
        """Per motion, the caption c (first on ties) maximising log p(codes | c) under the text-to-motion prompt with
        the motion's length: the caption from which the model would most likely have generated it (one batch)."""
        unique = [list(dict.fromkeys(caps)) for caps in captions]
        pairs = [(i, c) for i, caps in enumerate(unique) for c in caps]
        fields = [Fields(caption=c, frames=len(codes[i]) * self.frames_per_token) for i, c in pairs]
        prompts, _ = self._prompts(T2M_TASKS, fields)
        scores = self.lm.motion_logprob(prompts, [codes[i] for i, _ in pairs]).split([len(c) for c in unique])
        return [caps[int(torch.argmax(sc))] for caps, sc in zip(unique, scores)]

    def predict(self, prefixes: Sequence[MotionInput], lengths: Sequence[int] | int,
                temperature: float = PRED_TEMPERATURE, top_k: int | None = None, top_p: float | None = None,
                seed: int | None = None, texts: Sequence[str | None] | None = None,
                fade: int = PRED_FADE_FRAMES) -> list[MotionResult]:
        """Continue each prefix motion to `lengths` frames in total (prefix included), optionally as `texts` say.

        The result starts with the given prefix itself (its frames the motion tokens cover), the generated
        pose faded in over `fade` frames after the seam (`motion.trajectory.splice_clips`).
        """
        given = [self.as_features(p, f"prefixes[{i}]") for i, p in enumerate(prefixes)]
        codes = self.encode(given)
        totals = _per_item(lengths, len(codes), "lengths")
        captions = _per_item(texts, len(codes), "texts")
        tokens = [self._remaining(n, len(c), f"lengths[{i}]") for i, (c, n) in enumerate(zip(codes, totals))]
        fields = [Fields(caption=t or None, motions={PREFIX: c}) for c, t in zip(codes, captions)]
        results = self.run(PREDICT_TASKS, fields, tokens, 1, temperature, top_k, top_p, seed)
        return [self._splice(r, self._covered(g, c), None, None, fade) for r, g, c in zip(results, given, codes)]

    def inbetween(self, starts: Sequence[MotionInput], ends: Sequence[MotionInput], lengths: Sequence[int] | int,
                  temperature: float = INBETWEEN_TEMPERATURE, top_k: int | None = None, top_p: float | None = None,
                  seed: int | None = None, texts: Sequence[str | None] | None = None,
                  offsets: Sequence[RootOffset | None] | None = None,
                  fade: int = INBETWEEN_FADE_FRAMES) -> list[MotionResult]:
        """Fill the motion between each start and end clip; `lengths` is the total in frames (clips included).

        `offsets`: where each end clip starts seen from the end of its start clip (`motion.trajectory.RootOffset`);
        when None and both clips are joints (T, J, 3) in one world frame, it is read from them. With an offset
        the model is told it and the generated root is blended to arrive there. `texts`: what happens in the gap
        (used together with an offset; the declared text variant states both). The result holds the given clips
        themselves (the frames their tokens cover), the generated pose faded into them over `fade` frames.
        """
        if len(starts) != len(ends):
            raise ValueError(f"inbetween: {len(starts)} start clips but {len(ends)} end clips")
        given = [self.as_features(m, f"{kind}[{i}]") for kind, clips in (("starts", starts), ("ends", ends))
                 for i, m in enumerate(clips)]
        codes = self.encode(given)
        n = len(starts)
        heads, tails = codes[:n], codes[n:]
        totals = _per_item(lengths, n, "lengths")
        captions = _per_item(texts, n, "texts")
        places = [o if o is not None else _joints_offset(s, e) for s, e, o in
                  zip(starts, ends, _per_item(offsets, n, "offsets"))]
        tokens = [self._remaining(k, len(h) + len(t), f"lengths[{i}]")
                  for i, (h, t, k) in enumerate(zip(heads, tails, totals))]
        fields = [Fields(caption=c or None, motions={PREFIX: h, SUFFIX: t}, offset=o)
                  for h, t, c, o in zip(heads, tails, captions, places)]
        results = self.run(INBETWEEN_TASKS, fields, tokens, 1, temperature, top_k, top_p, seed)
        return [self._splice(r, self._covered(given[i], heads[i]), self._covered(given[n + i], tails[i]), places[i],
                             fade) for i, r in enumerate(results)]

    def _covered(self, features: np.ndarray, codes: torch.Tensor) -> np.ndarray:
        """The frames of a given clip that its motion tokens stand for (the tokenizer drops a partial last token)."""
        return features[:len(codes) * self.frames_per_token]

    @staticmethod
    def _splice(result: MotionResult, start: np.ndarray, end: np.ndarray | None, offset: RootOffset | None,
                fade: int) -> MotionResult:
        """Put the given clips into a completed motion (`splice_clips`) and, with an offset, blend the gap's root
        so that the end clip stands there (`blend_root_to_target`); failed results pass unchanged."""
        from motiongpt.motion.features import features_to_joints

        if not result.ok or result.features is None:
            return result
        feats = splice_clips(result.features, start, end, fade)
        if end is not None and offset is not None:
            feats = blend_root_to_target(feats, len(start) - 1, len(feats) - len(end), offset)
        result.features, result.joints = feats, features_to_joints(feats)
        return result

    def chat(self, messages: Sequence[str] | str, motions: Sequence[MotionInput | None] | None = None,
             temperature: float = 0.0, top_k: int | None = None, top_p: float | None = None,
             seed: int | None = None) -> list[MotionResult]:
        """Single-turn messages; a given motion fills `<Motion_Placeholder>` (or is appended). Text and/or motion."""
        messages = [messages] if isinstance(messages, str) else list(messages)
        given = list(motions) if motions is not None else [None] * len(messages)
        if len(given) != len(messages):
            raise ValueError(f"chat: {len(messages)} messages but {len(given)} motions")
        present = [i for i, m in enumerate(given) if m is not None]
        codes = dict(zip(present, self.encode([given[i] for i in present])))
        fields = [Fields(turns=(Turn("user", m, codes.get(i)),)) for i, m in enumerate(messages)]
        return self.run(CHAT_TASKS, fields, None, 1, temperature, top_k, top_p, seed)

    def converse(self, turns: Sequence["ChatTurn"], temperature: float = 0.0, top_k: int | None = None,
                 top_p: float | None = None, seed: int | None = None) -> MotionResult:
        """The assistant's reply (text and/or motion) to a conversation that ends with a user turn.

        Earlier turns keep their text and motion tokens, so "make it slower" or "describe what you made" refer to
        the last motion. Oldest turns are dropped first to fit the backbone's context; the final turn and the
        last turn with a motion are always kept.
        """
        turns = list(turns)
        if not turns or turns[-1].role != "user":
            raise ValueError("converse: turns must end with a user turn")
        bad = [i for i, t in enumerate(turns) if t.role not in ROLES]
        if bad:
            raise ValueError(f"converse: turns[{bad[0]}].role must be one of {ROLES}, got {turns[bad[0]].role!r}")
        with_motion = [i for i, t in enumerate(turns) if t.motion is not None]
        codes = dict(zip(with_motion, self.encode([turns[i].motion for i in with_motion])))
        rendered = [Turn(t.role, t.text, codes.get(i)) for i, t in enumerate(turns)]
        keep = self._fit_history(rendered, with_motion[-1] if with_motion else None)
        return self.run(CHAT_TASKS, [Fields(turns=tuple(keep))], None, 1, temperature, top_k, top_p, seed)[0]

    def _fit_history(self, turns: list[Turn], last_motion: int | None) -> list[Turn]:
        """Turns without the oldest ones (never the final turn or the last turn with a motion) that fit the context."""
        budget = self.context_tokens()
        keep = list(range(len(turns)))
        droppable = [i for i in keep[:-1] if i != last_motion]
        while droppable and len(render(CONVERSATION, Fields(turns=tuple(turns[i] for i in keep)), self.vocab)) > budget:
            keep.remove(droppable.pop(0))
        return [turns[i] for i in keep]

    def context_tokens(self) -> int:
        """Prompt tokens the backbone holds (causal models keep room for the longest reply)."""
        cfg = self.lm.backbone.config
        cfg = getattr(cfg, "encoder", cfg)  # encoder-decoder pairs: the encoder reads the prompt
        limit = getattr(cfg, "n_positions", None) or getattr(cfg, "max_position_embeddings", None) or DEFAULT_CONTEXT
        return int(limit) - (self.lm.max_motion_tokens + REPLY_TEXT_TOKENS if self.lm.causal else 0)

    def _remaining(self, total_frames: int, given_tokens: int, where: str) -> int:
        """Tokens to generate so that given + generated tokens make `total_frames`."""
        rest = self.frames_to_tokens(total_frames, where) - given_tokens
        if rest < 1:
            raise ValueError(f"{where}: {total_frames} frames leave nothing to generate after the "
                             f"{given_tokens * self.frames_per_token} given frames")
        return min(rest, self.lm.max_motion_tokens)


def _joints_offset(start: MotionInput, end: MotionInput) -> RootOffset | None:
    """Offset of the end clip from joints (T, J, 3) of both clips in one world frame; None for other inputs."""
    if any(isinstance(m, (str, os.PathLike)) for m in (start, end)):
        return None
    arrays = [np.asarray(m.detach().cpu() if isinstance(m, torch.Tensor) else m) for m in (start, end)]
    if any(a.ndim != 3 or a.shape[-1] != 3 for a in arrays):
        return None
    return joints_offset(arrays[0], arrays[1])


def unconditional(fields: Sequence[Fields]) -> list[Fields]:
    """The fields without their caption: what classifier-free guidance compares each request against."""
    return [replace(f, caption=None, other_caption=None) for f in fields]


def _per_item(values: Sequence | int | None, n: int, name: str) -> list:
    """Broadcast a scalar / None to n items, or check a sequence has n items."""
    if values is None or isinstance(values, (int, np.integer)):
        return [values] * n
    values = list(values)
    if len(values) != n:
        raise ValueError(f"{name}: expected {n} values, got {len(values)}")
    return values
