"""Generic training engine: resumable data order, atomic safetensors checkpoints, accumulation, clipping,
bf16 autocast, TensorBoard, progress bar and DDP under torchrun. Every stage (VQ, LM, evaluator) uses it.

The model supplies its loss: either `model.training_loss(batch) -> (loss, metrics)` or a `loss_fn(model, batch)`
with the same result (`metrics` maps names to floats / 0-d tensors and is logged). Data is any indexable
dataset plus a collate function; the engine draws the global batch of optimiser step `s` as a pure function
of (seed, s), splits it over ranks and accumulation micro-batches, and seeds the RNGs (python, numpy, torch and a
`dataset.generator`) per sample from (seed, s, slot), so random crops do not depend on the number of ranks or on resuming.

Example::

    from motiongpt.config import TrainerConfig, load_config
    from motiongpt.train.engine import Trainer

    cfg = load_config(TrainerConfig, None, ["run_dir=runs/demo", "batch_size=64", "schedule.max_steps=2000"])
    model = MyModel()                      # defines training_loss(batch) -> (loss, {"recon": ...})
    trainer = Trainer(model, cfg, dataset, collate_fn,
                      evaluate=lambda m: {"val_loss": my_val(m)},   # optional, rank 0, under no_grad
                      best_metric="val_loss",                         # optional: export the best model
                      export=lambda m, d: m.save_pretrained(d))       # -> <run_dir>/export/{best,last}
                                                                      # (folder name: export_name=)
    result = trainer.fit(resume=True)      # continues from <run_dir>/checkpoints/step_*/ when present

Run directory: `config.yaml` (the resolved stage config), `checkpoints/step_XXXXXXXX/` (`model.safetensors`,
`trainer_state.safetensors` with optimiser tensors and torch RNG state, `state.json` with step, schedule,
best value, python/numpy RNG states, optimiser hyper-parameters, `config.yaml`), `tb/` (TensorBoard) and the
exports. Checkpoints are written to a temporary folder and renamed (never half-written); the last
`checkpoint.keep_last` are kept. Loading never unpickles.

Multi-process: launch the same script with `torchrun --nproc_per_node=N ...`; `Trainer` joins the process
group (gloo on CPU, nccl on CUDA), wraps the loss in DistributedDataParallel, and only rank 0 writes; a finished
`fit` leaves the group again (`Trainer.close`).
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import random
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol, Sequence

import numpy as np
import torch
from safetensors.torch import save_file, save_model
from torch import nn

from motiongpt import dist as D
from motiongpt.config import OptimConfig, ScheduleConfig, TrainerConfig, save_config
from motiongpt.precision import autocast_context
from motiongpt.utils import atomic_dir, atomic_write_json, load_weights, read_weights, seed_everything

LossFn = Callable[[nn.Module, Any], "tuple[torch.Tensor, dict[str, Any]]"]
_STEP_DIR = re.compile(r"^step_(\d{8})$")


class IndexedDataset(Protocol):
    """What the engine needs from a dataset: a length and integer indexing."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Any: ...


# --------------------------------------------------------------------------------------------------------------
# Factories
# --------------------------------------------------------------------------------------------------------------


def build_optimizer(model: nn.Module, cfg: OptimConfig) -> torch.optim.Optimizer:
    """AdamW over the trainable parameters (weight decay skipped for 1-d tensors: biases, norms)."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameters")
    scale_of = getattr(model, "lr_scale", lambda name: 1.0)  # models may train some parameters slower
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups: dict[tuple[float, bool], list[nn.Parameter]] = {}
    for name, p in named:
        groups.setdefault((float(scale_of(name)), p.ndim >= 2), []).append(p)
    return torch.optim.AdamW([{"params": ps, "weight_decay": cfg.weight_decay if decay else 0.0, "lr_scale": scale}
                              for (scale, decay), ps in sorted(groups.items(), key=lambda kv: (-kv[0][0], not kv[0][1]))],
                             lr=cfg.lr, betas=cfg.betas, eps=cfg.eps)


def _past(deadline: float | None) -> bool:
    """True once this process's CPU time has reached `deadline` seconds (None: never)."""
    return deadline is not None and time.process_time() >= deadline


def lr_factor(step: int, cfg: ScheduleConfig) -> float:
    """Multiplier of the base learning rate at optimiser step `step` (0-based)."""
    if cfg.warmup_steps > 0 and step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    if cfg.decay == "cosine":
        span = max(1, cfg.max_steps - cfg.warmup_steps)
        progress = min(1.0, (step - cfg.warmup_steps) / span)
        return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    if cfg.decay == "step":
        return cfg.gamma ** sum(step >= m for m in cfg.milestones)
    return 1.0


# --------------------------------------------------------------------------------------------------------------
# Data order (a pure function of the step: resuming and sharding never change it)
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchOrder:
    """Global batch indices per optimiser step: epochs of seeded permutations, last partial batch dropped.

    A dataset smaller than the batch is repeated (several permutations concatenated per epoch).
    """

    dataset_len: int
    batch_size: int
    seed: int

    def __post_init__(self) -> None:
        if self.dataset_len <= 0:
            raise ValueError("dataset is empty: nothing to train on")
        if self.batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {self.batch_size}")

    @property
    def repeats(self) -> int:
        """Permutations concatenated per epoch (> 1 only when the dataset is smaller than a batch)."""
        return -(-self.batch_size // self.dataset_len)

    @property
    def steps_per_epoch(self) -> int:
        """Optimiser steps per epoch."""
        return self.repeats * self.dataset_len // self.batch_size

    def indices(self, step: int) -> list[int]:
        """Dataset indices of the global batch of optimiser step `step`."""
        epoch, pos = divmod(step, self.steps_per_epoch)
        rng = np.random.default_rng([self.seed, epoch])
        perm = np.concatenate([rng.permutation(self.dataset_len) for _ in range(self.repeats)])
        return perm[pos * self.batch_size : (pos + 1) * self.batch_size].tolist()


@contextlib.contextmanager
def preserved_rng() -> Iterator[None]:
    """Restore the python, numpy and torch (CPU + CUDA) RNG states on exit."""
    py, npy, cpu = random.getstate(), np.random.get_state(), torch.get_rng_state()
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    try:
        yield
    finally:
        random.setstate(py)
        np.random.set_state(npy)
        torch.set_rng_state(cpu)
        if cuda is not None:
            torch.cuda.set_rng_state_all(cuda)


def sample_seed(seed: int, step: int, slot: int) -> int:
    """A 32-bit seed for sample `slot` of the global batch of step `step`."""
    return int(np.random.SeedSequence([seed, step, slot]).generate_state(1)[0])


def fetch_samples(dataset: IndexedDataset, indices: Sequence[int], slots: Sequence[int], seed: int, step: int) -> list:
    """dataset[i] for each index with the RNGs seeded from (seed, step, slot); global RNG state preserved.

    Seeded: python `random`, numpy's and torch's global RNGs, and `dataset.generator` when it is a
    torch.Generator (as in `motiongpt.data.datasets`).
    """
    items = []
    own = getattr(dataset, "generator", None)
    with preserved_rng():
        for index, slot in zip(indices, slots):
            s = sample_seed(seed, step, slot)
            random.seed(s)
            np.random.seed(s)
            torch.default_generator.manual_seed(s)
            if isinstance(own, torch.Generator):
                own.manual_seed(s)
            items.append(dataset[index])
    return items


def move_to(batch: Any, device: torch.device) -> Any:
    """Move tensors inside a batch (tensor, object with .to, dataclass, dict, list, tuple) to `device`."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if hasattr(batch, "to") and callable(batch.to):
        return batch.to(device)
    if dataclasses.is_dataclass(batch) and not isinstance(batch, type):
        return dataclasses.replace(batch, **{f.name: move_to(getattr(batch, f.name), device) for f in dataclasses.fields(batch) if f.init})
    if isinstance(batch, dict):
        return {k: move_to(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(move_to(v, device) for v in batch)
    return batch


# --------------------------------------------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------------------------------------------


def list_checkpoints(run_dir: str | os.PathLike) -> list[Path]:
    """Complete checkpoints (those with a state.json) of a run, oldest first."""
    root = Path(run_dir) / "checkpoints"
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if _STEP_DIR.match(p.name) and (p / "state.json").is_file()]
    return sorted(found, key=lambda p: int(_STEP_DIR.match(p.name).group(1)))


def remove_stale_temporaries(run_dir: str | os.PathLike) -> list[Path]:
    """Remove the `.tmp-step_*` folders a killed run left in `<run_dir>/checkpoints` (rank 0, before training)."""
    stale = sorted((Path(run_dir) / "checkpoints").glob(".tmp-step_*"))
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return stale


def latest_checkpoint(run_dir: str | os.PathLike) -> Path | None:
    """The newest complete checkpoint of a run, or None."""
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def _rng_json() -> dict[str, Any]:
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {"python": [version, list(internal), gauss], "numpy": [name, keys.tolist(), pos, has_gauss, cached]}


def _set_rng_json(state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))


def _optimizer_split(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Optimiser state as (flat tensors for safetensors, JSON-able rest)."""
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, pstate in sd["state"].items():
        for key, value in pstate.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{pid}.{key}"] = value.detach().contiguous().cpu()
            else:
                scalars.setdefault(str(pid), {})[key] = value
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in sd["param_groups"]]
    return tensors, {"param_groups": groups, "scalars": scalars}


def _optimizer_join(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Inverse of `_optimizer_split`, loaded into `optimizer`."""
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith("optim."):
            _, pid, key = name.split(".", 2)
            state.setdefault(int(pid), {})[key] = value
    for pid, values in meta["scalars"].items():
        state.setdefault(int(pid), {}).update(values)
    current = optimizer.state_dict()["param_groups"]
    if len(current) != len(meta["param_groups"]):
        raise ValueError(f"checkpoint has {len(meta['param_groups'])} optimiser groups, model has {len(current)}")
    groups = []
    for now, saved in zip(current, meta["param_groups"]):
        groups.append({k: (tuple(v) if isinstance(now.get(k), tuple) else v) for k, v in saved.items()})
    optimizer.load_state_dict({"state": state, "param_groups": groups})


# --------------------------------------------------------------------------------------------------------------
# Trainer
# --------------------------------------------------------------------------------------------------------------


@dataclass
class TrainResult:
    """What `Trainer.fit` returns: the final step, its logged metrics, and the best evaluation value."""

    step: int
    metrics: dict[str, float]
    best: float | None = None
    history: list[tuple[int, dict[str, float]]] = field(default_factory=list)


class _LossModule(nn.Module):
    """Wraps model + loss function so DistributedDataParallel sees the loss computation as forward()."""

    def __init__(self, model: nn.Module, loss_fn: LossFn) -> None:
        super().__init__()
        self.model = model
        self.loss_fn = loss_fn

    def forward(self, batch: Any) -> tuple[torch.Tensor, dict[str, Any]]:
        return self.loss_fn(self.model, batch)


def _default_loss(model: nn.Module, batch: Any) -> tuple[torch.Tensor, dict[str, Any]]:
    if not hasattr(model, "training_loss"):
        raise TypeError(f"{type(model).__name__} has no training_loss(batch); pass loss_fn= to Trainer")
    return model.training_loss(batch)


class Trainer:
    """Train `model` on `dataset` with the settings of a `TrainerConfig` (see the module docstring)."""

    def __init__(
        self,
        model: nn.Module,
        cfg: TrainerConfig,
        dataset: IndexedDataset,
        collate_fn: Callable[[list], Any],
        loss_fn: LossFn | None = None,
        evaluate: Callable[[nn.Module], dict[str, float]] | None = None,
        best_metric: str | None = None,
        best_mode: str = "min",
        export: Callable[[nn.Module, Path], None] | None = None,
        export_name: str = "export",
        stage_config: Any = None,
    ) -> None:
        if best_mode not in ("min", "max"):
            raise ValueError(f"best_mode must be 'min' or 'max', got {best_mode!r}")
        self.cfg = cfg
        self.dist = D.init_distributed(cfg.device)
        self.device = self.dist.device
        self.model = model.to(self.device)
        self.dataset = dataset
        self.collate_fn = collate_fn
        self.loss_fn = loss_fn or _default_loss
        self.evaluate = evaluate
        self.best_metric = best_metric
        self.best_mode = best_mode
        self.export = export
        self.export_dir = Path(cfg.run_dir) / export_name
        self.stage_config = stage_config if stage_config is not None else cfg
        self.run_dir = Path(cfg.run_dir)
        self.order = BatchOrder(len(dataset), cfg.batch_size, cfg.seed)
        self._check_batch_split()
        self.optimizer = build_optimizer(self.model, cfg.optim)
        self.step = 0
        self.best: float | None = None
        self.history: list[tuple[int, dict[str, float]]] = []
        self._writer = None
        self._wrapped: nn.Module = _LossModule(self.model, self.loss_fn)
        if self.dist.world_size > 1:
            self._wrapped = nn.parallel.DistributedDataParallel(
                self._wrapped,
                device_ids=[self.device.index] if self.device.type == "cuda" else None,
                find_unused_parameters=cfg.find_unused_parameters,
            )

    # ---- setup -------------------------------------------------------------------------------------------
    def _check_batch_split(self) -> None:
        world, accum = self.dist.world_size, self.cfg.optim.grad_accum
        if accum < 1 or self.cfg.batch_size % (world * accum):
            raise ValueError(
                f"batch_size={self.cfg.batch_size} must be divisible by world_size ({world}) x "
                f"optim.grad_accum ({accum})"
            )

    def _micro_slots(self) -> list[list[int]]:
        """Global-batch slots of this rank, split into accumulation micro-batches."""
        local = self.cfg.batch_size // self.dist.world_size
        start = self.dist.rank * local
        size = local // self.cfg.optim.grad_accum
        return [list(range(start + i * size, start + (i + 1) * size)) for i in range(self.cfg.optim.grad_accum)]

    # ---- checkpoints -------------------------------------------------------------------------------------
    def save_checkpoint(self) -> Path | None:
        """Write `<run_dir>/checkpoints/step_XXXXXXXX/` atomically (rank 0 only); prune old ones."""
        final = self.run_dir / "checkpoints" / f"step_{self.step:08d}"
        if self.dist.is_main and not final.exists():
            with atomic_dir(final) as tmp:
                save_model(self.model, str(tmp / "model.safetensors"))
                tensors, optim_meta = self._optimizer_tensors_and_meta()
                save_file(tensors, str(tmp / "trainer_state.safetensors"))
                save_config(self.stage_config, tmp / "config.yaml")
                atomic_write_json(tmp / "state.json", self._state_json(optim_meta))
            for old in list_checkpoints(self.run_dir)[: -self.cfg.checkpoint.keep_last]:
                shutil.rmtree(old, ignore_errors=True)
        D.barrier()
        return final

    def _optimizer_tensors_and_meta(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors, meta = _optimizer_split(self.optimizer)
        tensors["rng.torch"] = torch.get_rng_state()
        if torch.cuda.is_available():
            for i, s in enumerate(torch.cuda.get_rng_state_all()):
                tensors[f"rng.cuda.{i}"] = s
        return tensors, meta

    def _state_json(self, optim_meta: dict[str, Any]) -> dict[str, Any]:
        return {
            "step": self.step,
            "lr": self.optimizer.param_groups[0]["lr"],
            "best": self.best,
            "best_metric": self.best_metric,
            "data": {"seed": self.cfg.seed, "batch_size": self.cfg.batch_size, "dataset_len": len(self.dataset)},
            "world_size": self.dist.world_size,
            "optimizer": optim_meta,
            "rng": _rng_json(),
        }

    def load_checkpoint(self, path: str | os.PathLike) -> None:
        """Restore model, optimiser, step, best value and RNG states from a checkpoint folder."""
        path = Path(path)
        state = json.loads((path / "state.json").read_text(encoding="utf-8"))
        data = state["data"]
        if data["batch_size"] != self.cfg.batch_size or data["dataset_len"] != len(self.dataset):
            raise ValueError(
                f"{path}: checkpoint was trained with batch_size={data['batch_size']} on "
                f"{data['dataset_len']} samples; now batch_size={self.cfg.batch_size} on {len(self.dataset)}"
            )
        load_weights(self.model, path / "model.safetensors", device=str(self.device))
        tensors = read_weights(path / "trainer_state.safetensors", device=str(self.device))
        _optimizer_join(self.optimizer, tensors, state["optimizer"])
        torch.set_rng_state(tensors["rng.torch"].cpu())
        if torch.cuda.is_available():
            cuda = [tensors[k].cpu() for k in sorted(k for k in tensors if k.startswith("rng.cuda."))]
            if len(cuda) == torch.cuda.device_count():
                torch.cuda.set_rng_state_all(cuda)
        _set_rng_json(state["rng"])
        self.step = int(state["step"])
        self.best = state["best"]

    # ---- logging -----------------------------------------------------------------------------------------
    def _log(self, metrics: dict[str, float], prefix: str) -> None:
        if not (self.dist.is_main and self.cfg.logging.tensorboard):
            return
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(log_dir=str(self.run_dir / "tb"))
        for name, value in metrics.items():
            self._writer.add_scalar(f"{prefix}/{name}", value, self.step)

    def _reduce_metrics(self, sums: dict[str, float], count: int) -> dict[str, float]:
        names = sorted(sums)
        values = torch.tensor([sums[n] / count for n in names], dtype=torch.float64, device=self.device)
        D.all_reduce_mean(values)
        return dict(zip(names, values.tolist()))

    # ---- evaluation / export -----------------------------------------------------------------------------
    def run_evaluation(self) -> dict[str, float]:
        """Run `evaluate` on rank 0 under no_grad (RNG state preserved); export the best model."""
        metrics: dict[str, float] = {}
        if self.evaluate is not None and self.dist.is_main:
            self.model.eval()
            with torch.no_grad(), preserved_rng():
                metrics = {k: float(v) for k, v in self.evaluate(self.model).items()}
            self.model.train()
            self._log(metrics, "val")
            self._maybe_export_best(metrics)
        D.barrier()
        return metrics

    def _maybe_export_best(self, metrics: dict[str, float]) -> None:
        if self.best_metric is None:
            return
        if self.best_metric not in metrics:
            raise KeyError(f"best_metric {self.best_metric!r} not among evaluation metrics {sorted(metrics)}")
        value = metrics[self.best_metric]
        better = self.best is None or (value < self.best if self.best_mode == "min" else value > self.best)
        if better:
            self.best = value
            if self.export is not None:
                self.export(self.model, self.export_dir / "best")

    # ---- training ----------------------------------------------------------------------------------------
    def fit(self, resume: bool = False) -> TrainResult:
        """Train until `schedule.max_steps`; with `resume`, continue from the run's latest checkpoint."""
        latest = latest_checkpoint(self.run_dir)
        seed_everything(self.cfg.seed)
        if latest is not None and not resume:
            raise FileExistsError(f"{self.run_dir} already has checkpoints (latest {latest.name}); pass --resume "
                                  "to continue or choose another run_dir")
        if latest is not None:
            self.load_checkpoint(latest)
        if self.dist.is_main:
            remove_stale_temporaries(self.run_dir)
            save_config(self.stage_config, self.run_dir / "config.yaml")
        metrics = self._train_loop()
        if self.evaluate is not None:
            metrics.update({f"val/{k}": v for k, v in self.run_evaluation().items()})
        self.save_checkpoint()
        if self.export is not None and self.dist.is_main:
            self.export(self.model, self.export_dir / "last")
        self.close()
        return TrainResult(self.step, metrics, self.best, self.history)

    def close(self) -> None:
        """Close the log writer; under DDP drop the wrapper (it holds the process group) and leave the group.

        `fit` ends with it, so a finished rank destroys its gloo/nccl group while the interpreter is fully alive
        (a group torn down at interpreter exit can abort the process). Every rank waits for the others first.
        """
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if isinstance(self._wrapped, nn.parallel.DistributedDataParallel):
            self._wrapped = _LossModule(self.model, self.loss_fn)
            D.shutdown()

    def _out_of_time(self, deadline: float | None) -> bool:
        """`schedule.max_cpu_minutes` spent (rank 0 decides, so every rank stops at the same step)."""
        if deadline is None:
            return False
        flag = torch.tensor([float(_past(deadline))], device=self.device)
        return bool(D.broadcast(flag).item())

    def _train_loop(self) -> dict[str, float]:
        cfg = self.cfg
        progress = self._progress()
        sums: dict[str, float] = {}
        count, last_ckpt, tick, metrics = 0, time.monotonic(), time.monotonic(), {}
        self.model.train()
        budget = cfg.schedule.max_cpu_minutes
        deadline = None if budget is None else time.process_time() + 60 * budget
        while self.step < cfg.schedule.max_steps and not self._out_of_time(deadline):
            step_metrics = self.train_step()
            for k, v in step_metrics.items():
                sums[k] = sums.get(k, 0.0) + v
            count += 1
            self.step += 1
            if self.step % cfg.logging.every_steps == 0 or self.step == cfg.schedule.max_steps:
                metrics = self._reduce_metrics(sums, count)
                now = time.monotonic()
                metrics["samples_per_s"] = count * cfg.batch_size / max(now - tick, 1e-9)
                self.history.append((self.step, metrics))
                self._log(metrics, "train")
                if progress is not None:
                    progress.set_postfix(loss=f"{metrics.get('loss', float('nan')):.4f}",
                                         samples_s=f"{metrics['samples_per_s']:.0f}")
                sums, count, tick = {}, 0, now
            if progress is not None:
                progress.update(1)
            if cfg.logging.eval_every_steps and self.step % cfg.logging.eval_every_steps == 0 \
                    and self.step < cfg.schedule.max_steps:
                self.run_evaluation()
            if self._checkpoint_due(last_ckpt) and self.step < cfg.schedule.max_steps:
                self.save_checkpoint()
                last_ckpt = time.monotonic()
        if progress is not None:
            progress.close()
        return metrics

    def _progress(self):
        if not (self.dist.is_main and self.cfg.logging.progress):
            return None
        from motiongpt.progress import progress_bar

        return progress_bar(total=self.cfg.schedule.max_steps, initial=self.step, desc="train")

    def _checkpoint_due(self, last: float) -> bool:
        """Every `every_steps`, or when `every_minutes` passed (decided on rank 0, shared with all ranks)."""
        ck = self.cfg.checkpoint
        due = ck.every_steps > 0 and self.step % ck.every_steps == 0
        if ck.every_minutes is not None:
            flag = torch.tensor([float(due or time.monotonic() - last >= 60 * ck.every_minutes)], device=self.device)
            due = bool(D.broadcast(flag).item())
        return due

    def train_step(self) -> dict[str, float]:
        """One optimiser step on the global batch of `self.step` (this rank's share); returns its metrics."""
        cfg = self.cfg
        lr = cfg.optim.lr * lr_factor(self.step, cfg.schedule)
        for group in self.optimizer.param_groups:
            group["lr"] = lr * group.get("lr_scale", 1.0)
        indices = self.order.indices(self.step)
        micro = self._micro_slots()
        totals: dict[str, float] = {}
        for i, slots in enumerate(micro):
            items = fetch_samples(self.dataset, [indices[s] for s in slots], slots, cfg.seed, self.step)
            batch = move_to(self.collate_fn(items), self.device)
            sync = contextlib.nullcontext()
            if isinstance(self._wrapped, nn.parallel.DistributedDataParallel) and i < len(micro) - 1:
                sync = self._wrapped.no_sync()
            with sync:
                with autocast_context(self.device, cfg.precision):
                    loss, metrics = self._wrapped(batch)
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"non-finite loss {loss.item()} at step {self.step}")
                (loss / len(micro)).backward()
            totals["loss"] = totals.get("loss", 0.0) + float(loss.detach()) / len(micro)
            for k, v in metrics.items():
                if k != "loss":
                    totals[k] = totals.get(k, 0.0) + float(v) / len(micro)
        if cfg.optim.grad_clip is not None:
            norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.optim.grad_clip)
            totals["grad_norm"] = float(norm)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        totals["lr"] = lr
        return totals
