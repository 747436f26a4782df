#!/usr/bin/env bash
# CUDA runs for issue 18 on the GPU machine (see ../shared/device/README.md), and their CPU dry run.
#
#   bash bench/device/run.sh stage     # here: bundle the bench entries into .device/bench/ (tsup,
#                                      # onnxruntime-node external) and copy the PyTorch references
#   bash bench/device/run.sh run       # on the GPU machine, after `. /root/tk/env.sh && bash .device/setup.sh link`
#   bash bench/device/run.sh dry-run   # here: the same commands on the CPU with small sizes
#
# `run` does, in one call: Tunekit CUDA training of gpu-gpt2s (beside torch_lora_reference.py and
# peft_lora_reference.py) and of qwen2.5-0.5b (beside the plain-torch reference), then trains a
# Tunekit adapter and loads it in the real PEFT library. One JSON line per figure.
# Mixed precision: BENCH_PRECISIONS (default "float32 float16 bfloat16" for `run`, "float32 float16"
# for `dry-run`: the CPU has no bfloat16 kernels) lists the precisions gpu-gpt2s is trained in, and
# qwen2.5-0.5b runs in float32 then float16 (BENCH_PRECISION=both); each line carries `precision`.
set -euo pipefail
cd "$(dirname "$0")/../.."
mode="${1:-dry-run}"
bundle=.device/bench

stage() {
  npx tsup --config bench/device/tsup.device.config.ts >/dev/null
  cp bench/torch_llama_lora_reference.py bench/device/load_in_peft.py "$bundle/"
  for reference in torch_lora_reference.py peft_lora_reference.py; do
    if [ -f "../shared/bench/$reference" ]; then cp "../shared/bench/$reference" "$bundle/"; fi
  done
  du -sh "$bundle"
}

figures() {
  local device="$1" presets_steps="$2" micro_batches="$3"
  for precision in ${BENCH_PRECISIONS:-float32 float16 bfloat16}; do
    BENCH_DEVICE="$device" BENCH_PRESETS=gpu-gpt2s BENCH_STEPS="$presets_steps" BENCH_WARMUP=1 BENCH_ROUNDS=1 \
      BENCH_PRECISION="$precision" BENCH_TORCH_REFERENCE="$bundle/torch_lora_reference.py" \
      node "$bundle/trainer-throughput.js"
  done
  if [ -f "$bundle/peft_lora_reference.py" ] && python3 -c 'import peft' 2>/dev/null; then
    python3 "$bundle/peft_lora_reference.py" --preset gpu-gpt2s --steps "$presets_steps" --device "$device" || true
  fi
  BENCH_LARGE=1 BENCH_DEVICE="$device" BENCH_PRESETS=qwen2.5-0.5b BENCH_MICRO_BATCHES="$micro_batches" \
    BENCH_PRECISION=both node "$bundle/trainer-presets.js"
  BENCH_DEVICE="$device" node "$bundle/train-adapter.js" .device/adapter-check
  if python3 -c 'import peft, transformers' 2>/dev/null; then
    python3 "$bundle/load_in_peft.py" .device/adapter-check
  else
    echo '{"figure":"device-peft-load","skipped":"no peft/transformers in this python"}'
  fi
}

case "$mode" in
  stage) stage ;;
  run) figures cuda 20 8 ;;
  dry-run)
    # CPU, small: checks that every entry point of the bundle runs (cpu-small for 1 step, one
    # qwen2.5-0.5b micro-batch pair is still minutes on 2 cores: BENCH_DRY_QWEN=0 skips it).
    stage
    for precision in ${BENCH_PRECISIONS:-float32 float16}; do
      BENCH_DEVICE=cpu BENCH_PRESETS=cpu-small BENCH_STEPS=1 BENCH_WARMUP=1 BENCH_ROUNDS=1 BENCH_TORCH_REFERENCE=/nonexistent \
        BENCH_PRECISION="$precision" node "$bundle/trainer-throughput.js"
    done
    if [ "${BENCH_DRY_QWEN:-0}" = "1" ]; then
      BENCH_LARGE=1 BENCH_DEVICE=cpu BENCH_PRESETS=qwen2.5-0.5b BENCH_MICRO_BATCHES=2 BENCH_PRECISION=both \
        node "$bundle/trainer-presets.js"
    fi
    BENCH_DEVICE=cpu node "$bundle/train-adapter.js" .device/adapter-check
    if /usr/bin/python3 -c 'import peft, transformers' 2>/dev/null; then
      /usr/bin/python3 "$bundle/load_in_peft.py" .device/adapter-check
    else
      echo '{"figure":"device-peft-load","skipped":"no peft/transformers on this machine (the GPU machine has them)"}'
    fi
    ;;
  *) echo "usage: bash bench/device/run.sh stage|run|dry-run" >&2; exit 2 ;;
esac
