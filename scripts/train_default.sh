#!/usr/bin/env bash
# Train the shipped default model from scratch on the Bandai-Namco data, on CPU, and assemble it into
# checkpoints/default. Every stage resumes from its last checkpoint when re-run after an interruption and is
# skipped when its output exists. Wall times on this project's 2-core CPU are in checkpoints/default/README.md.
#   bash scripts/train_default.sh            # all stages
#   THREADS=2 bash scripts/train_default.sh  # torch threads per process
set -euo pipefail
cd "$(dirname "$0")/.."
MG=.venv/bin/motiongpt
SHARED=${MOTIONGPT_SHARED:-../shared}
DATA=data/bandai
THREADS=${THREADS:-2}
export OMP_NUM_THREADS=$THREADS

stamp() { echo "[$(date -u +%H:%M:%S)] $*"; }
resume_flag() { [ -d "$1/checkpoints" ] && ls "$1/checkpoints" | grep -q . && echo --resume || true; }

stamp "1/9 dataset (captions composed from the labels) + 3,000 composed 'X, then Y' sequences"
[ -f $DATA/manifest.json ] || $MG data bandai --src "$SHARED/data/bandai/bandai-namco-motion.tar.xz" --out $DATA
[ -s $DATA/train_composed.txt ] || $MG data compose $DATA --count 3000 --seed 0

stamp "2/9 motion tokenizer (VQ-VAE)"
[ -f runs/vq_cpu/tokenizer/last/model.safetensors ] || \
  $MG train vq --config configs/vq/cpu.yaml --data $DATA --run-dir runs/vq_cpu --threads "$THREADS" \
    $(resume_flag runs/vq_cpu)

stamp "3/9 token caches (one spelling per motion; four, from frame offsets 0-3, for the last LM stages)"
$MG tokenize --tokenizer runs/vq_cpu/tokenizer/best --data $DATA --out $DATA/tokens/vq_cpu
$MG tokenize --tokenizer runs/vq_cpu/tokenizer/best --data $DATA --out $DATA/tokens/vq_cpu_off4 --offsets 4

stamp "4/9 evaluator"
[ -f runs/evaluator/export/best/model.safetensors ] || \
  $MG train evaluator --data $DATA --config configs/evaluator/t2m_cpu.yaml --run-dir runs/evaluator \
    $(resume_flag runs/evaluator)

stamp "5/9 action recogniser"
[ -f runs/recognizer/export/best/model.safetensors ] || \
  $MG train recognizer --config configs/recognizer/cpu.yaml --data $DATA --run-dir runs/recognizer \
    $(resume_flag runs/recognizer)

stamp "6/9 LM stage 2: pre-training (BERT2BERT from all-MiniLM-L6-v2)"
[ -f runs/lm_pretrain/export/last/model.safetensors ] || \
  $MG train lm --config configs/lm/minilm.yaml --data $DATA --tokens $DATA/tokens/vq_cpu \
    --run-dir runs/lm_pretrain $(resume_flag runs/lm_pretrain)

# lm_stage RUN CONFIG INIT [CACHE]: one instruction-tuning stage from INIT's export on a token cache (default vq_cpu),
# skipped when RUN has its export
lm_stage() {
  [ -f "runs/$1/export/last/model.safetensors" ] || \
    $MG train lm --config "configs/lm/$2.yaml" --data $DATA --tokens "$DATA/tokens/${4:-vq_cpu}" \
      --init "runs/$3/export/last" --run-dir "runs/$1" $(resume_flag "runs/$1")
}

stamp "7/9 LM stage 3: instruction tuning"
lm_stage lm_instruct minilm_instruct lm_pretrain
stamp "7b/9 LM stage 3b: instruction tuning continued with action-label-balanced sampling"
lm_stage lm_balanced minilm_balanced lm_instruct
stamp "7c/9 LM stage 3c: every action label drawn equally often (data.balance 1.0)"
lm_stage lm_balanced_full minilm_balanced_full lm_balanced
stamp "7d/9 LM stage 3d: caption-to-motion tasks weighted 3x"
lm_stage lm_t2m_focus minilm_t2m_focus lm_balanced_full
stamp "7e/9 LM stage 3e: caption-to-motion tasks weighted 5x"
lm_stage lm_t2m_focus2 minilm_t2m_focus2 lm_t2m_focus
stamp "7f/9 LM stage 3f: four token spellings per motion, 30% of read captions rephrased as everyday requests"
lm_stage lm_everyday minilm_everyday lm_t2m_focus2 vq_cpu_off4
stamp "7g/9 LM stage 3g: the same with 50% requests, 15% typos"
lm_stage lm_everyday_strong minilm_everyday_strong lm_everyday vq_cpu_off4
stamp "7h/9 LM stage 3h: the same with 70% requests, 20% typos"
lm_stage lm_everyday_stronger minilm_everyday_stronger lm_everyday_strong vq_cpu_off4
stamp "7i/9 LM stage 3i: the same with 90% requests, 25% typos"
lm_stage lm_everyday_max minilm_everyday_max lm_everyday_stronger vq_cpu_off4

stamp "8/9 assemble checkpoints/default (LM weights stored in bf16, tokenizer in fp16)"
.venv/bin/python - <<'PY'
from motiongpt.lm.model import MotionLM
from motiongpt.lm.pipeline import Pipeline
from motiongpt.tokenizer import MotionTokenizer

pipe = Pipeline(MotionLM.from_pretrained("runs/lm_everyday_max/export/last"),
                MotionTokenizer.from_pretrained("runs/vq_cpu/tokenizer/best"), device="cpu")
print("wrote", pipe.save_pretrained("checkpoints/default", evaluator_dir="runs/evaluator/export/best",
                                    extra_dirs={"recognizer": "runs/recognizer/export/best"}, lm_dtype="bfloat16",
                                    tokenizer_dtype="float16"))
PY
stamp "9/9 done: try  $MG generate \"a person walks forward happily\" --seconds 4 --out out/"
