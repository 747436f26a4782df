#!/usr/bin/python3
"""Golden fixtures for @tunekit/trainer's Llama and Qwen2 (+ LoRA) graphs, computed with PyTorch.

Run with Debian's python3-torch:

    /usr/bin/python3 tests/golden/llama_lora.py

Writes packages/trainer/src/models/llama/fixtures/{llama,qwen2}/:
  weights.safetensors   tiny random model, Hugging Face names, F32
  adapter.safetensors   LoRA r=4 on q/k/v/o_proj and gate/up/down_proj, PEFT names, non-zero A and B
  expected.safetensors  losses, logits, every LoRA gradient and every full-fine-tuning gradient
  manifest.json         config, LoRA config, the batch (right padding)

No transformers/peft on this machine: the model is written out here following Hugging Face's
modeling_llama.py / modeling_qwen2.py (eager attention): LlamaRMSNorm (float32 variance, rsqrt),
LlamaRotaryEmbedding (inv_freq = 1/θ^(2i/d), cat(freqs, freqs), rotate_half), repeat_kv for
grouped-query attention, SiLU-gated MLP, causal mask with finfo.min, shifted cross-entropy; and
PEFT's LoRA on nn.Linear (`x·Aᵀ·Bᵀ·alpha/r` added to the base output).

llama: 4 heads / 2 key-value heads (GQA), untied head, rope_scaling llama3.
qwen2: 4 heads / 1 key-value head, q/k/v biases, tied embeddings, rope_scaling linear.
"""
import json, math, os, sys
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt2_lora import save_safetensors  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "packages", "trainer", "src", "models", "llama", "fixtures")

CONFIGS = {
    "llama": dict(model_type="llama", vocab_size=89, hidden_size=32, intermediate_size=48,
                  num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                  max_position_embeddings=64, rms_norm_eps=1e-6, rope_theta=10000.0,
                  rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0,
                                    high_freq_factor=4.0, original_max_position_embeddings=8),
                  attention_bias=False, tie_word_embeddings=False),
    "qwen2": dict(model_type="qwen2", vocab_size=83, hidden_size=32, intermediate_size=40,
                  num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=1,
                  max_position_embeddings=64, rms_norm_eps=1e-6, rope_theta=1000000.0,
                  rope_scaling=dict(type="linear", factor=2.0), tie_word_embeddings=True),
}
LORA = dict(r=4, alpha=8, dropout=0.0,
            targetModules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
BATCH, SEQ, LENGTHS = 3, 12, [12, 9, 5]


def dims(c):
    H = c["num_attention_heads"]
    return c["hidden_size"], H, c.get("num_key_value_heads", H), c["hidden_size"] // H, c["intermediate_size"]


def linear_modules(c):
    d, H, KV, hd, I = dims(c)
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        yield p + "self_attn.q_proj", d, H * hd
        yield p + "self_attn.k_proj", d, KV * hd
        yield p + "self_attn.v_proj", d, KV * hd
        yield p + "self_attn.o_proj", H * hd, d
        yield p + "mlp.gate_proj", d, I
        yield p + "mlp.up_proj", d, I
        yield p + "mlp.down_proj", I, d


def qkv_bias(c):
    return c["model_type"] == "qwen2" or c.get("attention_bias", False)


def make_weights(c, g):
    d = c["hidden_size"]
    r = lambda *s, std=0.02: torch.randn(*s, generator=g) * std
    w = {"model.embed_tokens.weight": r(c["vocab_size"], d, std=0.5)}
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = 1 + r(d, std=0.1)
        for path, fin, fout in linear_modules(c):
            if not path.startswith(p):
                continue
            w[path + ".weight"] = r(fout, fin, std=0.25)
            if qkv_bias(c) and path.split(".")[-1] in ("q_proj", "k_proj", "v_proj"):
                w[path + ".bias"] = r(fout, std=0.1)
        w[p + "post_attention_layernorm.weight"] = 1 + r(d, std=0.1)
    w["model.norm.weight"] = 1 + r(d, std=0.1)
    if not c["tie_word_embeddings"]:
        w["lm_head.weight"] = r(c["vocab_size"], d, std=0.3)
    return w


def make_adapter(c, g):
    a = {}
    for path, fin, fout in linear_modules(c):
        a[f"base_model.model.{path}.lora_A.weight"] = (torch.rand(LORA["r"], fin, generator=g) * 2 - 1) / math.sqrt(fin)
        a[f"base_model.model.{path}.lora_B.weight"] = torch.randn(fout, LORA["r"], generator=g) * 0.05
    return a


def inv_freq(c):
    """LlamaRotaryEmbedding / ROPE_INIT_FUNCTIONS (default, linear, llama3)."""
    _, H, _, hd, _ = dims(c)
    base = c["rope_theta"]
    inv = 1.0 / (base ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    s = c.get("rope_scaling") or {}
    kind = s.get("rope_type", s.get("type", "default"))
    if kind == "linear":
        inv = inv / s["factor"]
    elif kind == "llama3":
        factor, lo, hi, old = s["factor"], s["low_freq_factor"], s["high_freq_factor"], s["original_max_position_embeddings"]
        low_wl, high_wl = old / lo, old / hi
        wl = 2 * math.pi / inv
        inv_l = torch.where(wl > low_wl, inv / factor, inv)
        smooth = (old / wl - lo) / (hi - lo)
        smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
        medium = ~(wl < high_wl) * ~(wl > low_wl)
        inv = torch.where(medium, smoothed, inv_l)
    return inv


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def rms_norm(x, w, eps):
    variance = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(variance + eps))


def forward(c, w, adapter, ids, mask):
    B, T = ids.shape
    d, H, KV, hd, _ = dims(c)
    scaling = LORA["alpha"] / LORA["r"]
    eps = c["rms_norm_eps"]

    def lin(x, path):
        y = F.linear(x, w[path + ".weight"], w.get(path + ".bias"))
        if adapter is not None:
            A = adapter[f"base_model.model.{path}.lora_A.weight"]
            Bm = adapter[f"base_model.model.{path}.lora_B.weight"]
            y = y + (x @ A.T @ Bm.T) * scaling
        return y

    pos = torch.arange(T).unsqueeze(0).expand(B, T)
    freqs = (inv_freq(c)[None, :, None].float().expand(B, -1, 1) @ pos[:, None, :].float()).transpose(1, 2)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[:, None], emb.sin()[:, None]
    min_value = torch.finfo(torch.float32).min
    causal = torch.triu(torch.full((T, T), min_value), diagonal=1)[None, None].expand(B, 1, T, T).clone()
    padding = causal + mask[:, None, None, :].float()
    causal = causal.masked_fill(padding == 0, min_value)
    h = F.embedding(ids, w["model.embed_tokens.weight"])
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        a = rms_norm(h, w[p + "input_layernorm.weight"], eps)
        q = lin(a, p + "self_attn.q_proj").view(B, T, H, hd).transpose(1, 2)
        k = lin(a, p + "self_attn.k_proj").view(B, T, KV, hd).transpose(1, 2)
        v = lin(a, p + "self_attn.v_proj").view(B, T, KV, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        n = H // KV
        k = k[:, :, None].expand(B, KV, n, T, hd).reshape(B, H, T, hd)
        v = v[:, :, None].expand(B, KV, n, T, hd).reshape(B, H, T, hd)
        s = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(hd) + causal
        o = torch.matmul(F.softmax(s, dim=-1, dtype=torch.float32), v).transpose(1, 2).reshape(B, T, H * hd)
        h = h + lin(o, p + "self_attn.o_proj")
        m = rms_norm(h, w[p + "post_attention_layernorm.weight"], eps)
        h = h + lin(F.silu(lin(m, p + "mlp.gate_proj")) * lin(m, p + "mlp.up_proj"), p + "mlp.down_proj")
    h = rms_norm(h, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if c["tie_word_embeddings"] else w["lm_head.weight"]
    return h @ head.T


def causal_lm_loss(logits, labels):
    V = logits.shape[-1]
    return F.cross_entropy(logits[:, :-1, :].reshape(-1, V), labels[:, 1:].reshape(-1), ignore_index=-100)


def build(name, seed):
    c = CONFIGS[name]
    g = torch.Generator().manual_seed(seed)
    weights = make_weights(c, g)
    adapter = make_adapter(c, g)
    ids = torch.randint(1, c["vocab_size"], (BATCH, SEQ), generator=g)
    mask = torch.zeros(BATCH, SEQ, dtype=torch.long)
    for b, n in enumerate(LENGTHS):
        mask[b, :n] = 1
    ids = ids * mask
    labels = ids.masked_fill(mask == 0, -100)
    expected = {}
    la = {k: v.clone().requires_grad_(True) for k, v in adapter.items()}
    logits = forward(c, weights, la, ids, mask)
    loss = causal_lm_loss(logits, labels)
    loss.backward()
    expected["lora.loss"] = loss.detach().reshape(1)
    expected["lora.logits"] = logits.detach()
    for k, v in la.items():
        expected[f"lora.grad.{k}"] = v.grad
    fw = {k: v.clone().requires_grad_(True) for k, v in weights.items()}
    logits = forward(c, fw, None, ids, mask)
    loss = causal_lm_loss(logits, labels)
    loss.backward()
    expected["full.loss"] = loss.detach().reshape(1)
    expected["full.logits"] = logits.detach()
    for k, v in fw.items():
        expected[f"full.grad.{k}"] = v.grad
    out = os.path.join(OUT, name)
    os.makedirs(out, exist_ok=True)
    save_safetensors(os.path.join(out, "weights.safetensors"), weights)
    save_safetensors(os.path.join(out, "adapter.safetensors"), adapter)
    save_safetensors(os.path.join(out, "expected.safetensors"), {k: v.contiguous() for k, v in expected.items()})
    manifest = dict(config=c, lora=LORA, input_ids=ids.tolist(), attention_mask=mask.tolist(),
                    labels=labels.tolist(), torch=torch.__version__)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f)
        f.write("\n")
    print(f"{name}: lora loss {expected['lora.loss'].item():.6f}  full loss {expected['full.loss'].item():.6f}")


def main():
    torch.set_num_threads(1)
    build("llama", 20240601)
    build("qwen2", 20240602)


if __name__ == "__main__":
    sys.exit(main())
