#!/usr/bin/python3
"""Checks a model folder Tunekit saved against the rules transformers' save_pretrained follows,
reading it with PyTorch (no transformers or safetensors package needed).

    /usr/bin/python3 tests/golden/saved_checkpoint_check.py SAVED REFERENCE_F32 [--dtypes name=DTYPE,...]

SAVED is the folder to check (model.safetensors, or model-0000i-of-0000N.safetensors shards with
model.safetensors.index.json); REFERENCE_F32 is the same model saved as float32 (one file). Checks:
- every file: a valid safetensors header (u64 length, JSON, contiguous data_offsets from 0, data
  section 8-byte aligned as the reference writer pads it, {"format": "pt"} metadata);
- order: the float32 save's tensor order (sharded: within each shard);
- sharded: file names model-{i:05d}-of-{n:05d}.safetensors for i = 1..n, the index's weight_map names
  every tensor of every shard and nothing else, metadata.total_size = bytes of tensor data in all
  shards, keys sorted and indented as json.dumps(indent=2, sort_keys=True) writes them;
- values: each saved tensor equals torch's conversion of the float32 reference to the saved dtype
  (`ref.to(torch.bfloat16)` rounds to nearest even), bit for bit;
- with --dtypes, the saved dtype of the named tensors.
Prints {"ok": bool, "files": [...], "tensors": n, "dtypes": {dtype: count}, "errors": [...]} as JSON.
"""
import json, os, re, struct, sys
import torch

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64}
SIZE = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8}


def read_file(path, errors):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    if (8 + n) % 8:
        errors.append(f"{os.path.basename(path)}: data section not 8-byte aligned")
    if header.get("__metadata__", {}).get("format") != "pt":
        errors.append(f"{os.path.basename(path)}: metadata format is not 'pt'")
    tensors, offset = {}, 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        count = 1
        for d in info["shape"]:
            count *= d
        if start != offset or end - start != count * SIZE[info["dtype"]]:
            errors.append(f"{name}: data_offsets {info['data_offsets']} not contiguous / wrong length")
        offset = end
        tensors[name] = (info["dtype"],
                         torch.frombuffer(bytearray(data[start:end]), dtype=DTYPES[info["dtype"]]).reshape(info["shape"]))
    if offset != len(data):
        errors.append(f"{os.path.basename(path)}: {len(data) - offset} trailing bytes")
    return tensors


def main():
    saved, reference = sys.argv[1], sys.argv[2]
    expected_dtypes = {}
    if "--dtypes" in sys.argv:
        spec = sys.argv[sys.argv.index("--dtypes") + 1]
        expected_dtypes = dict(item.split("=") for item in spec.split(",") if item)
    errors = []
    index_path = os.path.join(saved, "model.safetensors.index.json")
    if os.path.exists(index_path):
        text = open(index_path).read()
        index = json.loads(text)
        if text != json.dumps(index, indent=2, sort_keys=True) + "\n":
            errors.append("index is not json.dumps(indent=2, sort_keys=True) + newline")
        files = list(dict.fromkeys(index["weight_map"].values()))
        n = len(files)
        wanted = [f"model-{i:05d}-of-{n:05d}.safetensors" for i in range(1, n + 1)]
        if sorted(files) != wanted:
            errors.append(f"shard names {sorted(files)} != {wanted}")
        if os.path.exists(os.path.join(saved, "model.safetensors")):
            errors.append("a model.safetensors sits next to the index")
    else:
        index, files = None, ["model.safetensors"]
    tensors, total = {}, 0
    for file in files:
        for name, (dtype, t) in read_file(os.path.join(saved, file), errors).items():
            if name in tensors:
                errors.append(f"{name} is in two files")
            if index is not None and index["weight_map"].get(name) != file:
                errors.append(f"{name} is in {file}, the index says {index['weight_map'].get(name)}")
            tensors[name] = (dtype, t)
            total += t.numel() * t.element_size()
    if index is not None:
        if set(index["weight_map"]) != set(tensors):
            errors.append("weight_map and the shards' tensors differ")
        if index["metadata"].get("total_size") != total:
            errors.append(f"metadata.total_size {index['metadata'].get('total_size')} != {total}")
    ref = read_file(os.path.join(reference, "model.safetensors"), [])
    order = list(ref)
    if index is None:
        if order != list(tensors):
            errors.append("tensor names or order differ from the float32 save")
    else:
        # huggingface_hub's split keeps state-dict order within each shard (a tensor over the limit
        # gets a shard of its own when met, so only the shards' concatenation may differ).
        if set(order) != set(tensors):
            errors.append("tensor names differ from the float32 save")
        for file in files:
            names = list(read_file(os.path.join(saved, file), []))
            if [order.index(n) for n in names if n in ref] != sorted(order.index(n) for n in names if n in ref):
                errors.append(f"{file}: tensors out of state-dict order")
    counts = {}
    for name, (dtype, t) in tensors.items():
        counts[dtype] = counts.get(dtype, 0) + 1
        if name in expected_dtypes and expected_dtypes[name] != dtype:
            errors.append(f"{name}: saved {dtype}, expected {expected_dtypes[name]}")
        ref_dtype, r = ref.get(name, (None, None))
        if r is None:
            continue
        converted = r.to(DTYPES[dtype]) if dtype == "I64" else r.float().to(DTYPES[dtype])
        bits = {"F32": torch.int32, "I64": torch.int64}.get(dtype, torch.int16)
        if not torch.equal(converted.view(bits), t.contiguous().view(bits)):
            diff = (converted.float() - t.float()).abs().max().item()
            errors.append(f"{name}: {dtype} bits differ from torch's conversion of the float32 save (max {diff})")
    print(json.dumps({"ok": not errors, "files": files, "tensors": len(tensors), "dtypes": counts,
                      "errors": errors[:20]}))


if __name__ == "__main__":
    main()
