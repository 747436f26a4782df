#!/usr/bin/python3
"""For bench/device/run.sh: loads a Tunekit-trained adapter with the real `peft` library on top of
its base folder (a Tunekit-written GPT-2, loaded by transformers) and checks that the adapter
changes the logits. Prints one JSON line.

    python3 bench/device/load_in_peft.py .device/adapter-check
"""
import json, os, sys
import torch
from transformers import AutoModelForCausalLM
from peft import PeftModel

root = sys.argv[1] if len(sys.argv) > 1 else ".device/adapter-check"
device = "cuda" if torch.cuda.is_available() else "cpu"
base = AutoModelForCausalLM.from_pretrained(os.path.join(root, "base")).to(device).eval()
ids = torch.arange(1, 17, device=device)[None]
with torch.no_grad():
    before = base(ids).logits
    model = PeftModel.from_pretrained(base, os.path.join(root, "adapter")).to(device).eval()
    after = model(ids).logits
print(json.dumps({
    "figure": "device-peft-load",
    "device": device,
    "lora_modules": sum(1 for name, _ in model.named_modules() if name.endswith("lora_A")),
    "max_logit_change": float((after - before).abs().max()),
}))
