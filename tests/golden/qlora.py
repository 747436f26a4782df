#!/usr/bin/python3
"""Golden values for @tunekit/trainer's QLoRA-style training graph (4-bit frozen base), with PyTorch.

    /usr/bin/python3 tests/golden/qlora.py

Reuses the tiny Llama written by llama_lora.py (packages/trainer/src/models/llama/fixtures/llama/:
weights, adapter, batch) and that script's model code (Hugging Face's LlamaForCausalLM with PEFT's
LoRA, written out in torch). Every frozen linear weight W [out, in] (q/k/v/o_proj, gate/up/down_proj;
not the embeddings, norms or LM head) is replaced by its int4 block quantization, implemented here
exactly as packages/trainer/src/quantization/quantize-int4-blocks.ts does it:

    blocks of BLOCK consecutive values along `in`;
    m     = the block's value of largest magnitude (first one on ties), sign kept;
    scale = m / -8                         (float32)
    q     = clamp(round_half_to_even(W / scale), -8, 7)   (0 where scale == 0)
    W'    = q * scale                       (float32)

The LoRA loss and gradients are then those of the model with W' (autograd uses the same W' forward
and backward, as Tunekit's default `backward: 'dequantize'` does). Writes
packages/trainer/src/quantization/fixtures/qlora.expected.safetensors (loss, logits, every LoRA
gradient, every block's scale, and layer 0's dequantized q_proj) and qlora.manifest.json.
"""
import json, os, sys
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llama_lora as llama  # noqa: E402
from gpt2_lora import load_safetensors, save_safetensors  # noqa: E402

FIXTURES = os.path.join(llama.OUT, "llama")
OUT = os.path.join(llama.ROOT, "packages", "trainer", "src", "quantization", "fixtures")
BLOCK = 16


def quantize_int4_blocks(w, block):
    """Returns (dequantized W', scales [out, in / block]) for W [out, in] float32."""
    rows, columns = w.shape
    blocks = w.reshape(rows, columns // block, block)
    index = blocks.abs().argmax(dim=-1, keepdim=True)  # first maximal value
    extreme = torch.gather(blocks, -1, index)
    scale = extreme / -8.0
    safe = torch.where(scale == 0, torch.ones_like(scale), scale)
    q = torch.clamp(torch.round(blocks / safe), -8, 7)  # torch.round: half to even
    q = torch.where(scale == 0, torch.zeros_like(q), q)
    return (q * scale).reshape(rows, columns), scale.reshape(rows, columns // block)


def main():
    torch.set_num_threads(1)
    c = llama.CONFIGS["llama"]
    manifest = json.load(open(os.path.join(FIXTURES, "manifest.json")))
    weights = load_safetensors(os.path.join(FIXTURES, "weights.safetensors"))
    adapter = load_safetensors(os.path.join(FIXTURES, "adapter.safetensors"))
    ids = torch.tensor(manifest["input_ids"])
    mask = torch.tensor(manifest["attention_mask"])
    labels = torch.tensor(manifest["labels"])

    expected = {}
    quantized = dict(weights)
    relative = []
    for path, fin, fout in llama.linear_modules(c):
        w = weights[path + ".weight"]
        dequantized, scales = quantize_int4_blocks(w, BLOCK)
        quantized[path + ".weight"] = dequantized
        expected[f"scales.{path}"] = scales
        relative.append(((dequantized - w).norm() / w.norm()).item())
    expected["dequantized.model.layers.0.self_attn.q_proj.weight"] = quantized[
        "model.layers.0.self_attn.q_proj.weight"]

    la = {k: v.clone().requires_grad_(True) for k, v in adapter.items()}
    logits = llama.forward(c, quantized, la, ids, mask)
    loss = llama.causal_lm_loss(logits, labels)
    loss.backward()
    expected["loss"] = loss.detach().reshape(1)
    expected["logits"] = logits.detach()
    for k, v in la.items():
        expected[f"grad.{k}"] = v.grad

    with torch.no_grad():
        float_loss = llama.causal_lm_loss(llama.forward(c, weights, adapter, ids, mask), labels).item()
    os.makedirs(OUT, exist_ok=True)
    save_safetensors(os.path.join(OUT, "qlora.expected.safetensors"),
                     {k: v.contiguous() for k, v in expected.items()})
    with open(os.path.join(OUT, "qlora.manifest.json"), "w") as f:
        json.dump(dict(model="models/llama/fixtures/llama", bits=4, blockSize=BLOCK,
                       float_lora_loss=float_loss, weight_relative_error=relative,
                       torch=torch.__version__), f)
        f.write("\n")
    print(f"qlora loss {loss.item():.6f} (float base {float_loss:.6f}); "
          f"weight relative error {min(relative):.4f}..{max(relative):.4f}")


if __name__ == "__main__":
    sys.exit(main())
