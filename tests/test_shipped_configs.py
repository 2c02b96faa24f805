"""The shipped configs load with their stage's config class, and scripts/train_default.sh chains existing ones."""
import re
from pathlib import Path

import pytest

from motiongpt.config import load_config
from motiongpt.train.evaluator import EvaluatorStageConfig
from motiongpt.train.lm import LMStageConfig
from motiongpt.train.recognizer import RecognizerStageConfig
from motiongpt.train.vq import VQStageConfig

ROOT = Path(__file__).resolve().parents[1]
CLASSES = {"lm": LMStageConfig, "vq": VQStageConfig, "evaluator": EvaluatorStageConfig,
           "recognizer": RecognizerStageConfig}
SHIPPED = sorted((ROOT / "configs").rglob("*.yaml"))
SCRIPT = (ROOT / "scripts" / "train_default.sh").read_text()


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT / "configs")))
def test_shipped_config_loads(path):
    load_config(CLASSES[path.relative_to(ROOT / "configs").parts[0]], path)


def test_train_default_chains_existing_stages():
    stages = re.findall(r"^lm_stage (\S+) (\S+) (\S+)(?: (\S+))?$", SCRIPT, flags=re.M)
    caches = set(re.findall(r"--out \$DATA/tokens/(\S+)", SCRIPT))
    assert len(stages) >= 2 and {"vq_cpu", "vq_cpu_off4"} <= caches
    done = {"lm_pretrain"}
    for run, config, init, cache in stages:
        cfg = load_config(LMStageConfig, ROOT / "configs" / "lm" / f"{config}.yaml")
        assert cfg.trainer.run_dir == f"runs/{run}", config
        assert init in done, f"{run} starts from {init}, which no earlier stage trains"
        assert (cache or "vq_cpu") in caches, f"{run} reads token cache {cache}, which the script never writes"
        done.add(run)
    assert f'MotionLM.from_pretrained("runs/{stages[-1][0]}/export/last")' in SCRIPT, "assembles another stage"


def test_train_default_assembles_the_tokenizer_that_wrote_the_caches():
    """The LM learnt the token ids of the caches; the shipped tokenizer must be the one that wrote them."""
    writers = set(re.findall(r"tokenize --tokenizer (\S+)", SCRIPT))
    assert len(writers) == 1
    assert f'MotionTokenizer.from_pretrained("{writers.pop()}")' in SCRIPT
