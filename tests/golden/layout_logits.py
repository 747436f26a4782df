#!/usr/bin/python3
"""PyTorch logits of a layout fixture, or of a model folder saved from one, with an optional PEFT LoRA
adapter: the reference forward passes of checkpoint_layouts.py (gpt2_lora.py / llama_lora.py) and
encoder_checkpoint_layouts.py (BERT, RoBERTa, DistilBERT sequence classifiers), written out from
transformers' modeling code, on the files as they are on disk.

    /usr/bin/python3 tests/golden/layout_logits.py MODEL_FOLDER [ADAPTER_FOLDER]

MODEL_FOLDER holds config.json and model.safetensors (or shards + model.safetensors.index.json) in
any layout the fixtures use (GPT-2 with or without `transformer.`, buffers, tied or untied heads;
F32/F16/BF16, upcast to float32). ADAPTER_FOLDER holds adapter_config.json (LoRA, `r`, `lora_alpha`,
no patterns) and adapter_model.safetensors with PEFT names (modules_to_save as base_model.model.<name>).
Runs on the input ids of packages/trainer/src/models/fixtures/layouts/manifest.json (causal) or the
family's input ids and attention mask in encoders.json (encoders: classification logits; BERT's
gamma/beta names, buffers and pretraining heads as the fixtures hold them); prints
{"shape": [...], "logits": [...]}.
"""
import json, os, struct, sys
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checkpoint_layouts  # noqa: E402
import encoder_checkpoint_layouts as encoders  # noqa: E402
from gpt2_lora import RD  # noqa: E402


def load_safetensors(path):
    """Float tensors of a safetensors file as float32 (integer buffers such as position_ids skipped)."""
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__" or e["dtype"] not in RD:
            continue
        dtype, size = RD[e["dtype"]]
        a, b = e["data_offsets"]
        raw = bytearray(data[8 + n + a: 8 + n + b])
        out[name] = torch.frombuffer(raw, dtype=torch.int32 if size == 4 else torch.int16).view(dtype).reshape(e["shape"]).float()
    return out


def read_weights(folder):
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index):
        files = sorted(set(json.load(open(index))["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    weights = {}
    for file in files:
        weights.update(load_safetensors(os.path.join(folder, file)))
    return weights


def canonical_gpt2(c, weights):
    out = {}
    for name, t in weights.items():
        full = name if name.startswith(("transformer.", "lm_head.")) else "transformer." + name
        if full.endswith((".attn.bias", ".attn.masked_bias")):
            continue
        if full == "lm_head.weight" and c.get("tie_word_embeddings", True):
            continue
        out[full] = t
    return out


ENCODER_FIXTURE = {"bert": "bert-base-uncased", "roberta": "roberta-base", "distilbert": "distilbert-base-uncased"}


def encoder_logits(c, weights, adapter, r, alpha):
    kind = c["model_type"]
    fixture = json.load(open(os.path.join(encoders.OUT, "encoders.json")))["fixtures"][ENCODER_FIXTURE[kind]]
    ids, mask = torch.tensor(fixture["input_ids"]), torch.tensor(fixture["attention_mask"])
    w = {k.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias"): v
         for k, v in weights.items() if not k.endswith(("position_ids", "token_type_ids"))}
    encoders.LORA_R, encoders.LORA_ALPHA = r, alpha
    _, _, logits = encoders.forward(kind, c, w, adapter, ids, mask)
    if logits is None:
        raise SystemExit("layout_logits.py: no classification head in the model or the adapter")
    return logits


def main():
    folder = sys.argv[1]
    adapter_folder = sys.argv[2] if len(sys.argv) > 2 else None
    torch.set_num_threads(1)
    c = json.load(open(os.path.join(folder, "config.json")))
    weights = read_weights(folder)
    adapter, r, alpha = None, 1, 1
    if adapter_folder:
        settings = json.load(open(os.path.join(adapter_folder, "adapter_config.json")))
        if settings.get("rank_pattern") or settings.get("alpha_pattern") or settings.get("use_rslora"):
            raise SystemExit("layout_logits.py: rank/alpha patterns and rsLoRA are not handled here")
        r, alpha = settings["r"], settings["lora_alpha"]
        checkpoint_layouts.LORA_R, checkpoint_layouts.LORA_ALPHA = r, alpha
        adapter = load_safetensors(os.path.join(adapter_folder, "adapter_model.safetensors"))
    layouts = os.path.join(checkpoint_layouts.OUT, "manifest.json")
    ids = torch.tensor(json.load(open(layouts))["input_ids"])
    with torch.no_grad():
        if c["model_type"] in ENCODER_FIXTURE:
            logits = encoder_logits(c, weights, adapter, r, alpha)
        elif c["model_type"] == "gpt2":
            logits = checkpoint_layouts.gpt2_forward(c, canonical_gpt2(c, weights), adapter, ids)
        else:
            weights = {k: v for k, v in weights.items() if not k.endswith("rotary_emb.inv_freq")}
            logits = checkpoint_layouts.llama_forward(c, weights, adapter, ids)
    print(json.dumps({"shape": list(logits.shape), "logits": logits.flatten().tolist()}))


if __name__ == "__main__":
    main()
