#!/usr/bin/python3
"""Golden fixtures for @tunekit/trainer's BERT-family sequence classifiers (+ LoRA), with PyTorch.

Run with Debian's python3-torch:

    /usr/bin/python3 tests/golden/bert_lora.py

Writes packages/trainer/src/models/bert/fixtures/<variant>.{weights,adapter,expected}.safetensors and
manifest.json for tiny random BERT, RoBERTa and DistilBERT classifiers (vocab 53, 2 layers, d 16,
2 heads, 3 labels, batch 3 x 9 with right padding). The models are written out here (no
transformers/peft on this machine) following Hugging Face's BertForSequenceClassification,
RobertaForSequenceClassification and DistilBertForSequenceClassification (eager attention with the
finfo.min additive mask, erf GELU, post-LayerNorm blocks, RoBERTa's padding-offset positions) and
PEFT's LoRA on query/value (q_lin/v_lin) with the classifier head trained as `modules_to_save`.
Expected: loss (mean cross-entropy), logits, every LoRA and head gradient (LoRA run) and every weight
gradient (full fine-tuning run).
"""
import json, math, os, sys
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt2_lora import save_safetensors  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "packages", "trainer", "src", "models", "bert", "fixtures")
V, D, L, H, I, P, LABELS = 53, 16, 2, 2, 40, 24, 3
BATCH, SEQ, LENGTHS = 3, 9, [9, 6, 4]
LORA = dict(r=4, alpha=8, dropout=0.0)
id2label = {str(i): f"class_{i}" for i in range(LABELS)}
CONFIGS = {
    "bert": dict(model_type="bert", vocab_size=V, hidden_size=D, num_hidden_layers=L, num_attention_heads=H,
                 intermediate_size=I, max_position_embeddings=P, type_vocab_size=2, layer_norm_eps=1e-12,
                 pad_token_id=0, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, id2label=id2label),
    "roberta": dict(model_type="roberta", vocab_size=V, hidden_size=D, num_hidden_layers=L, num_attention_heads=H,
                    intermediate_size=I, max_position_embeddings=P, type_vocab_size=1, layer_norm_eps=1e-5,
                    pad_token_id=1, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, id2label=id2label),
    "distilbert": dict(model_type="distilbert", vocab_size=V, dim=D, n_layers=L, n_heads=H, hidden_dim=I,
                       max_position_embeddings=P, pad_token_id=0, dropout=0.0, attention_dropout=0.0,
                       seq_classif_dropout=0.0, id2label=id2label),
}


def names(variant):
    if variant == "distilbert":
        p = "distilbert"
        emb = dict(word=f"{p}.embeddings.word_embeddings", pos=f"{p}.embeddings.position_embeddings", type=None,
                   norm=f"{p}.embeddings.LayerNorm")
        layer = lambda i: dict(q=f"{p}.transformer.layer.{i}.attention.q_lin", k=f"{p}.transformer.layer.{i}.attention.k_lin",
                               v=f"{p}.transformer.layer.{i}.attention.v_lin", o=f"{p}.transformer.layer.{i}.attention.out_lin",
                               n1=f"{p}.transformer.layer.{i}.sa_layer_norm", f1=f"{p}.transformer.layer.{i}.ffn.lin1",
                               f2=f"{p}.transformer.layer.{i}.ffn.lin2", n2=f"{p}.transformer.layer.{i}.output_layer_norm")
        return emb, layer, ["pre_classifier", "classifier"], ["classifier"], ["q_lin", "v_lin"]
    p = variant
    emb = dict(word=f"{p}.embeddings.word_embeddings", pos=f"{p}.embeddings.position_embeddings",
               type=f"{p}.embeddings.token_type_embeddings", norm=f"{p}.embeddings.LayerNorm")
    layer = lambda i: dict(q=f"{p}.encoder.layer.{i}.attention.self.query", k=f"{p}.encoder.layer.{i}.attention.self.key",
                           v=f"{p}.encoder.layer.{i}.attention.self.value", o=f"{p}.encoder.layer.{i}.attention.output.dense",
                           n1=f"{p}.encoder.layer.{i}.attention.output.LayerNorm", f1=f"{p}.encoder.layer.{i}.intermediate.dense",
                           f2=f"{p}.encoder.layer.{i}.output.dense", n2=f"{p}.encoder.layer.{i}.output.LayerNorm")
    if variant == "roberta":
        return emb, layer, ["classifier.dense", "classifier.out_proj"], ["classifier.dense", "classifier.out_proj"], ["query", "value"]
    return emb, layer, ["bert.pooler.dense", "classifier"], ["classifier"], ["query", "value"]


def make_weights(variant, g):
    emb, layer, head, _, _ = names(variant)
    r = lambda *s, std=0.2: torch.randn(*s, generator=g) * std
    w = {emb["word"] + ".weight": r(V, D, std=0.5), emb["pos"] + ".weight": r(P, D, std=0.3)}
    if emb["type"]:
        w[emb["type"] + ".weight"] = r(CONFIGS[variant]["type_vocab_size"], D, std=0.3)
    w[emb["norm"] + ".weight"] = 1 + r(D, std=0.1); w[emb["norm"] + ".bias"] = r(D, std=0.1)
    for i in range(L):
        n = layer(i)
        for key, fin, fout in (("q", D, D), ("k", D, D), ("v", D, D), ("o", D, D), ("f1", D, I), ("f2", I, D)):
            w[n[key] + ".weight"] = r(fout, fin, std=1 / math.sqrt(fin)); w[n[key] + ".bias"] = r(fout, std=0.1)
        for key in ("n1", "n2"):
            w[n[key] + ".weight"] = 1 + r(D, std=0.1); w[n[key] + ".bias"] = r(D, std=0.1)
    for j, path in enumerate(head):
        fout = LABELS if j == len(head) - 1 else D
        w[path + ".weight"] = r(fout, D, std=0.5); w[path + ".bias"] = r(fout, std=0.1)
    return w


def lora_modules(variant):
    _, layer, _, _, targets = names(variant)
    for i in range(L):
        n = layer(i)
        yield n["q"]; yield n["v"]
    assert targets


def make_adapter(variant, weights, g):
    a = {}
    for path in lora_modules(variant):
        a[f"base_model.model.{path}.lora_A.weight"] = (torch.rand(LORA["r"], D, generator=g) * 2 - 1) / math.sqrt(D)
        a[f"base_model.model.{path}.lora_B.weight"] = torch.randn(D, LORA["r"], generator=g) * 0.2
    _, _, _, saved, _ = names(variant)
    for module in saved:
        for kind in ("weight", "bias"):
            # A trained head differs from the base one.
            a[f"base_model.model.{module}.{kind}"] = weights[f"{module}.{kind}"] + torch.randn(weights[f"{module}.{kind}"].shape, generator=g) * 0.1
    return a


def forward(variant, w, adapter, ids, mask):
    cfg = CONFIGS[variant]
    emb, layer, head, saved, _ = names(variant)
    eps = 1e-12 if variant == "distilbert" else cfg["layer_norm_eps"]
    scaling = LORA["alpha"] / LORA["r"]

    def weight(name):
        if adapter is not None and f"base_model.model.{name}" in adapter:
            return adapter[f"base_model.model.{name}"]
        return w[name]

    def linear(x, path):
        y = F.linear(x, weight(path + ".weight"), weight(path + ".bias"))
        if adapter is not None and f"base_model.model.{path}.lora_A.weight" in adapter:
            A = adapter[f"base_model.model.{path}.lora_A.weight"]; B = adapter[f"base_model.model.{path}.lora_B.weight"]
            y = y + (x @ A.t() @ B.t()) * scaling
        return y

    def ln(x, path):
        return F.layer_norm(x, (D,), w[path + ".weight"], w[path + ".bias"], eps)

    S = ids.shape[1]
    if variant == "roberta":
        m = ids.ne(cfg["pad_token_id"]).int()
        pos = (torch.cumsum(m, dim=1).type_as(m) * m).long() + cfg["pad_token_id"]
    else:
        pos = torch.arange(S).unsqueeze(0).expand_as(ids)
    x = F.embedding(ids, w[emb["word"] + ".weight"]) + F.embedding(pos, w[emb["pos"] + ".weight"])
    if emb["type"]:
        x = x + F.embedding(torch.zeros_like(ids), w[emb["type"] + ".weight"])
    x = ln(x, emb["norm"])
    ext = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
    hd = D // H
    split = lambda t: t.view(t.shape[0], S, H, hd).transpose(1, 2)
    for i in range(L):
        n = layer(i)
        q, k, v = split(linear(x, n["q"])), split(linear(x, n["k"])), split(linear(x, n["v"]))
        if variant == "distilbert":
            q = q / math.sqrt(hd)
            scores = q @ k.transpose(-1, -2)
            scores = scores.masked_fill((mask == 0).view(mask.shape[0], 1, 1, S), torch.finfo(torch.float32).min)
        else:
            scores = q @ k.transpose(-1, -2) / math.sqrt(hd) + ext
        ctx = (scores.softmax(-1) @ v).transpose(1, 2).reshape(x.shape[0], S, D)
        x = ln(linear(ctx, n["o"]) + x, n["n1"])
        f = linear(F.gelu(linear(x, n["f1"])), n["f2"])
        x = ln(f + x, n["n2"])
    first = x[:, 0]
    if variant == "bert":
        return linear(torch.tanh(linear(first, "bert.pooler.dense")), "classifier")
    if variant == "roberta":
        return linear(torch.tanh(linear(first, "classifier.dense")), "classifier.out_proj")
    return linear(F.relu(linear(first, "pre_classifier")), "classifier")


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    manifest = dict(lora=dict(LORA, targetModules=None), torch=torch.__version__, variants={})
    for seed, variant in enumerate(CONFIGS):
        g = torch.Generator().manual_seed(777 + seed)
        weights = make_weights(variant, g)
        adapter = make_adapter(variant, weights, g)
        pad = CONFIGS[variant]["pad_token_id"]
        ids = torch.randint(3, V, (BATCH, SEQ), generator=g)
        mask = torch.zeros(BATCH, SEQ, dtype=torch.long)
        for b, n in enumerate(LENGTHS):
            mask[b, :n] = 1
        ids = ids.masked_fill(mask == 0, pad)
        labels = torch.tensor([2, 0, 1])
        expected = {}
        la = {k: v.clone().requires_grad_(True) for k, v in adapter.items()}
        logits = forward(variant, weights, la, ids, mask)
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        expected["lora.loss"] = loss.detach().reshape(1)
        expected["lora.logits"] = logits.detach()
        for k, v in la.items():
            expected[f"lora.grad.{k}"] = v.grad
        fw = {k: v.clone().requires_grad_(True) for k, v in weights.items()}
        logits = forward(variant, fw, None, ids, mask)
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        expected["full.loss"] = loss.detach().reshape(1)
        expected["full.logits"] = logits.detach()
        for k, v in fw.items():
            if v.grad is not None:
                expected[f"full.grad.{k}"] = v.grad
        save_safetensors(os.path.join(OUT, f"{variant}.weights.safetensors"), weights)
        save_safetensors(os.path.join(OUT, f"{variant}.adapter.safetensors"), adapter)
        save_safetensors(os.path.join(OUT, f"{variant}.expected.safetensors"), {k: v.contiguous() for k, v in expected.items()})
        manifest["variants"][variant] = dict(config=CONFIGS[variant], targetModules=names(variant)[4],
                                             input_ids=ids.tolist(), attention_mask=mask.tolist(), labels=labels.tolist())
        print(f"{variant}: lora loss {expected['lora.loss'].item():.6f}  full loss {expected['full.loss'].item():.6f}")
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
