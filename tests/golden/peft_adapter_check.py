#!/usr/bin/env python3
"""Checks a Tunekit LoRA adapter against PEFT's documented format, and a merged model against
PEFT's merge rule, with torch only (PEFT, transformers and safetensors are not installed here).

    /usr/bin/python3 tests/golden/peft_adapter_check.py <adapter_dir> <base_model_dir> [<merged_model_dir>]

PEFT's format (docs/source/developer_guides/checkpoint.md; tuners/lora/layer.py):
- adapter_config.json with peft_type "LORA", r, lora_alpha, target_modules (GPT-2: fan_in_fan_out true);
- adapter_model.safetensors keys `base_model.model.<module>.lora_A.weight` [r, in_features] and
  `...lora_B.weight` [out_features, r] (nn.Linear weights), no adapter name in the keys;
- for GPT-2's Conv1D (weight [in, out]) in_features = weight.shape[0], out_features = weight.shape[1];
- merge: W += scaling * transpose(B @ A) when fan_in_fan_out, scaling = lora_alpha / r.
Prints one JSON line; exits 1 on any mismatch.
"""
import json, os, struct, sys
import torch

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def read_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[start:end]), dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        tensors[name] = t.float()
    return tensors


def main():
    adapter_dir, base_dir = sys.argv[1], sys.argv[2]
    merged_dir = sys.argv[3] if len(sys.argv) > 3 else None
    errors = []
    config = json.load(open(os.path.join(adapter_dir, "adapter_config.json")))
    for key in ("peft_type", "r", "lora_alpha", "target_modules"):
        if key not in config:
            errors.append(f"adapter_config.json lacks {key}")
    if config.get("peft_type") != "LORA":
        errors.append("peft_type is not LORA")
    base_config = json.load(open(os.path.join(base_dir, "config.json")))
    if base_config.get("model_type") == "gpt2" and config.get("fan_in_fan_out") is not True:
        errors.append("GPT-2 (Conv1D) adapters need fan_in_fan_out: true")
    adapter = read_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"))
    base = read_safetensors(os.path.join(base_dir, "model.safetensors"))
    r, scaling = config["r"], config["lora_alpha"] / config["r"]
    modules = sorted({k[len("base_model.model."):].rsplit(".lora_", 1)[0] for k in adapter})
    for key in adapter:
        if not key.startswith("base_model.model.") or not (key.endswith(".lora_A.weight") or key.endswith(".lora_B.weight")):
            errors.append(f"non-PEFT key {key}")
    max_error = 0.0
    merged = read_safetensors(os.path.join(merged_dir, "model.safetensors")) if merged_dir else None
    for module in modules:
        if module.split(".")[-1] not in config["target_modules"]:
            errors.append(f"{module} is not a target module")
        weight = base.get(module + ".weight")
        if weight is None:
            errors.append(f"base model has no {module}.weight")
            continue
        in_features, out_features = weight.shape  # Conv1D layout [in, out]
        a = adapter[f"base_model.model.{module}.lora_A.weight"]
        b = adapter[f"base_model.model.{module}.lora_B.weight"]
        if list(a.shape) != [r, in_features]:
            errors.append(f"{module}.lora_A shape {list(a.shape)} != [{r}, {in_features}]")
        if list(b.shape) != [out_features, r]:
            errors.append(f"{module}.lora_B shape {list(b.shape)} != [{out_features}, {r}]")
        if merged is not None:
            expected = weight + scaling * (b @ a).T  # PEFT get_delta_weight with fan_in_fan_out
            diff = (merged[module + ".weight"] - expected).abs().max().item()
            max_error = max(max_error, diff)
            if diff > 1e-5:
                errors.append(f"{module}: merged weight differs from W + scaling·(B·A)ᵀ by {diff}")
    if merged is not None:
        for name, tensor in base.items():
            if not any(name == m + ".weight" for m in modules) and not torch.equal(merged[name], tensor):
                errors.append(f"merge changed untouched tensor {name}")
    print(json.dumps(dict(ok=not errors, modules=len(modules), maxMergeError=max_error, errors=errors[:10])))
    sys.exit(0 if not errors else 1)


if __name__ == "__main__":
    main()
