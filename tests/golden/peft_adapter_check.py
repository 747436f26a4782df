#!/usr/bin/env python3
"""Checks a Tunekit LoRA adapter against PEFT's documented format, and a merged model against
PEFT's merge rule, with torch only (PEFT, transformers and safetensors are not installed here).

    /usr/bin/python3 tests/golden/peft_adapter_check.py <adapter_dir> <base_model_dir> [<merged_model_dir>]
    /usr/bin/python3 tests/golden/peft_adapter_check.py --self-test

PEFT's format and rules (docs/source/developer_guides/checkpoint.md; tuners/lora/config.py, layer.py,
tuners_utils.check_target_module_exists, utils/other.get_pattern_key):
- adapter_config.json with peft_type "LORA", r, lora_alpha, target_modules (a list of names/suffixes
  or one regex matched against the whole module path), rank_pattern/alpha_pattern (per-module r and
  alpha: the first key k with re.match(rf"(.*\\.)?({k})$", module)), use_rslora, fan_in_fan_out
  (GPT-2's Conv1D: true);
- adapter_model.safetensors keys `base_model.model.<module>.lora_A.weight` [r, in_features] and
  `...lora_B.weight` [out_features, r], no adapter name in the keys; other `base_model.model.<name>`
  tensors (modules_to_save, biases with bias "all"/"lora_only") replace the base tensor <name>;
- Conv1D weight [in, out] (fan_in_fan_out), Linear weight [out, in];
- merge: W += scaling * (B @ A) (transposed for fan_in_fan_out) with scaling = alpha / r, or
  alpha / sqrt(r) with use_rslora, r and alpha per module.
GPT-2 base/merged files may use the original key layout (`h.0.attn.c_attn.weight` without
`transformer.`); the module `transformer.h.0.attn.c_attn` is then looked up without the prefix.
Prints one JSON line; exits 1 on any mismatch. --self-test checks the checker: it must accept a
correct merge and reject merges that scale rsLoRA by alpha/r or ignore alpha_pattern/rank_pattern.
"""
import json, math, os, re, struct, sys, tempfile
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


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, t in tensors.items():
        b = t.contiguous().float().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def read_model(directory):
    """model.safetensors, or every shard of model.safetensors.index.json."""
    single = os.path.join(directory, "model.safetensors")
    if os.path.exists(single):
        return read_safetensors(single)
    index = json.load(open(os.path.join(directory, "model.safetensors.index.json")))
    tensors = {}
    for shard in dict.fromkeys(index["weight_map"].values()):
        tensors.update(read_safetensors(os.path.join(directory, shard)))
    return tensors


def is_target(config, key):
    """peft.tuners.tuners_utils.check_target_module_exists (LoRA)."""
    exclude = config.get("exclude_modules")
    if exclude:
        if isinstance(exclude, str):
            if re.fullmatch(exclude, key):
                return False
        elif key in exclude or any(key.endswith("." + e) for e in exclude):
            return False
    targets = config.get("target_modules")
    if isinstance(targets, str):
        return re.fullmatch(targets, key) is not None
    if key in targets:
        return True
    if not any(key.endswith("." + t) for t in targets):
        return False
    layers = config.get("layers_to_transform")
    if layers is None or (isinstance(layers, list) and len(layers) == 0):
        return True
    pattern = config.get("layers_pattern")
    index = None
    if not pattern:
        index = re.match(r".*\.[^.]*\.(\d+)\.", key)
    else:
        for p in [pattern] if isinstance(pattern, str) else pattern:
            index = re.match(rf".*\.{p}\.(\d+)\.", key)
            if index:
                break
    if index is None:
        return False
    layer = int(index.group(1))
    return layer == layers if isinstance(layers, int) else layer in layers


def pattern_value(patterns, key, default):
    """peft.utils.other.get_pattern_key, then the pattern's value."""
    for k in patterns or {}:
        if re.match(rf"(.*\.)?({k})$", key):
            return patterns[k]
    return default


def module_scaling(config, module):
    r = pattern_value(config.get("rank_pattern"), module, config["r"])
    alpha = pattern_value(config.get("alpha_pattern"), module, config["lora_alpha"])
    return r, (alpha / math.sqrt(r) if config.get("use_rslora") else alpha / r)


def lookup(tensors, name):
    """A tensor by canonical name, or under GPT-2's original layout (no `transformer.` prefix)."""
    if name in tensors:
        return name
    if name.startswith("transformer.") and name[len("transformer."):] in tensors:
        return name[len("transformer."):]
    return None


def check(adapter_dir, base_dir, merged_dir=None):
    errors = []
    config = json.load(open(os.path.join(adapter_dir, "adapter_config.json")))
    for key in ("peft_type", "r", "lora_alpha", "target_modules"):
        if key not in config:
            errors.append(f"adapter_config.json lacks {key}")
    if config.get("peft_type") != "LORA":
        errors.append("peft_type is not LORA")
    base_config = json.load(open(os.path.join(base_dir, "config.json")))
    conv1d = base_config.get("model_type") == "gpt2"
    if config.get("fan_in_fan_out") is not conv1d:
        errors.append(f"fan_in_fan_out must be {conv1d} for model_type {base_config.get('model_type')}")
    adapter = read_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"))
    base = read_model(base_dir)
    merged = read_model(merged_dir) if merged_dir else None
    modules = sorted({k[len("base_model.model."):].rsplit(".lora_", 1)[0] for k in adapter if ".lora_" in k})
    saved = {k[len("base_model.model."):]: v for k, v in adapter.items() if ".lora_" not in k}
    for key in adapter:
        if not key.startswith("base_model.model."):
            errors.append(f"non-PEFT key {key}")
    max_error = 0.0
    changed = set()
    for module in modules:
        if not is_target(config, module):
            errors.append(f"{module} is not a target module")
        name = lookup(base, module + ".weight")
        if name is None:
            errors.append(f"base model has no {module}.weight")
            continue
        weight = base[name]
        in_features, out_features = (weight.shape[0], weight.shape[1]) if conv1d else (weight.shape[1], weight.shape[0])
        a = adapter[f"base_model.model.{module}.lora_A.weight"]
        b = adapter[f"base_model.model.{module}.lora_B.weight"]
        r, scaling = module_scaling(config, module)
        if list(a.shape) != [r, in_features]:
            errors.append(f"{module}.lora_A shape {list(a.shape)} != [{r}, {in_features}]")
        if list(b.shape) != [out_features, r]:
            errors.append(f"{module}.lora_B shape {list(b.shape)} != [{out_features}, {r}]")
        if merged is not None and list(a.shape) == [r, in_features] and list(b.shape) == [out_features, r]:
            delta = scaling * (b @ a)
            expected = weight + (delta.T if conv1d else delta)
            diff = (merged[name] - expected).abs().max().item()
            max_error = max(max_error, diff)
            changed.add(name)
            if diff > 1e-5:
                errors.append(f"{module}: merged weight differs from W + scaling·B·A (scaling {scaling:.6g}) by {diff:.3g}")
    if merged is not None:
        for tensor_name, value in saved.items():
            name = lookup(base, tensor_name)
            if name is None or not torch.equal(merged[name], value):
                errors.append(f"merged model does not carry the adapter's {tensor_name}")
            changed.add(name)
        for name, tensor in base.items():
            if name not in changed and not torch.equal(merged[name], tensor):
                errors.append(f"merge changed untouched tensor {name}")
    return dict(ok=not errors, modules=len(modules), maxMergeError=max_error, errors=errors[:10])


def self_test():
    """The checker accepts a correct merge and rejects the two scaling bugs it once let through."""
    torch.manual_seed(0)
    results = {}
    with tempfile.TemporaryDirectory() as root:
        base_dir, adapter_dir = os.path.join(root, "base"), os.path.join(root, "adapter")
        os.makedirs(base_dir)
        os.makedirs(adapter_dir)
        json.dump({"model_type": "llama"}, open(os.path.join(base_dir, "config.json"), "w"))
        base = {f"model.layers.{i}.self_attn.q_proj.weight": torch.randn(8, 6) for i in range(2)}
        write_safetensors(os.path.join(base_dir, "model.safetensors"), base)
        config = {"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj"],
                  "use_rslora": True, "fan_in_fan_out": False,
                  "rank_pattern": {"layers.1.self_attn.q_proj": 2}, "alpha_pattern": {"layers\\.1\\..*": 32}}
        json.dump(config, open(os.path.join(adapter_dir, "adapter_config.json"), "w"))
        adapter = {}
        for i, r in ((0, 4), (1, 2)):
            adapter[f"base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight"] = torch.randn(r, 6)
            adapter[f"base_model.model.model.layers.{i}.self_attn.q_proj.lora_B.weight"] = torch.randn(8, r)
        write_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"), adapter)

        def merge(scale):
            merged = {}
            for i, r in ((0, 4), (1, 2)):
                module = f"model.layers.{i}.self_attn.q_proj"
                a = adapter[f"base_model.model.{module}.lora_A.weight"]
                b = adapter[f"base_model.model.{module}.lora_B.weight"]
                merged[module + ".weight"] = base[module + ".weight"] + scale(i, r) * (b @ a)
            return merged

        variants = {
            "correct": lambda i, r: (32 if i == 1 else 8) / math.sqrt(r),
            "rslora-scaled-by-alpha-over-r": lambda i, r: (32 if i == 1 else 8) / r,
            "alpha-pattern-ignored": lambda i, r: 8 / math.sqrt(r),
        }
        for label, scale in variants.items():
            merged_dir = os.path.join(root, label)
            os.makedirs(merged_dir)
            write_safetensors(os.path.join(merged_dir, "model.safetensors"), merge(scale))
            results[label] = check(adapter_dir, base_dir, merged_dir)["ok"]
    expected = {"correct": True, "rslora-scaled-by-alpha-over-r": False, "alpha-pattern-ignored": False}
    print(json.dumps(dict(ok=results == expected, results=results)))
    return results == expected


def main():
    if sys.argv[1:] == ["--self-test"]:
        sys.exit(0 if self_test() else 1)
    adapter_dir, base_dir = sys.argv[1], sys.argv[2]
    merged_dir = sys.argv[3] if len(sys.argv) > 3 else None
    result = check(adapter_dir, base_dir, merged_dir)
    print(json.dumps(result))
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
