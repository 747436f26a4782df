#!/usr/bin/python3
"""Golden fixtures for @tunekit/trainer's GPT-2 (+ LoRA) graphs, computed with PyTorch.

Run with Debian's python3-torch (the first python3 on PATH may lack torch):

    /usr/bin/python3 tests/golden/gpt2_lora.py

Writes packages/trainer/src/models/gpt2/fixtures/:
  weights.safetensors   tiny GPT-2 (vocab 97, 2 layers, d 32, 2 heads), Hugging Face names, F32
  adapter.safetensors   LoRA r=4 on c_attn/c_proj/c_fc, PEFT names, non-zero A and B
  mixed.safetensors     wte stored as F16 and BF16 (for the reader's conversions)
  expected.safetensors  losses, logits, every LoRA gradient and every full-fine-tuning gradient
  manifest.json         config, LoRA config, the batch (right padding), sha256 of each tensor's bytes

The model is written out here (no transformers/peft on this machine), following Hugging Face's
GPT2LMHeadModel (eager attention, Conv1D, gelu_new, tied head, shifted loss) and PEFT's LoRA
(`x·Aᵀ·Bᵀ·alpha/r` added to the Conv1D output).

It then checks that safetensors round-trip bit-exactly through Tunekit: the TypeScript side
(tests/golden/safetensors-roundtrip.ts, run with npx tsx) reads weights.safetensors and writes it
back as F32, F16 and BF16; the bytes must equal torch's tensors and torch's .half()/.bfloat16().
"""
import hashlib, json, math, os, struct, subprocess, sys, tempfile
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "packages", "trainer", "src", "models", "gpt2", "fixtures")

CONFIG = dict(model_type="gpt2", vocab_size=97, n_positions=32, n_embd=32, n_layer=2, n_head=2,
              n_inner=None, activation_function="gelu_new", layer_norm_epsilon=1e-5,
              resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
LORA = dict(r=4, alpha=8, dropout=0.0, targetModules=["c_attn", "c_proj", "c_fc"])
BATCH, SEQ, LENGTHS = 3, 16, [16, 11, 7]

DT = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}
RD = {"F32": (torch.float32, 4), "F16": (torch.float16, 2), "BF16": (torch.bfloat16, 2)}


def tensor_bytes(t):
    # Reinterpret as int16/int32 so bf16 goes through numpy too.
    t = t.contiguous()
    if t.dtype == torch.float32:
        return t.view(torch.int32).numpy().tobytes()
    return t.view(torch.int16).numpy().tobytes()


def save_safetensors(path, tensors):
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


def load_safetensors(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        dtype, size = RD[e["dtype"]]
        a, b = e["data_offsets"]
        raw = bytearray(data[8 + n + a: 8 + n + b])
        int_type = torch.int32 if size == 4 else torch.int16
        out[name] = torch.frombuffer(raw, dtype=int_type).view(dtype).reshape(e["shape"]).clone()
    return out


def sha(t):
    return hashlib.sha256(tensor_bytes(t.float())).hexdigest()


def make_weights(g):
    d, V, P, L = CONFIG["n_embd"], CONFIG["vocab_size"], CONFIG["n_positions"], CONFIG["n_layer"]
    r = lambda *s, std=0.02: torch.randn(*s, generator=g) * std
    w = {"transformer.wte.weight": r(V, d, std=0.1), "transformer.wpe.weight": r(P, d, std=0.05)}
    for i in range(L):
        p = f"transformer.h.{i}."
        w[p + "ln_1.weight"] = 1 + r(d, std=0.1); w[p + "ln_1.bias"] = r(d, std=0.1)
        w[p + "attn.c_attn.weight"] = r(d, 3 * d, std=0.2); w[p + "attn.c_attn.bias"] = r(3 * d, std=0.1)
        w[p + "attn.c_proj.weight"] = r(d, d, std=0.2); w[p + "attn.c_proj.bias"] = r(d, std=0.1)
        w[p + "ln_2.weight"] = 1 + r(d, std=0.1); w[p + "ln_2.bias"] = r(d, std=0.1)
        w[p + "mlp.c_fc.weight"] = r(d, 4 * d, std=0.2); w[p + "mlp.c_fc.bias"] = r(4 * d, std=0.1)
        w[p + "mlp.c_proj.weight"] = r(4 * d, d, std=0.1); w[p + "mlp.c_proj.bias"] = r(d, std=0.1)
    w["transformer.ln_f.weight"] = 1 + r(d, std=0.1); w["transformer.ln_f.bias"] = r(d, std=0.1)
    return w


def lora_modules():
    d = CONFIG["n_embd"]
    for i in range(CONFIG["n_layer"]):
        p = f"transformer.h.{i}."
        yield p + "attn.c_attn", d, 3 * d
        yield p + "attn.c_proj", d, d
        yield p + "mlp.c_fc", d, 4 * d
        yield p + "mlp.c_proj", 4 * d, d


def make_adapter(g):
    a = {}
    for path, fin, fout in lora_modules():
        a[f"base_model.model.{path}.lora_A.weight"] = (torch.rand(LORA["r"], fin, generator=g) * 2 - 1) / math.sqrt(fin)
        # Non-zero B (PEFT starts at zeros) so every A gradient is non-trivial.
        a[f"base_model.model.{path}.lora_B.weight"] = torch.randn(fout, LORA["r"], generator=g) * 0.05
    return a


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def forward(w, adapter, ids, mask):
    """Hugging Face GPT2LMHeadModel forward (eager attention) with PEFT LoRA on Conv1D modules."""
    B, T = ids.shape
    d, H = CONFIG["n_embd"], CONFIG["n_head"]
    hd = d // H
    scaling = LORA["alpha"] / LORA["r"]
    eps = CONFIG["layer_norm_epsilon"]

    def conv1d(x, path):
        y = torch.addmm(w[path + ".bias"], x.view(-1, x.shape[-1]), w[path + ".weight"]).view(*x.shape[:-1], -1)
        if adapter is not None:
            A = adapter[f"base_model.model.{path}.lora_A.weight"]
            Bm = adapter[f"base_model.model.{path}.lora_B.weight"]
            y = y + (x @ A.T @ Bm.T) * scaling
        return y

    pos = torch.arange(T).unsqueeze(0)
    h = F.embedding(ids, w["transformer.wte.weight"]) + F.embedding(pos, w["transformer.wpe.weight"])
    min_value = torch.finfo(torch.float32).min
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool)).view(1, 1, T, T)
    padding = (1.0 - mask[:, None, None, :].float()) * min_value
    for i in range(CONFIG["n_layer"]):
        p = f"transformer.h.{i}"
        a = F.layer_norm(h, (d,), w[p + ".ln_1.weight"], w[p + ".ln_1.bias"], eps)
        q, k, v = conv1d(a, p + ".attn.c_attn").split(d, dim=2)
        q, k, v = (t.view(B, T, H, hd).permute(0, 2, 1, 3) for t in (q, k, v))
        s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd)
        s = torch.where(causal, s, torch.tensor(min_value))
        s = s + padding
        o = torch.matmul(F.softmax(s, dim=-1), v).permute(0, 2, 1, 3).reshape(B, T, d)
        h = h + conv1d(o, p + ".attn.c_proj")
        m = F.layer_norm(h, (d,), w[p + ".ln_2.weight"], w[p + ".ln_2.bias"], eps)
        h = h + conv1d(gelu_new(conv1d(m, p + ".mlp.c_fc")), p + ".mlp.c_proj")
    h = F.layer_norm(h, (d,), w["transformer.ln_f.weight"], w["transformer.ln_f.bias"], eps)
    # Tied head unless the weights carry their own lm_head.weight (tie_word_embeddings false).
    return h @ w.get("lm_head.weight", w["transformer.wte.weight"]).T


def causal_lm_loss(logits, labels):
    V = logits.shape[-1]
    return F.cross_entropy(logits[:, :-1, :].reshape(-1, V), labels[:, 1:].reshape(-1), ignore_index=-100)


def main():
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(20240517)
    weights = make_weights(g)
    adapter = make_adapter(g)
    ids = torch.randint(1, CONFIG["vocab_size"], (BATCH, SEQ), generator=g)
    mask = torch.zeros(BATCH, SEQ, dtype=torch.long)
    for b, n in enumerate(LENGTHS):
        mask[b, :n] = 1
    ids = ids * mask  # pad token 0
    labels = ids.masked_fill(mask == 0, -100)

    expected = {}
    # LoRA: base frozen, adapters trainable.
    lw = {k: v.clone() for k, v in weights.items()}
    la = {k: v.clone().requires_grad_(True) for k, v in adapter.items()}
    logits = forward(lw, la, ids, mask)
    loss = causal_lm_loss(logits, labels)
    loss.backward()
    expected["lora.loss"] = loss.detach().reshape(1)
    expected["lora.logits"] = logits.detach()
    for k, v in la.items():
        expected[f"lora.grad.{k}"] = v.grad
    # Full fine-tuning: every base weight trainable, no adapters.
    fw = {k: v.clone().requires_grad_(True) for k, v in weights.items()}
    logits = forward(fw, None, ids, mask)
    loss = causal_lm_loss(logits, labels)
    loss.backward()
    expected["full.loss"] = loss.detach().reshape(1)
    expected["full.logits"] = logits.detach()
    for k, v in fw.items():
        expected[f"full.grad.{k}"] = v.grad

    os.makedirs(OUT, exist_ok=True)
    save_safetensors(os.path.join(OUT, "weights.safetensors"), weights)
    save_safetensors(os.path.join(OUT, "adapter.safetensors"), adapter)
    wte = weights["transformer.wte.weight"]
    save_safetensors(os.path.join(OUT, "mixed.safetensors"), {"wte.f16": wte.half(), "wte.bf16": wte.bfloat16()})
    save_safetensors(os.path.join(OUT, "expected.safetensors"), {k: v.contiguous() for k, v in expected.items()})
    manifest = dict(config=CONFIG, lora=LORA, input_ids=ids.tolist(), attention_mask=mask.tolist(),
                    labels=labels.tolist(), torch=torch.__version__,
                    sha256={**{k: sha(v) for k, v in weights.items()},
                            "wte.f16": sha(wte.half().float()), "wte.bf16": sha(wte.bfloat16().float())})
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print(f"lora loss {expected['lora.loss'].item():.6f}  full loss {expected['full.loss'].item():.6f}")

    # Round trip through Tunekit's reader and writer (TypeScript), compared bit for bit.
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npx", "tsx", "tests/golden/safetensors-roundtrip.ts",
                        os.path.join(OUT, "weights.safetensors"), tmp], cwd=ROOT, check=True)
        for suffix, convert in (("f32", lambda t: t), ("f16", lambda t: t.half()), ("bf16", lambda t: t.bfloat16())):
            ours = load_safetensors(os.path.join(tmp, f"weights.{suffix}.safetensors"))
            assert list(ours) == list(weights), f"{suffix}: tensor names or order differ"
            for k, v in weights.items():
                assert tensor_bytes(ours[k]) == tensor_bytes(convert(v)), f"{suffix}: {k} differs"
    print("safetensors round trip: bit-exact (F32, F16, BF16)")


if __name__ == "__main__":
    sys.exit(main())
