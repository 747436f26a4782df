#!/usr/bin/python3
"""PyTorch reference for bench/trainer-presets.ts: LoRA training of a Llama/Qwen2-shaped model
(random weights, exact public configs) in plain torch following Hugging Face's modeling_llama.py /
modeling_qwen2.py, with the model code of tests/golden/llama_lora.py (eager attention, whole
[tokens, vocab] logits and F.cross_entropy as Hugging Face computes them).

    /usr/bin/python3 bench/torch_llama_lora_reference.py --preset smollm2-135m --micro-batches 3

Prints one JSON line: peak RSS (ru_maxrss), time to first micro-batch (model creation + first
forward/backward), tokens/s over the following micro-batches, the AdamW step time.
"""
import argparse, json, os, resource, sys, time
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "golden"))
sys.path.insert(0, os.path.join(os.getcwd(), "tests", "golden"))  # the device bundle runs from the repository root
import llama_lora as golden  # noqa: E402

PRESETS = {
    # HuggingFaceTB/SmolLM2-135M config.json
    "smollm2-135m": dict(model_type="llama", vocab_size=49152, hidden_size=576, intermediate_size=1536,
                         num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3,
                         max_position_embeddings=8192, rms_norm_eps=1e-5, rope_theta=100000.0,
                         attention_bias=False, tie_word_embeddings=True),
    # bench/trainer-presets.ts's scaling-small (vocabulary from BENCH_VOCAB)
    "scaling-small": dict(model_type="llama", vocab_size=32000, hidden_size=256, intermediate_size=768,
                          num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
                          max_position_embeddings=4096, rms_norm_eps=1e-5, rope_theta=10000.0,
                          attention_bias=False, tie_word_embeddings=True),
    # Qwen/Qwen2.5-0.5B config.json
    "qwen2.5-0.5b": dict(model_type="qwen2", vocab_size=151936, hidden_size=896, intermediate_size=4864,
                         num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2,
                         max_position_embeddings=32768, rms_norm_eps=1e-6, rope_theta=1000000.0,
                         tie_word_embeddings=True),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", required=True, choices=sorted(PRESETS))
    parser.add_argument("--sequence", type=int, default=512)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--micro-batches", type=int, default=3)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    c = dict(PRESETS[args.preset])
    c["vocab_size"] = int(os.environ.get("BENCH_VOCAB", c["vocab_size"]))
    golden.LORA = dict(r=args.rank, alpha=2 * args.rank, dropout=0.0, targetModules=[])
    started = time.perf_counter()
    g = torch.Generator().manual_seed(0)
    d = c["hidden_size"]
    with torch.no_grad():
        weights = {"model.embed_tokens.weight": torch.randn(c["vocab_size"], d, generator=g) * 0.02}
        for i in range(c["num_hidden_layers"]):
            p = f"model.layers.{i}."
            weights[p + "input_layernorm.weight"] = torch.ones(d)
            weights[p + "post_attention_layernorm.weight"] = torch.ones(d)
        for path, fin, fout in golden.linear_modules(c):
            weights[path + ".weight"] = torch.randn(fout, fin, generator=g) * 0.02
            if golden.qkv_bias(c) and path.split(".")[-1] in ("q_proj", "k_proj", "v_proj"):
                weights[path + ".bias"] = torch.zeros(fout)
        weights["model.norm.weight"] = torch.ones(d)
    adapter = {}
    for path, fin, fout in golden.linear_modules(c):
        adapter[f"base_model.model.{path}.lora_A.weight"] = ((torch.rand(args.rank, fin, generator=g) * 2 - 1) / fin ** 0.5).requires_grad_(True)
        adapter[f"base_model.model.{path}.lora_B.weight"] = torch.zeros(fout, args.rank).requires_grad_(True)
    ids = torch.randint(0, c["vocab_size"], (args.batch, args.sequence), generator=g)
    if args.device != "cpu":
        # Created on the CPU with the seeded generator, then moved; torch >= 2.0 for set_default_device.
        weights = {k: v.to(args.device) for k, v in weights.items()}
        adapter = {k: v.detach().to(args.device).requires_grad_(True) for k, v in adapter.items()}
        ids = ids.to(args.device)
        torch.set_default_device(args.device)
    optimizer = torch.optim.AdamW(list(adapter.values()), lr=1e-4)
    mask = torch.ones_like(ids)
    created = time.perf_counter()

    def micro_batch():
        logits = golden.forward(c, weights, adapter, ids, mask)
        loss = golden.causal_lm_loss(logits, ids) / args.micro_batches
        loss.backward()
        return float(loss)

    loss = micro_batch()
    if args.device != "cpu":
        torch.cuda.synchronize()
    first = time.perf_counter()
    for _ in range(args.micro_batches - 1):
        loss = micro_batch()
    if args.device != "cpu":
        torch.cuda.synchronize()
    looped = time.perf_counter()
    optimizer.step()
    optimizer.zero_grad()
    ended = time.perf_counter()
    tokens = args.batch * args.sequence
    print(json.dumps({
        "impl": f"torch-{torch.__version__}",
        "preset": args.preset,
        "threads": args.threads,
        "device": args.device,
        "vocab_size": c["vocab_size"],
        "sequence": args.sequence,
        "batch": args.batch,
        "create_s": round(created - started, 2),
        "first_step_s": round(first - started, 2),
        "tokens_per_s": round(tokens * (args.micro_batches - 1) / (looped - first), 1) if args.micro_batches > 1 else None,
        "micro_batch_s": round((looped - first) / max(1, args.micro_batches - 1), 2),
        "optimizer_s": round(ended - looped, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "peak_device_mb": round(torch.cuda.max_memory_allocated() / 2 ** 20) if args.device != "cpu" else None,
        "loss": round(loss * args.micro_batches, 4),
    }))


if __name__ == "__main__":
    main()
