"""`motiongpt tokenize`: cache the token ids of every motion of a dataset (mirrors `M<id>` included).

Writes `<data>/tokens/<name>/<id>.npy` (int16 when the codebook fits, else int32; shape (floor(T / 4),)) for
every `new_joint_vecs/<id>.npy`, plus `tokenizer.json` naming the tokenizer. `--offsets R` writes (R, N) instead:
the motion encoded from frame 0, 1, ..., R-1 on (the 4-frame token grid shifted), cut to the shortest; the LM
stages draw one variant per example, so a rare action with one take is seen in several token spellings. Motions are encoded in batches of
similar length; each file is written atomically; files newer than both their motion and the tokenizer
weights are skipped, so an interrupted run just continues.

    motiongpt tokenize --tokenizer runs/vq_cpu/tokenizer/best --data data/bandai
    motiongpt tokenize --tokenizer checkpoints/default/tokenizer --data data/bandai --out /tmp/tokens --force
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from motiongpt.data.layout import FEATURES_DIR, MotionDir
from motiongpt.tokenizer.vqvae import WEIGHTS_NAME, MotionTokenizer
from motiongpt.utils import atomic_save_npy, atomic_write_json, pick_device

log = logging.getLogger(__name__)


@dataclass
class CacheReport:
    """Counts of a caching run."""

    written: int = 0
    up_to_date: int = 0
    too_short: int = 0


def default_name(tokenizer_dir: Path) -> str:
    """Cache folder name: the tokenizer folder's name, or `<run>-<best|last>` for `<run>/tokenizer/<best|last>`."""
    tokenizer_dir = tokenizer_dir.resolve()
    if tokenizer_dir.name in ("best", "last") and tokenizer_dir.parent.name == "tokenizer":
        return f"{tokenizer_dir.parent.parent.name}-{tokenizer_dir.name}"
    return tokenizer_dir.name


def _stale(out: Path, sources: list[Path]) -> bool:
    """True unless `out` exists and is newer than every source file."""
    return not out.is_file() or out.stat().st_mtime < max(p.stat().st_mtime for p in sources)


def cache_tokens(tokenizer: MotionTokenizer, data_root: str | os.PathLike, out_dir: str | os.PathLike,
                 weights: Path | None = None, batch_size: int = 64, force: bool = False, offsets: int = 1
                 ) -> CacheReport:
    """Encode every motion of `data_root` into `out_dir/<id>.npy` (see module docstring)."""
    if not 1 <= offsets <= tokenizer.downsample:
        raise ValueError(f"offsets: {offsets} is not in [1, {tokenizer.downsample}] (the token grid's frames)")
    data, out_dir = MotionDir(data_root), Path(out_dir)
    dtype = np.int16 if tokenizer.codebook_size <= np.iinfo(np.int16).max + 1 else np.int32
    report, todo = CacheReport(), []
    for path in sorted((data.root / FEATURES_DIR).glob("*.npy")):
        mid, target = path.stem, out_dir / f"{path.stem}.npy"
        if not force and not _stale(target, [path] + ([weights] if weights else [])):
            report.up_to_date += 1
        elif data.features(mid).shape[0] < tokenizer.downsample + offsets - 1:
            report.too_short += 1
            log.warning("%s: %d frames, fewer than %d: skipped", path, data.features(mid).shape[0],
                        tokenizer.downsample + offsets - 1)
        else:
            todo.append(mid)
    todo.sort(key=lambda m: data.features(m).shape[0])
    device = tokenizer.mean.device
    for start in range(0, len(todo), batch_size):
        chunk = todo[start : start + batch_size]
        feats = [torch.from_numpy(data.features(m)) for m in chunk]
        variants = [_encode(tokenizer, [f[k:] for f in feats], device) for k in range(offsets)]
        for i, mid in enumerate(chunk):
            codes = [v[i] for v in variants]
            n = min(len(c) for c in codes)
            ids = codes[0] if offsets == 1 else torch.stack([c[:n] for c in codes])
            atomic_save_npy(out_dir / f"{mid}.npy", ids.cpu().numpy().astype(dtype))
            report.written += 1
    return report


def _encode(tokenizer: MotionTokenizer, feats: list[torch.Tensor], device: torch.device) -> list[torch.Tensor]:
    """Token ids of each motion (T_i, D), encoded as one padded batch."""
    lengths = torch.tensor([len(f) for f in feats])
    padded = torch.nn.utils.rnn.pad_sequence(feats, batch_first=True)  # (B, T_max, D)
    return list(tokenizer.encode(padded.to(device), lengths.to(device)))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="motiongpt tokenize", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tokenizer", type=Path, required=True, help="folder written by save_pretrained")
    p.add_argument("--data", type=Path, required=True, help="dataset root in HumanML3D layout")
    p.add_argument("--out", type=Path, help="output folder (default <data>/tokens/<name>)")
    p.add_argument("--name", help="cache name under <data>/tokens (default from the tokenizer folder)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--force", action="store_true", help="re-encode files that are up to date")
    p.add_argument("--offsets", type=int, default=1, help="token-grid offsets per motion (R variants, 1..4)")
    return p


def main(argv: list[str]) -> int:
    """Entry point of `motiongpt tokenize`."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    torch.set_num_threads(max(1, min(torch.get_num_threads(), os.cpu_count() or 1)))
    out = args.out or args.data / "tokens" / (args.name or default_name(args.tokenizer))
    try:
        tokenizer = MotionTokenizer.from_pretrained(args.tokenizer, device=pick_device(args.device))
        report = cache_tokens(tokenizer, args.data, out, weights=args.tokenizer / WEIGHTS_NAME,
                              batch_size=args.batch_size, force=args.force, offsets=args.offsets)
    except (FileNotFoundError, ValueError) as err:
        print(f"motiongpt tokenize: error: {err}", file=sys.stderr)
        return 2
    atomic_write_json(out / "tokenizer.json", {"tokenizer": str(args.tokenizer.resolve()),
                                              "codebook_size": tokenizer.codebook_size,
                                              "downsample": tokenizer.downsample, "offsets": args.offsets})
    print(f"{out}: {report.written} written, {report.up_to_date} up to date, {report.too_short} too short")
    return 0
