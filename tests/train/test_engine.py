"""Trainer: exact resume, accumulation, DDP equivalence (2 gloo processes), checkpoints, schedules."""
from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from safetensors.torch import load_file
from torch import nn

from motiongpt.config import ScheduleConfig, TrainerConfig, load_config
from motiongpt.train.engine import BatchOrder, Trainer, latest_checkpoint, list_checkpoints, lr_factor
from motiongpt.utils import WeightsError


class _Noisy:
    """Regression samples with random noise drawn from the global torch RNG (like a random crop)."""

    def __init__(self, n: int = 24) -> None:
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 4, generator=g)
        self.y = self.x.sum(-1, keepdim=True).sin()

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[i] + 0.1 * torch.randn(4), self.y[i]


def _collate(items):
    return torch.stack([x for x, _ in items]), torch.stack([y for _, y in items])


class _Net(nn.Module):
    def __init__(self, stochastic: bool = True) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.stochastic = stochastic
        self.body = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))

    def training_loss(self, batch):
        x, y = batch  # (B,4), (B,1)
        dropout = torch.rand(x.shape[0], 1) > (0.2 if self.stochastic else -1.0)  # RNG used inside the step
        loss = ((self.body(x) - y) ** 2 * dropout).mean()
        return loss, {"mse": loss.detach()}


def _cfg(run_dir: Path, *overrides: str) -> TrainerConfig:
    base = [f"run_dir={run_dir}", "batch_size=8", "schedule.max_steps=6", "logging.every_steps=1",
            "logging.progress=false", "logging.tensorboard=false", "checkpoint.every_steps=3",
            "optim.lr=1e-2", "optim.grad_clip=1.0", "device=cpu", "precision=fp32"]
    return load_config(TrainerConfig, None, base + list(overrides))


def _losses(result) -> list[float]:
    return [m["loss"] for _, m in result.history]


def _weights(model: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_resume_matches_uninterrupted_run(tmp_path):
    uninterrupted = Trainer(_Net(), _cfg(tmp_path / "full"), _Noisy(), _collate)
    full = uninterrupted.fit()
    first = Trainer(_Net(), _cfg(tmp_path / "split", "schedule.max_steps=3"), _Noisy(), _collate).fit()
    model = _Net()
    second = Trainer(model, _cfg(tmp_path / "split"), _Noisy(), _collate).fit(resume=True)
    assert first.step == 3 and second.step == 6
    assert _losses(first) + _losses(second) == pytest.approx(_losses(full), abs=1e-6)
    assert torch.allclose(_weights(model), _weights(uninterrupted.model), atol=1e-6)
    ckpt = latest_checkpoint(tmp_path / "split")
    assert ckpt.name == "step_00000006"
    assert sorted(p.name for p in ckpt.iterdir()) == ["config.yaml", "model.safetensors", "state.json",
                                                       "trainer_state.safetensors"]


def test_refuses_to_overwrite_without_resume(tmp_path):
    Trainer(_Net(), _cfg(tmp_path, "schedule.max_steps=3"), _Noisy(), _collate).fit()
    with pytest.raises(FileExistsError, match="--resume"):
        Trainer(_Net(), _cfg(tmp_path), _Noisy(), _collate).fit()


def test_keeps_last_k_checkpoints(tmp_path):
    Trainer(_Net(), _cfg(tmp_path, "checkpoint.every_steps=1", "checkpoint.keep_last=2"), _Noisy(), _collate).fit()
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step_00000005", "step_00000006"]
    assert not [p for p in (tmp_path / "checkpoints").iterdir() if p.name.startswith(".tmp")]
    weights = load_file(str(tmp_path / "checkpoints" / "step_00000006" / "model.safetensors"))
    assert set(weights) == {"body.0.weight", "body.0.bias", "body.2.weight", "body.2.bias"}


def test_resume_removes_stale_temporary_checkpoints(tmp_path):
    Trainer(_Net(), _cfg(tmp_path, "schedule.max_steps=3"), _Noisy(), _collate).fit()
    stale = tmp_path / "checkpoints" / ".tmp-step_00000004-1234"  # left by a run killed while saving
    stale.mkdir()
    (stale / "model.safetensors").write_bytes(b"partial")
    Trainer(_Net(), _cfg(tmp_path), _Noisy(), _collate).fit(resume=True)
    assert not stale.exists()
    assert [p.name for p in (tmp_path / "checkpoints").iterdir() if p.name.startswith(".")] == []


class _WideNet(_Net):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 32), nn.Tanh(), nn.Linear(32, 1))


def test_resume_after_changed_width_names_checkpoint_and_parameter(tmp_path):
    Trainer(_Net(), _cfg(tmp_path, "schedule.max_steps=3"), _Noisy(), _collate).fit()
    with pytest.raises(WeightsError) as err:
        Trainer(_WideNet(), _cfg(tmp_path), _Noisy(), _collate).fit(resume=True)
    message = str(err.value)
    assert "\n" not in message and "'body.0.weight' has shape [16, 4]" in message
    assert str(tmp_path / "checkpoints" / "step_00000003" / "model.safetensors") in message


def test_gradient_accumulation_matches_full_batch(tmp_path):
    a = Trainer(_Net(), _cfg(tmp_path / "a"), _Noisy(), _collate)
    b = Trainer(_Net(), _cfg(tmp_path / "b", "optim.grad_accum=2"), _Noisy(), _collate)
    a.fit()
    b.fit()
    assert torch.allclose(_weights(a.model), _weights(b.model), atol=1e-6)


def test_batch_order_is_a_function_of_the_step():
    order = BatchOrder(dataset_len=10, batch_size=4, seed=3)
    epoch = [i for s in range(order.steps_per_epoch) for i in order.indices(s)]
    assert len(set(epoch)) == len(epoch) == 8
    assert order.indices(5) == BatchOrder(10, 4, 3).indices(5)
    small = BatchOrder(dataset_len=3, batch_size=8, seed=0)
    assert len(small.indices(0)) == 8 and set(small.indices(0)) == {0, 1, 2}


def test_lr_schedules():
    cos = ScheduleConfig(max_steps=110, warmup_steps=10, decay="cosine", min_lr_ratio=0.1)
    assert lr_factor(0, cos) == pytest.approx(0.1) and lr_factor(9, cos) == pytest.approx(1.0)
    assert lr_factor(10, cos) == pytest.approx(1.0) and lr_factor(110, cos) == pytest.approx(0.1)
    assert lr_factor(60, cos) == pytest.approx(0.55)
    step = ScheduleConfig(decay="step", milestones=[5, 8], gamma=0.5)
    assert [lr_factor(s, step) for s in (4, 5, 8)] == [1.0, 0.5, 0.25]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, run_dir: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank),
                      WORLD_SIZE=str(world))
    torch.set_num_threads(1)
    trainer = Trainer(_Net(stochastic=False), _cfg(Path(run_dir)), _Noisy(), _collate)
    assert torch.distributed.is_initialized()
    trainer.fit()
    assert not torch.distributed.is_initialized(), "a finished fit leaves the process group"
    assert not isinstance(trainer._wrapped, nn.parallel.DistributedDataParallel)


@pytest.mark.slow
def test_two_process_ddp_matches_single_process(tmp_path):
    single = Trainer(_Net(stochastic=False), _cfg(tmp_path / "single"), _Noisy(), _collate)
    single.fit()
    mp.spawn(_ddp_worker, args=(2, _free_port(), str(tmp_path / "ddp")), nprocs=2, join=True)
    ddp = load_file(str(latest_checkpoint(tmp_path / "ddp") / "model.safetensors"))
    for name, value in single.model.state_dict().items():
        assert torch.allclose(ddp[name], value, atol=1e-5), name
