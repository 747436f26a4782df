#!/usr/bin/env bash
# Issue 17: Tunekit's Hugging Face files against the REAL transformers + PEFT (the GPU machine's
# Python has them; CPU is enough, well under a minute). Needs only python3 with torch, transformers
# and peft on the device: the fixtures it reads are committed.
#
#   device:  bash bench/device/hf-crosscheck.sh "$OUT"        (parts A and B, writes C's adapters)
#   here:    npx tsx tests/golden/check-peft-written.ts <files_at>/peft-written   (part C in Tunekit)
#   dry run: PYTHON=/usr/bin/python3 bash bench/device/hf-crosscheck.sh --dry-run   (torch only: are the
#            inputs staged and consistent? any machine; PYTHON defaults to python3)
set -uo pipefail
cd "$(dirname "$0")/../.."
if [ "${1:-}" = "--dry-run" ]; then
  exec "${PYTHON:-python3}" tests/golden/real_peft_crosscheck.py --dry-run
fi
out="${1:-${OUT:-.device/hf-crosscheck}}"
mkdir -p "$out"
"${PYTHON:-python3}" -c 'import torch, transformers, peft; print({"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__})'
"${PYTHON:-python3}" tests/golden/real_peft_crosscheck.py "$out" | tee "$out/crosscheck.jsonl"
