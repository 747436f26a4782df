#!/usr/bin/python3
"""Golden values for @tunekit/trainer's DPO graph, computed with PyTorch.

    /usr/bin/python3 tests/golden/dpo.py

Reuses the tiny GPT-2 and its LoRA adapter written by gpt2_lora.py (packages/trainer/src/models/gpt2/
fixtures/weights.safetensors and adapter.safetensors) and that script's model code (Hugging Face's
GPT2LMHeadModel with PEFT's LoRA, written out in torch). The DPO loss is TRL's `sigmoid` loss
(Rafailov et al., 2023):

    pi = sum over completion tokens of log p(token) under the policy (base + adapter),
    ref = the same under the reference model (the base model: PEFT's adapter disabled),
    loss = mean over pairs of -log sigmoid(beta * ((pi_c - ref_c) - (pi_r - ref_r))).

Rows: the B chosen sequences, then their B rejected sequences (prompt tokens and padding labelled
-100, right padding). Writes gpt2/fixtures/dpo.expected.safetensors (loss, the policy and reference
sequence log probabilities, every LoRA gradient) and gpt2/fixtures/dpo.manifest.json (the batch).
"""
import json, os, sys
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_lora as gpt2  # noqa: E402

OUT = gpt2.OUT
BETA = 0.5
PAIRS, SEQ = 2, 12
PROMPTS = [4, 6]          # prompt lengths per pair
CHOSEN = [6, 5]           # completion lengths of the chosen rows
REJECTED = [8, 3]         # completion lengths of the rejected rows


def sequence_log_probabilities(logits, labels):
    shifted = labels[:, 1:]
    log_probs = F.log_softmax(logits[:, :-1, :], dim=-1)
    mask = shifted != -100
    picked = torch.gather(log_probs, 2, shifted.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (picked * mask).sum(dim=1)


def main():
    torch.set_num_threads(1)
    weights = gpt2.load_safetensors(os.path.join(OUT, "weights.safetensors"))
    adapter = gpt2.load_safetensors(os.path.join(OUT, "adapter.safetensors"))
    g = torch.Generator().manual_seed(7)
    rows, masks, labels = [], [], []
    for completion_lengths in (CHOSEN, REJECTED):
        for pair in range(PAIRS):
            prompt = PROMPTS[pair]
            length = prompt + completion_lengths[pair]
            ids = torch.zeros(SEQ, dtype=torch.long)
            ids[:length] = torch.randint(1, gpt2.CONFIG["vocab_size"], (length,), generator=g)
            mask = torch.zeros(SEQ, dtype=torch.long)
            mask[:length] = 1
            label = ids.clone()
            label[:prompt] = -100
            label[length:] = -100
            rows.append(ids); masks.append(mask); labels.append(label)
    # The rejected row of a pair repeats its chosen row's prompt.
    for pair in range(PAIRS):
        rows[PAIRS + pair][:PROMPTS[pair]] = rows[pair][:PROMPTS[pair]]
    ids, mask, labels = torch.stack(rows), torch.stack(masks), torch.stack(labels)

    with torch.no_grad():
        reference = sequence_log_probabilities(gpt2.forward(weights, None, ids, mask), labels)
    trainable = {k: v.clone().requires_grad_(True) for k, v in adapter.items()}
    policy = sequence_log_probabilities(gpt2.forward(weights, trainable, ids, mask), labels)
    margins = policy - reference
    z = BETA * (margins[:PAIRS] - margins[PAIRS:])
    loss = -F.logsigmoid(z).mean()
    loss.backward()

    expected = {"loss": loss.detach().reshape(1), "policy": policy.detach(), "reference": reference}
    for k, v in trainable.items():
        expected[f"grad.{k}"] = v.grad
    gpt2.save_safetensors(os.path.join(OUT, "dpo.expected.safetensors"),
                          {k: v.contiguous() for k, v in expected.items()})
    manifest = dict(beta=BETA, pairs=PAIRS, input_ids=ids.tolist(), attention_mask=mask.tolist(),
                    labels=labels.tolist(), torch=torch.__version__)
    with open(os.path.join(OUT, "dpo.manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print(f"dpo loss {loss.item():.6f}  z {z.tolist()}")


if __name__ == "__main__":
    main()
