#!/usr/bin/python3
"""PEFT's PiSSA and OLoRA initialisations computed with PyTorch, for @tunekit/trainer's
initializeFromBaseWeights.

    /usr/bin/python3 tests/golden/pissa_olora.py

Writes packages/trainer/src/lora/fixtures/pissa-olora.safetensors and pissa-olora.json. The
initialisations are PEFT's LoraLayer.pissa_init and olora_init (peft/tuners/lora/layer.py, written out
here: no peft on this machine), on float32 weights:
- pissa: weight = transpose(W, fan_in_fan_out); V, S, Uh = torch.linalg.svd(weight, full_matrices=False);
  Sr = S[:r] / scaling; lora_A = diag(sqrt(Sr)) @ Uh[:r]; lora_B = V[:, :r] @ diag(sqrt(Sr));
  residual = weight - scaling * lora_B @ lora_A (transposed back);
- pissa_niter_K: the same with Vr, Sr, Ur = torch.svd_lowrank(weight, r, niter=K) (randomized: compare
  its B·A with the exact one, not value by value);
- olora: Q, R = torch.linalg.qr(W) on the stored weight; lora_A = R[:r]; lora_B = Q[:, :r];
  residual = W - scaling * lora_B @ lora_A (Linear layers only: PEFT does not transpose Conv1D here).
Cases: a tall Linear [12, 8], a wide Linear [6, 10] and a Conv1D stored [in 8, out 12]; r 3, alpha 6.
"""
import json, os, sys
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt2_lora import save_safetensors  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "packages", "trainer", "src", "lora", "fixtures")
R, ALPHA = 3, 6.0
SCALING = ALPHA / R


def pissa(weight, fan_in_fan_out, niter=None):
    w = weight.t() if fan_in_fan_out else weight
    if niter is None:
        V, S, Uh = torch.linalg.svd(w, full_matrices=False)
        Vr, Sr, Uhr = V[:, :R], S[:R].clone(), Uh[:R]
    else:
        Vr, Sr, Ur = torch.svd_lowrank(w, R, niter=niter)
        Uhr = Ur.t()
    Sr /= SCALING
    A = torch.diag(torch.sqrt(Sr)) @ Uhr
    B = Vr @ torch.diag(torch.sqrt(Sr))
    residual = w - SCALING * B @ A
    return A, B, residual.t() if fan_in_fan_out else residual


def olora(weight):
    Q, Rm = torch.linalg.qr(weight)
    A, B = Rm[:R].contiguous(), Q[:, :R].contiguous()
    return A, B, weight - SCALING * B @ A


def main():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1717)
    cases = {"tall": ([12, 8], False), "wide": ([6, 10], False), "conv1d": ([8, 12], True)}
    tensors, manifest = {}, {"r": R, "alpha": ALPHA, "cases": {}}
    for name, (shape, fan_in_fan_out) in cases.items():
        # A decaying spectrum, so the top-r subspace is well separated (and svd_lowrank finds it).
        out, inp = (shape[1], shape[0]) if fan_in_fan_out else shape
        U, _ = torch.linalg.qr(torch.randn(out, out, generator=g))
        Vt, _ = torch.linalg.qr(torch.randn(inp, inp, generator=g))
        k = min(out, inp)
        S = torch.tensor([2.0 * 0.6 ** i for i in range(k)])
        w = (U[:, :k] * S) @ Vt[:k] + torch.randn(out, inp, generator=g) * 1e-3
        weight = w.t().contiguous() if fan_in_fan_out else w
        tensors[f"{name}.weight"] = weight
        modes = {"pissa": pissa(weight, fan_in_fan_out), "pissa_niter_4": pissa(weight, fan_in_fan_out, niter=4)}
        if not fan_in_fan_out:
            modes["olora"] = olora(weight)
        for mode, (A, B, residual) in modes.items():
            tensors[f"{name}.{mode}.lora_A"] = A.contiguous()
            tensors[f"{name}.{mode}.lora_B"] = B.contiguous()
            tensors[f"{name}.{mode}.residual"] = residual.contiguous()
        manifest["cases"][name] = {"shape": shape, "fan_in_fan_out": fan_in_fan_out, "modes": list(modes)}
    os.makedirs(OUT, exist_ok=True)
    save_safetensors(os.path.join(OUT, "pissa-olora.safetensors"), tensors)
    with open(os.path.join(OUT, "pissa-olora.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print("wrote", len(tensors), "tensors")


if __name__ == "__main__":
    main()
