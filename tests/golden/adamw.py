#!/usr/bin/env python3
"""Golden fixture for Tunekit's AdamW: torch.optim.AdamW / torch.optim.Adam over 20 steps.

Run with a Python that has torch (here: /usr/bin/python3, Debian torch 1.13):
    /usr/bin/python3 tests/golden/adamw.py
Writes tests/golden/adamw.json: initial parameters, the gradient fed at each step, the learning
rate of each step, and the parameters after every step, for several configurations.
"""
import json, os
import torch

torch.manual_seed(1234)
STEPS = 20
SHAPES = [(7,), (3, 5)]


def run(name, make_optimizer):
    params = [torch.randn(*shape, dtype=torch.float32, requires_grad=True) for shape in SHAPES]
    initial = [p.detach().clone() for p in params]
    optimizer = make_optimizer(params)
    grads_per_step, lrs, after = [], [], []
    for step in range(STEPS):
        lr = 1e-2 * (0.5 + 0.5 * ((step * 7) % 5) / 4)  # varies like a schedule would
        for group in optimizer.param_groups:
            group["lr"] = lr
        grads = [torch.randn(*shape, dtype=torch.float32) * (0.1 + step * 0.05) for shape in SHAPES]
        for p, g in zip(params, grads):
            p.grad = g.clone()
        optimizer.step()
        grads_per_step.append([g.flatten().tolist() for g in grads])
        lrs.append(lr)
        after.append([p.detach().flatten().tolist() for p in params])
    return dict(name=name, initial=[p.flatten().tolist() for p in initial], gradients=grads_per_step,
                learningRates=lrs, parametersAfterStep=after)


cases = [
    dict(options=dict(betas=[0.9, 0.999], epsilon=1e-8, weightDecay=0.01, decoupledWeightDecay=True),
         **run("adamw-default", lambda p: torch.optim.AdamW(p, lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01))),
    dict(options=dict(betas=[0.8, 0.95], epsilon=1e-6, weightDecay=0.1, decoupledWeightDecay=True),
         **run("adamw-strong-decay", lambda p: torch.optim.AdamW(p, lr=1e-2, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1))),
    dict(options=dict(betas=[0.9, 0.999], epsilon=1e-8, weightDecay=0.05, decoupledWeightDecay=False),
         **run("adam-l2", lambda p: torch.optim.Adam(p, lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05))),
]
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "adamw.json")
with open(out, "w") as f:
    json.dump(dict(generator="torch " + torch.__version__, steps=STEPS, cases=cases), f)
print("wrote", out)
