#!/usr/bin/python3
"""Tiny random BERT, DistilBERT and RoBERTa checkpoints in the exact layouts of bert-base-uncased,
distilbert-base-uncased and roberta-base, with PyTorch outputs.

    /usr/bin/python3 tests/golden/encoder_checkpoint_layouts.py

For each family writes packages/trainer/src/models/fixtures/layouts/<name>/:
- config.json + model.safetensors: the public *pretraining* checkpoint's layout (key names, key
  order, dtype F32, config fields; tiny sizes): no classifier, pretraining heads present;
- adapter/: a PEFT SEQ_CLS LoRA adapter (r 2, alpha 4, query/value or q_lin/v_lin) with a trained
  classification head in modules_to_save (DistilBERT: pre_classifier and classifier, since a
  pretraining checkpoint has neither);
- classifier/: the family's *ForSequenceClassification checkpoint as transformers' save_pretrained
  writes it after fine-tuning (LayerNorm weight/bias, trained head, id2label), a different model;
- expected.safetensors: base.last_hidden_state (+ base.pooler_output for BERT), adapter.last_hidden_state,
  adapter.logits, classifier.logits for encoders.json's input_ids / attention_mask.
and layouts/encoders.json (inputs, key lists). The forward passes follow transformers'
BertModel/BertForSequenceClassification, RobertaModel/RobertaForSequenceClassification and
DistilBertModel/DistilBertForSequenceClassification (eager attention, finfo.min additive mask, erf
GELU, post-LayerNorm blocks, RoBERTa's padding-offset positions), written out as in bert_lora.py (no
transformers or PEFT on this machine).

Sources (what was copied, from where, and each deliberate difference) are recorded in
packages/trainer/src/models/fixtures/layouts/SOURCES.md. In short, as the Hub's model.safetensors
files hold them (key names, dtypes; safetensors orders keys by dtype, descending, then name):
- bert-base-uncased (config.json field set of google-bert/bert-base-uncased, transformers 4.6.0.dev0):
  `bert.*` with LayerNorm `gamma`/`beta` (also in `cls.predictions.transform.LayerNorm`),
  `bert.pooler.dense.*`, `cls.predictions.bias`, `cls.predictions.transform.*`, `cls.seq_relationship.*`;
  no `cls.predictions.decoder.weight` (tied, dropped when the file was converted) and no position_ids:
  F32 110,106,428 elements, exactly those tensors at full size.
- distilbert-base-uncased (config.json field set, transformers 4.10.0.dev0): `distilbert.*`,
  `vocab_transform.*`, `vocab_layer_norm.*`, `vocab_projector.bias` (its weight tied, not stored).
- roberta-base (config.json field set): `roberta.*` WITHOUT a pooler, `lm_head.bias`, `lm_head.dense.*`,
  `lm_head.layer_norm.*` (decoder tied, not stored), and the I64 buffer `roberta.embeddings.position_ids`
  [1, max_position_embeddings] (F32 124,697,433 + I64 514 elements).
"""
import json, math, os, shutil, struct, sys
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_lora  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "packages", "trainer", "src", "models", "fixtures", "layouts")
V, D, L, H, I, LABELS = 40, 24, 2, 12, 24, 2  # 12 heads of size 2, as the published 12 of 64
LORA_R, LORA_ALPHA = 2, 4
LENGTHS, SEQ = [7, 5], 7
ID2LABEL = {"0": "NEGATIVE", "1": "POSITIVE"}

CONFIGS = {
    "bert-base-uncased": dict(
        architectures=["BertForMaskedLM"], attention_probs_dropout_prob=0.1, gradient_checkpointing=False,
        hidden_act="gelu", hidden_dropout_prob=0.1, hidden_size=D, initializer_range=0.02, intermediate_size=I,
        layer_norm_eps=1e-12, max_position_embeddings=20, model_type="bert", num_attention_heads=H,
        num_hidden_layers=L, pad_token_id=0, position_embedding_type="absolute", transformers_version="4.6.0.dev0",
        type_vocab_size=2, use_cache=True, vocab_size=V),
    "distilbert-base-uncased": dict(
        activation="gelu", architectures=["DistilBertForMaskedLM"], attention_dropout=0.1, dim=D, dropout=0.1,
        hidden_dim=I, initializer_range=0.02, max_position_embeddings=20, model_type="distilbert", n_heads=H,
        n_layers=L, pad_token_id=0, qa_dropout=0.1, seq_classif_dropout=0.2, sinusoidal_pos_embds=False,
        tie_weights_=True, transformers_version="4.10.0.dev0", vocab_size=V),
    "roberta-base": dict(
        architectures=["RobertaForMaskedLM"], attention_probs_dropout_prob=0.1, bos_token_id=0, eos_token_id=2,
        hidden_act="gelu", hidden_dropout_prob=0.1, hidden_size=D, initializer_range=0.02, intermediate_size=I,
        layer_norm_eps=1e-05, max_position_embeddings=22, model_type="roberta", num_attention_heads=H,
        num_hidden_layers=L, pad_token_id=1, type_vocab_size=1, vocab_size=V),
}
CLASSIFIER_ARCHITECTURE = {"bert-base-uncased": "BertForSequenceClassification",
                           "distilbert-base-uncased": "DistilBertForSequenceClassification",
                           "roberta-base": "RobertaForSequenceClassification"}


def save_safetensors(path, tensors):
    """gpt2_lora.save_safetensors, with I64 tensors (RoBERTa's position_ids buffer) as well."""
    header, offset, blobs = {"__metadata__": {"format": "pt"}}, 0, []
    for name, t in tensors.items():
        t = t.contiguous()
        b = t.numpy().tobytes() if t.dtype == torch.int64 else gpt2_lora.tensor_bytes(t)
        dtype = "I64" if t.dtype == torch.int64 else gpt2_lora.DT[t.dtype]
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def family(name):
    return CONFIGS[name]["model_type"]


def layer_names(kind, i):
    if kind == "distilbert":
        p = f"distilbert.transformer.layer.{i}."
        return dict(q=p + "attention.q_lin", k=p + "attention.k_lin", v=p + "attention.v_lin", o=p + "attention.out_lin",
                    n1=p + "sa_layer_norm", f1=p + "ffn.lin1", f2=p + "ffn.lin2", n2=p + "output_layer_norm")
    p = f"{kind}.encoder.layer.{i}."
    return dict(q=p + "attention.self.query", k=p + "attention.self.key", v=p + "attention.self.value",
                o=p + "attention.output.dense", n1=p + "attention.output.LayerNorm", f1=p + "intermediate.dense",
                f2=p + "output.dense", n2=p + "output.LayerNorm")


def head_modules(kind):
    return {"bert": ["classifier"], "roberta": ["classifier.dense", "classifier.out_proj"],
            "distilbert": ["pre_classifier", "classifier"]}[kind]


def encoder_weights(kind, c, g):
    """The encoder's weights under transformers' module names (LayerNorm weight/bias)."""
    r = lambda *s, std=0.2: torch.randn(*s, generator=g) * std
    P = c["max_position_embeddings"]
    e = "distilbert.embeddings." if kind == "distilbert" else f"{kind}.embeddings."
    w = {e + "word_embeddings.weight": r(V, D, std=0.5), e + "position_embeddings.weight": r(P, D, std=0.3)}
    if kind != "distilbert":
        w[e + "token_type_embeddings.weight"] = r(c["type_vocab_size"], D, std=0.3)
    w[e + "LayerNorm.weight"] = 1 + r(D, std=0.1)
    w[e + "LayerNorm.bias"] = r(D, std=0.1)
    for i in range(L):
        n = layer_names(kind, i)
        for key, fin, fout in (("q", D, D), ("k", D, D), ("v", D, D), ("o", D, D), ("f1", D, I), ("f2", I, D)):
            w[n[key] + ".weight"] = r(fout, fin, std=1 / math.sqrt(fin))
            w[n[key] + ".bias"] = r(fout, std=0.1)
        for key in ("n1", "n2"):
            w[n[key] + ".weight"] = 1 + r(D, std=0.1)
            w[n[key] + ".bias"] = r(D, std=0.1)
    if kind == "bert":
        w["bert.pooler.dense.weight"] = r(D, D, std=0.3)
        w["bert.pooler.dense.bias"] = r(D, std=0.1)
    return w


def pretraining_heads(kind, g):
    r = lambda *s, std=0.2: torch.randn(*s, generator=g) * std
    if kind == "bert":
        return {"cls.predictions.bias": r(V), "cls.predictions.transform.dense.weight": r(D, D),
                "cls.predictions.transform.dense.bias": r(D), "cls.predictions.transform.LayerNorm.weight": 1 + r(D),
                "cls.predictions.transform.LayerNorm.bias": r(D), "cls.seq_relationship.weight": r(2, D),
                "cls.seq_relationship.bias": r(2)}
    if kind == "roberta":
        return {"lm_head.bias": r(V),
                "lm_head.dense.weight": r(D, D), "lm_head.dense.bias": r(D), "lm_head.layer_norm.weight": 1 + r(D),
                "lm_head.layer_norm.bias": r(D)}
    return {"vocab_transform.weight": r(D, D), "vocab_transform.bias": r(D), "vocab_layer_norm.weight": 1 + r(D),
            "vocab_layer_norm.bias": r(D), "vocab_projector.bias": r(V)}


def classification_head(kind, g, scale=0.5):
    r = lambda *s, std=0.2: torch.randn(*s, generator=g) * std
    w = {}
    modules = head_modules(kind)
    for j, m in enumerate(modules):
        fout = LABELS if j == len(modules) - 1 else D
        w[m + ".weight"] = r(fout, D, std=scale)
        w[m + ".bias"] = r(fout, std=0.1)
    return w


def forward(kind, c, w, adapter, ids, mask):
    """(last_hidden_state, pooler_output or None, logits or None) as transformers computes them."""
    eps = 1e-12 if kind == "distilbert" else c["layer_norm_eps"]
    scaling = LORA_ALPHA / LORA_R

    def weight(name):
        if adapter is not None and f"base_model.model.{name}" in adapter:
            return adapter[f"base_model.model.{name}"]
        return w[name]

    def linear(x, path):
        y = F.linear(x, weight(path + ".weight"), weight(path + ".bias"))
        if adapter is not None and f"base_model.model.{path}.lora_A.weight" in adapter:
            A = adapter[f"base_model.model.{path}.lora_A.weight"]
            B = adapter[f"base_model.model.{path}.lora_B.weight"]
            y = y + (x @ A.t() @ B.t()) * scaling
        return y

    def ln(x, path):
        return F.layer_norm(x, (D,), w[path + ".weight"], w[path + ".bias"], eps)

    S = ids.shape[1]
    e = "distilbert.embeddings." if kind == "distilbert" else f"{kind}.embeddings."
    if kind == "roberta":
        m = ids.ne(c["pad_token_id"]).int()
        pos = (torch.cumsum(m, dim=1).type_as(m) * m).long() + c["pad_token_id"]
    else:
        pos = torch.arange(S).unsqueeze(0).expand_as(ids)
    x = F.embedding(ids, w[e + "word_embeddings.weight"]) + F.embedding(pos, w[e + "position_embeddings.weight"])
    if kind != "distilbert":
        x = x + F.embedding(torch.zeros_like(ids), w[e + "token_type_embeddings.weight"])
    x = ln(x, e + "LayerNorm")
    ext = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
    hd = D // H
    split = lambda t: t.view(t.shape[0], S, H, hd).transpose(1, 2)
    for i in range(L):
        n = layer_names(kind, i)
        q, k, v = split(linear(x, n["q"])), split(linear(x, n["k"])), split(linear(x, n["v"]))
        if kind == "distilbert":
            scores = (q / math.sqrt(hd)) @ k.transpose(-1, -2)
            scores = scores.masked_fill((mask == 0).view(mask.shape[0], 1, 1, S), torch.finfo(torch.float32).min)
        else:
            scores = q @ k.transpose(-1, -2) / math.sqrt(hd) + ext
        ctx = (scores.softmax(-1) @ v).transpose(1, 2).reshape(x.shape[0], S, D)
        x = ln(linear(ctx, n["o"]) + x, n["n1"])
        x = ln(linear(F.gelu(linear(x, n["f1"])), n["f2"]) + x, n["n2"])
    first = x[:, 0]
    pooled = torch.tanh(linear(first, "bert.pooler.dense")) if kind == "bert" else None
    has_head = all(f"{m}.weight" in w or (adapter is not None and f"base_model.model.{m}.weight" in adapter)
                   for m in head_modules(kind))
    logits = None
    if has_head:
        if kind == "bert":
            logits = linear(pooled, "classifier")
        elif kind == "roberta":
            logits = linear(torch.tanh(linear(first, "classifier.dense")), "classifier.out_proj")
        else:
            logits = linear(F.relu(linear(first, "pre_classifier")), "classifier")
    return x, pooled, logits


def to_checkpoint_names(kind, w):
    """bert-base-uncased keeps TensorFlow's LayerNorm gamma/beta names."""
    if kind != "bert":
        return dict(w)
    return {k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): v
            for k, v in w.items()}


def lora_adapter(kind, g, head):
    a = {}
    targets = ["q_lin", "v_lin"] if kind == "distilbert" else ["query", "value"]
    for i in range(L):
        n = layer_names(kind, i)
        for key in ("q", "v"):
            a[f"base_model.model.{n[key]}.lora_A.weight"] = (torch.rand(LORA_R, D, generator=g) * 2 - 1) / math.sqrt(D)
            a[f"base_model.model.{n[key]}.lora_B.weight"] = torch.randn(D, LORA_R, generator=g) * 0.3
    for name, t in head.items():
        a[f"base_model.model.{name}"] = t
    return a, targets


def main():
    torch.set_num_threads(1)
    manifest = {"lora": {"r": LORA_R, "alpha": LORA_ALPHA}, "fixtures": {}}
    for seed, (name, c) in enumerate(CONFIGS.items()):
        kind = family(name)
        g = torch.Generator().manual_seed(4242 + seed)
        out = os.path.join(OUT, name)
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(os.path.join(out, "adapter"))
        os.makedirs(os.path.join(out, "classifier"))
        encoder = encoder_weights(kind, c, g)
        stored = to_checkpoint_names(kind, {**encoder, **pretraining_heads(kind, g)})
        stored = dict(sorted(stored.items()))
        if kind == "roberta":
            # roberta-base's file keeps the position_ids buffer (I64), first: safetensors writes
            # tensors by dtype (descending), then by name.
            positions = torch.arange(c["max_position_embeddings"], dtype=torch.int64).view(1, -1)
            stored = {"roberta.embeddings.position_ids": positions, **stored}
        save_safetensors(os.path.join(out, "model.safetensors"), stored)
        with open(os.path.join(out, "config.json"), "w") as f:
            f.write(json.dumps(c, indent=2, sort_keys=True) + "\n")
        head = classification_head(kind, g)
        adapter, targets = lora_adapter(kind, g, head)
        save_safetensors(os.path.join(out, "adapter", "adapter_model.safetensors"), adapter)
        json.dump({"peft_type": "LORA", "task_type": "SEQ_CLS", "base_model_name_or_path": name, "r": LORA_R,
                   "lora_alpha": LORA_ALPHA, "lora_dropout": 0.1, "target_modules": targets, "fan_in_fan_out": False,
                   "bias": "none", "use_rslora": False, "use_dora": False, "init_lora_weights": True,
                   "modules_to_save": sorted({m.split(".")[0] for m in head_modules(kind)}),
                   "rank_pattern": {}, "alpha_pattern": {}, "inference_mode": True},
                  open(os.path.join(out, "adapter", "adapter_config.json"), "w"), indent=2)
        # A fine-tuned classifier as transformers saves it: new module names, trained head, no pretraining heads.
        fine = {k: v + torch.randn(v.shape, generator=g) * 0.02 for k, v in encoder.items()}
        fine.update(classification_head(kind, g))
        if kind == "roberta":
            fine = {k: v for k, v in fine.items() if not k.startswith("roberta.pooler.")}
        save_safetensors(os.path.join(out, "classifier", "model.safetensors"), fine)
        classifier_config = dict(c, architectures=[CLASSIFIER_ARCHITECTURE[name]], id2label=ID2LABEL,
                                 label2id={v: int(k) for k, v in ID2LABEL.items()}, problem_type="single_label_classification",
                                 torch_dtype="float32", transformers_version="4.46.3")
        json.dump(classifier_config, open(os.path.join(out, "classifier", "config.json"), "w"), indent=2)

        pad = c["pad_token_id"]
        ids = torch.randint(3, V, (len(LENGTHS), SEQ), generator=g)
        mask = torch.zeros(len(LENGTHS), SEQ, dtype=torch.long)
        for b, n in enumerate(LENGTHS):
            mask[b, :n] = 1
        ids = ids.masked_fill(mask == 0, pad)
        expected = {}
        with torch.no_grad():
            hidden, pooled, logits = forward(kind, c, encoder, None, ids, mask)
            assert logits is None
            expected["base.last_hidden_state"] = hidden
            if pooled is not None:
                expected["base.pooler_output"] = pooled
            hidden, _, logits = forward(kind, c, encoder, adapter, ids, mask)
            expected["adapter.last_hidden_state"] = hidden
            expected["adapter.logits"] = logits
            _, _, logits = forward(kind, c, fine, None, ids, mask)
            expected["classifier.logits"] = logits
        save_safetensors(os.path.join(out, "expected.safetensors"), {k: v.contiguous() for k, v in expected.items()})
        manifest["fixtures"][name] = {"input_ids": ids.tolist(), "attention_mask": mask.tolist(), "keys": list(stored),
                                      "classifier_keys": list(fine), "target_modules": targets,
                                      "heads": [k for k in stored if k not in to_checkpoint_names(kind, encoder)
                                                and not k.endswith("position_ids")]}
        print(name, len(stored), "tensors;", {k: tuple(v.shape) for k, v in expected.items()})
    with open(os.path.join(OUT, "encoders.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
