#!/usr/bin/python3
"""Tiny random checkpoints in the exact layouts of named public Hugging Face checkpoints, with
PyTorch logits for the base model and for the base + a LoRA adapter.

    /usr/bin/python3 tests/golden/checkpoint_layouts.py

Writes packages/trainer/src/models/fixtures/layouts/<name>/: config.json (the published config.json's
field set, sorted and indented as transformers writes it; sizes tiny), model.safetensors with the
published file's key names, key order (safetensors' serializer: dtype descending, then name) and dtype,
adapter/ (PEFT adapter_config.json + adapter_model.safetensors, non-zero B), and expected.safetensors
(base.logits, adapter.logits for manifest.json's input_ids), plus manifest.json (input ids, key lists).
F16/BF16 weights are upcast to float32 before the forward, as Tunekit reads them. The forward passes are
the ones of gpt2_lora.py / llama_lora.py (written out from transformers' modeling code: no
transformers or PEFT on this machine).

Where each layout comes from (with what was copied and every deliberate difference) is recorded in
packages/trainer/src/models/fixtures/layouts/SOURCES.md. In short:
- gpt2: config.json field set of openai-community/gpt2 (no n_inner); model.safetensors F32, one file,
  no `transformer.` prefix, no lm_head (tied), an `h.N.attn.bias` causal-mask buffer per layer and no
  `attn.masked_bias` (137,022,720 elements = weights + 12 masks of 1024x1024).
- distilgpt2: as gpt2 plus `_num_labels`/`id2label`/`label2id`; one F32 file (82 tensors for its 6
  layers: wte, wpe, ln_f weight and bias, 13 per layer including attn.bias; no masked_bias).
- gpt2-untied: not a named checkpoint: GPT-2 as transformers' save_pretrained writes it (prefix, no
  buffers) with `tie_word_embeddings: false` and its own `lm_head.weight` (the case the issue found
  silently tied).
- SmolLM2-135M: config.json field set (transformers 4.40.1 file: no head_dim, no mlp_bias), BF16, one
  file, tied (no lm_head.weight).
- Qwen2.5-0.5B: config.json field set at revision 060db649 (use_mrope, no head_dim, no rope_scaling),
  rms_norm_eps 1e-6, rope_theta 1e6, BF16, one file, tied, q/k/v biases.
- TinyLlama-1.1B-Chat-v1.0: config.json field set at revision fe8a4ea1 (transformers 4.35.0: no head_dim,
  mlp_bias or attention_dropout), BF16, ONE model.safetensors (the Hub ships one file), untied lm_head.
  tinyllama-1.1b/sharded/ holds the same tensors split into two shards + model.safetensors.index.json
  as save_pretrained(max_shard_size=...) writes them: a deliberate extra, to cover sharded loading.
"""
import json, math, os, shutil, struct, sys
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_lora  # noqa: E402
import llama_lora  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "packages", "trainer", "src", "models", "fixtures", "layouts")
DT = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}
LORA_R, LORA_ALPHA = 2, 4
IDS = [[5, 17, 33, 2, 48, 9, 21, 40], [11, 3, 7, 29, 44, 1, 60, 12]]


def tensor_bytes(t):
    t = t.contiguous()
    return (t.view(torch.int32) if t.dtype == torch.float32 else t.view(torch.int16)).numpy().tobytes()


def save(path, tensors):
    """safetensors with the keys in the given order (as the Hub's files list them)."""
    header, offset, blobs = {"__metadata__": {"format": "pt"}}, 0, []
    for name, t in tensors.items():
        b = tensor_bytes(t)
        header[name] = {"dtype": DT[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def gpt2_forward(c, w, adapter, ids):
    """gpt2_lora.forward (tied head) with this config and LoRA settings."""
    gpt2_lora.CONFIG = c
    gpt2_lora.LORA = dict(r=LORA_R, alpha=LORA_ALPHA)
    mask = torch.ones_like(ids)
    if adapter is not None:
        full = {}
        for path, fin, fout in gpt2_lora.lora_modules():
            for which in ("A", "B"):
                key = f"base_model.model.{path}.lora_{which}.weight"
                r = adapter.get(key)
                full[key] = r if r is not None else torch.zeros((LORA_R, fin) if which == "A" else (fout, LORA_R))
        adapter = full
    return gpt2_lora.forward(w, adapter, ids, mask)


def llama_forward(c, w, adapter, ids):
    llama_lora.LORA = dict(r=LORA_R, alpha=LORA_ALPHA)
    mask = torch.ones_like(ids)
    if adapter is not None:
        full = {}
        for path, fin, fout in llama_lora.linear_modules(c):
            for which in ("A", "B"):
                key = f"base_model.model.{path}.lora_{which}.weight"
                r = adapter.get(key)
                full[key] = r if r is not None else torch.zeros((LORA_R, fin) if which == "A" else (fout, LORA_R))
        adapter = full
    return llama_lora.forward(c, w, adapter, ids, mask)


def gpt2_fixture(name, g, n_layer, untied=False):
    # openai-community/gpt2's config.json field set (sizes tiny; bos/eos = the last id, as 50256 is).
    c = dict(activation_function="gelu_new", architectures=["GPT2LMHeadModel"], attn_pdrop=0.1,
             bos_token_id=63, embd_pdrop=0.1, eos_token_id=63, initializer_range=0.02,
             layer_norm_epsilon=1e-5, model_type="gpt2", n_ctx=32, n_embd=24, n_head=12, n_layer=n_layer,
             n_positions=32, resid_pdrop=0.1, summary_activation=None, summary_first_dropout=0.1,
             summary_proj_to_labels=True, summary_type="cls_index", summary_use_proj=True,
             task_specific_params={"text-generation": {"do_sample": True, "max_length": 50}}, vocab_size=64)
    if name == "distilgpt2":
        # distilbert/distilgpt2's config.json also carries a one-label head description.
        c.update(_num_labels=1, id2label={"0": "LABEL_0"}, label2id={"LABEL_0": 0})
    d, P = c["n_embd"], c["n_positions"]
    r = lambda *s, std=0.1: torch.randn(*s, generator=g) * std
    canonical = {"transformer.wte.weight": r(64, d), "transformer.wpe.weight": r(P, d, std=0.05)}
    for i in range(n_layer):
        p = f"transformer.h.{i}."
        canonical.update({
            p + "ln_1.weight": 1 + r(d), p + "ln_1.bias": r(d),
            p + "attn.c_attn.weight": r(d, 3 * d, std=0.2), p + "attn.c_attn.bias": r(3 * d),
            p + "attn.c_proj.weight": r(d, d, std=0.2), p + "attn.c_proj.bias": r(d),
            p + "ln_2.weight": 1 + r(d), p + "ln_2.bias": r(d),
            p + "mlp.c_fc.weight": r(d, 4 * d, std=0.2), p + "mlp.c_fc.bias": r(4 * d),
            p + "mlp.c_proj.weight": r(4 * d, d, std=0.1), p + "mlp.c_proj.bias": r(d),
        })
    canonical["transformer.ln_f.weight"] = 1 + r(d)
    canonical["transformer.ln_f.bias"] = r(d)
    if untied:
        # transformers' own save_pretrained layout (with the prefix, no buffers) and its own head.
        c.update(n_inner=None, tie_word_embeddings=False)
        canonical["lm_head.weight"] = r(64, d, std=0.2)
        adapter = {}
        for i in range(n_layer):
            path = f"transformer.h.{i}.attn.c_attn"
            adapter[f"base_model.model.{path}.lora_A.weight"] = (torch.rand(LORA_R, d, generator=g) * 2 - 1) / math.sqrt(d)
            adapter[f"base_model.model.{path}.lora_B.weight"] = torch.randn(3 * d, LORA_R, generator=g) * 0.1
        return c, dict(canonical), canonical, adapter, ["c_attn"], gpt2_forward
    # The Hub files: no prefix, a causal-mask buffer per layer (no masked_bias), keys sorted by name.
    stored = {}
    for key, t in canonical.items():
        stored[key[len("transformer."):]] = t
    for i in range(n_layer):
        stored[f"h.{i}.attn.bias"] = torch.tril(torch.ones(P, P)).view(1, 1, P, P)
    stored = dict(sorted(stored.items()))
    adapter = {}
    for i in range(n_layer):
        path = f"transformer.h.{i}.attn.c_attn"
        adapter[f"base_model.model.{path}.lora_A.weight"] = (torch.rand(LORA_R, d, generator=g) * 2 - 1) / math.sqrt(d)
        adapter[f"base_model.model.{path}.lora_B.weight"] = torch.randn(3 * d, LORA_R, generator=g) * 0.1
    targets = ["c_attn"]
    return c, stored, canonical, adapter, targets, gpt2_forward


def llama_fixture(c, g, dtype):
    """A Llama-family checkpoint for config `c` (the published config.json's fields, tiny sizes)."""
    tied, bias = c["tie_word_embeddings"], c["model_type"] == "qwen2"
    d = c["hidden_size"]
    r = lambda *s, std=0.1: torch.randn(*s, generator=g) * std
    w = {"model.embed_tokens.weight": r(64, d, std=0.2)}
    for i in range(2):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = 1 + r(d)
        for path, fin, fout in [m for m in llama_lora.linear_modules(c) if m[0].startswith(p)]:
            w[path + ".weight"] = r(fout, fin, std=0.2)
            if bias and path.split(".")[-1] in ("q_proj", "k_proj", "v_proj"):
                w[path + ".bias"] = r(fout)
        w[p + "post_attention_layernorm.weight"] = 1 + r(d)
    w["model.norm.weight"] = 1 + r(d)
    if not tied:
        w["lm_head.weight"] = r(64, d, std=0.2)
    stored = {k: v.to(dtype) for k, v in sorted(w.items())}
    canonical = {k: v.float() for k, v in stored.items()}
    adapter = {}
    for path, fin, fout in llama_lora.linear_modules(c):
        if path.split(".")[-1] in ("q_proj", "v_proj"):
            adapter[f"base_model.model.{path}.lora_A.weight"] = (torch.rand(LORA_R, fin, generator=g) * 2 - 1) / math.sqrt(fin)
            adapter[f"base_model.model.{path}.lora_B.weight"] = torch.randn(fout, LORA_R, generator=g) * 0.1
    return c, stored, canonical, adapter, ["q_proj", "v_proj"], llama_forward


# The published config.json field sets (sources in fixtures/layouts/SOURCES.md); sizes tiny: the
# published query / key-value head counts with heads of size 2 (hidden = 2 x heads), intermediate 24,
# 2 layers, vocabulary 64, 64 positions.
def tiny(heads, key_value_heads):
    return dict(hidden_size=2 * heads, intermediate_size=24, num_attention_heads=heads, num_hidden_layers=2,
                num_key_value_heads=key_value_heads, max_position_embeddings=64, vocab_size=64)


SMOLLM2_135M = dict(architectures=["LlamaForCausalLM"], attention_bias=False, attention_dropout=0.0,
                    bos_token_id=0, eos_token_id=0, hidden_act="silu", initializer_range=0.041666666666666664,
                    is_llama_config=True, model_type="llama", pretraining_tp=1, rms_norm_eps=1e-05,
                    rope_interleaved=False, rope_scaling=None, rope_theta=100000, tie_word_embeddings=True,
                    torch_dtype="bfloat16", transformers_version="4.40.1", use_cache=True, **tiny(9, 3))
QWEN2_5_0_5B = dict(architectures=["Qwen2ForCausalLM"], attention_dropout=0.0, bos_token_id=63,
                    eos_token_id=63, hidden_act="silu", initializer_range=0.02, max_window_layers=2,
                    model_type="qwen2", rms_norm_eps=1e-06, rope_theta=1000000.0, sliding_window=64,
                    tie_word_embeddings=True, torch_dtype="bfloat16", transformers_version="4.40.1",
                    use_cache=True, use_mrope=False, use_sliding_window=False, **tiny(14, 2))
TINYLLAMA_1_1B = dict(architectures=["LlamaForCausalLM"], attention_bias=False, bos_token_id=1, eos_token_id=2,
                      hidden_act="silu", initializer_range=0.02, model_type="llama", pretraining_tp=1,
                      rms_norm_eps=1e-05, rope_scaling=None, rope_theta=10000.0, tie_word_embeddings=False,
                      torch_dtype="bfloat16", transformers_version="4.35.0", use_cache=True, **tiny(32, 4))


def write_shards(out, stored):
    """Two shards + index, split in key order as save_pretrained(max_shard_size=...) would."""
    keys = list(stored)
    half = len(keys) // 2
    shards = {"model-00001-of-00002.safetensors": keys[:half], "model-00002-of-00002.safetensors": keys[half:]}
    for file, names in shards.items():
        save(os.path.join(out, file), {k: stored[k] for k in names})
    total = sum(t.numel() * t.element_size() for t in stored.values())
    index = {"metadata": {"total_size": total},
             "weight_map": dict(sorted((k, f) for f, names in shards.items() for k in names))}
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        f.write(json.dumps(index, indent=2, sort_keys=True) + "\n")


def main():
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(20261206)
    fixtures = {
        "gpt2": gpt2_fixture("gpt2", g, 2),
        "distilgpt2": gpt2_fixture("distilgpt2", g, 2),
        "gpt2-untied": gpt2_fixture("gpt2-untied", g, 2, untied=True),
        "smollm2-135m": llama_fixture(SMOLLM2_135M, g, torch.bfloat16),
        "qwen2.5-0.5b": llama_fixture(QWEN2_5_0_5B, g, torch.bfloat16),
        "tinyllama-1.1b": llama_fixture(TINYLLAMA_1_1B, g, torch.bfloat16),
    }
    ids = torch.tensor(IDS)
    manifest = {"input_ids": IDS, "lora": {"r": LORA_R, "alpha": LORA_ALPHA}, "fixtures": {}}
    for name, (c, stored, canonical, adapter, targets, forward) in fixtures.items():
        out = os.path.join(OUT, name)
        os.makedirs(os.path.join(out, "adapter"), exist_ok=True)
        for stale in os.listdir(out):
            if stale.endswith(".safetensors") or stale.endswith(".json"):
                os.remove(os.path.join(out, stale))
        with open(os.path.join(out, "config.json"), "w") as f:
            # transformers writes config.json sorted, indented by 2 (the Hub files look like this).
            f.write(json.dumps(c, indent=2, sort_keys=True) + "\n")
        save(os.path.join(out, "model.safetensors"), stored)
        if name == "tinyllama-1.1b":
            sharded = os.path.join(out, "sharded")
            shutil.rmtree(sharded, ignore_errors=True)
            os.makedirs(sharded)
            shutil.copy(os.path.join(out, "config.json"), sharded)
            write_shards(sharded, stored)
        save(os.path.join(out, "adapter", "adapter_model.safetensors"), adapter)
        json.dump({"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": LORA_R, "lora_alpha": LORA_ALPHA,
                   "lora_dropout": 0.0, "target_modules": targets, "fan_in_fan_out": c["model_type"] == "gpt2",
                   "bias": "none", "use_rslora": False, "use_dora": False, "init_lora_weights": True,
                   "modules_to_save": None, "rank_pattern": {}, "alpha_pattern": {}},
                  open(os.path.join(out, "adapter", "adapter_config.json"), "w"), indent=2)
        with torch.no_grad():
            base = forward(c, canonical, None, ids)
            with_adapter = forward(c, canonical, adapter, ids)
        save(os.path.join(out, "expected.safetensors"),
             {"base.logits": base.contiguous(), "adapter.logits": with_adapter.contiguous()})
        manifest["fixtures"][name] = {"keys": list(stored), "dtype": DT[next(iter(stored.values())).dtype],
                                      "sharded_copy": "sharded" if name == "tinyllama-1.1b" else None}
        print(name, len(stored), "tensors", base.shape)
    json.dump(manifest, open(os.path.join(OUT, "manifest.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
