#!/usr/bin/env python3
"""Cross-check of Tunekit's Hugging Face files against the REAL transformers and PEFT libraries.

Needs torch, transformers and peft (the GPU machine's Python has them; the CPU development machine
does not, so this has not run yet: see docs/hugging-face-compatibility.md). CPU is enough; it takes
well under a minute.

    python3 tests/golden/real_peft_crosscheck.py OUT_DIR
    python3 tests/golden/real_peft_crosscheck.py --dry-run   (torch only: checks what is staged)

Prints one JSON line per check ({"check", "case", "max_abs_diff", "ok"}) and a summary line, and
exits 1 if any check fails. Three parts:

A. Published-layout fixtures (packages/trainer/src/models/fixtures/layouts/, written by
   checkpoint_layouts.py / encoder_checkpoint_layouts.py with plain-torch goldens that Tunekit
   matches within 1e-5): transformers' AutoModelForCausalLM / AutoModel /
   AutoModelForSequenceClassification and PEFT's PeftModel.from_pretrained must reproduce the same
   goldens (checks that the key layouts, configs and adapters are what transformers and PEFT read).
B. Tunekit-written files (tests/golden/fixtures/hf-crosscheck/<case>/, written by
   tunekit-written-adapters.ts): the adapter loaded with PEFT on the original base, and the merged
   folder loaded with transformers, must give Tunekit's logits (LoRA, rsLoRA + patterns, PiSSA and
   OLoRA saved converted, SEQ_CLS heads, BF16 and sharded checkpoints).
C. PEFT-written adapters for Tunekit: writes OUT_DIR/peft-written/<case>/ (adapter saved by PEFT's
   save_pretrained, and PEFT's logits) for rsLoRA + rank/alpha patterns, GPT-2 Conv1D with
   bias="lora_only", a PiSSA adapter converted with path_initial_model_for_weight_conversion, and a
   SEQ_CLS adapter; bring OUT_DIR back and run
       npx tsx tests/golden/check-peft-written.ts OUT_DIR/peft-written
   on the development machine to load them in Tunekit and compare.

--dry-run (also taken when transformers or peft cannot be imported) runs no library: it checks that
every input of parts A and B is staged and consistent (fixture folders, adapters, expected outputs of
the right shapes; each Tunekit-written case's base logits equal to its fixture's PyTorch golden, so a
fixture regenerated without regenerating tests/golden/fixtures/hf-crosscheck is caught) and lists the
checks a real run makes. Exit 0 when all is staged, 1 when not, 3 when libraries were missing and no
dry run was asked for.
"""
import json, os, shutil, struct, sys
import torch

try:
    from transformers import AutoModel, AutoModelForCausalLM, AutoModelForSequenceClassification
    from peft import LoraConfig, PeftModel, TaskType, get_peft_model
    LIBRARIES = True
except ImportError:
    LIBRARIES = False

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAYOUTS = os.path.join(ROOT, "packages", "trainer", "src", "models", "fixtures", "layouts")
TUNEKIT = os.path.join(ROOT, "tests", "golden", "fixtures", "hf-crosscheck")
TOLERANCE = 1e-4
DT = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64}
results = []


def read_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[a:b]), dtype=DT[info["dtype"]]).reshape(info["shape"]).float()
    return out


def eager(cls, folder, **kwargs):
    """from_pretrained in float32 with eager attention (the goldens' attention), on older versions too."""
    try:
        model = cls.from_pretrained(folder, torch_dtype=torch.float32, attn_implementation="eager", **kwargs)
    except (TypeError, ValueError):
        model = cls.from_pretrained(folder, torch_dtype=torch.float32, **kwargs)
    return model.eval()


def record(check, case, actual, expected):
    actual = torch.as_tensor(actual).float().reshape(-1)
    expected = torch.as_tensor(expected).float().reshape(-1)
    diff = float((actual - expected).abs().max()) if actual.shape == expected.shape else float("inf")
    line = {"check": check, "case": case, "max_abs_diff": diff, "ok": diff <= TOLERANCE}
    results.append(line)
    print(json.dumps(line), flush=True)


def guarded(check, case, fn):
    try:
        fn()
    except Exception as error:  # a failure to load is a finding, not a crash of the whole check
        line = {"check": check, "case": case, "ok": False, "error": f"{type(error).__name__}: {error}"[:500]}
        results.append(line)
        print(json.dumps(line), flush=True)


def part_a():
    manifest = json.load(open(os.path.join(LAYOUTS, "manifest.json")))
    ids = torch.tensor(manifest["input_ids"])
    for name in manifest["fixtures"]:
        folder = os.path.join(LAYOUTS, name)
        expected = read_safetensors(os.path.join(folder, "expected.safetensors"))

        def run(folder=folder, expected=expected, name=name):
            with torch.no_grad():
                model = eager(AutoModelForCausalLM, folder)
                record("A.transformers-base", name, model(input_ids=ids).logits, expected["base.logits"])
                peft = PeftModel.from_pretrained(model, os.path.join(folder, "adapter")).eval()
                record("A.peft-adapter", name, peft(input_ids=ids).logits, expected["adapter.logits"])
        guarded("A.causal", name, run)
    encoders = json.load(open(os.path.join(LAYOUTS, "encoders.json")))
    for name, spec in encoders["fixtures"].items():
        folder = os.path.join(LAYOUTS, name)
        expected = read_safetensors(os.path.join(folder, "expected.safetensors"))
        inputs = dict(input_ids=torch.tensor(spec["input_ids"]), attention_mask=torch.tensor(spec["attention_mask"]))

        def run(folder=folder, expected=expected, inputs=inputs, name=name):
            with torch.no_grad():
                encoder = eager(AutoModel, folder)
                outputs = encoder(**inputs)
                record("A.transformers-hidden", name, outputs.last_hidden_state, expected["base.last_hidden_state"])
                if "base.pooler_output" in expected:
                    record("A.transformers-pooler", name, outputs.pooler_output, expected["base.pooler_output"])
                classifier = eager(AutoModelForSequenceClassification, folder, num_labels=2)
                peft = PeftModel.from_pretrained(classifier, os.path.join(folder, "adapter")).eval()
                record("A.peft-seq-cls", name, peft(**inputs).logits, expected["adapter.logits"])
                tuned = eager(AutoModelForSequenceClassification, os.path.join(folder, "classifier"))
                record("A.transformers-classifier", name, tuned(**inputs).logits, expected["classifier.logits"])
        guarded("A.encoder", name, run)


def part_b():
    for case in sorted(os.listdir(TUNEKIT)):
        directory = os.path.join(TUNEKIT, case)
        spec = json.load(open(os.path.join(directory, "logits.json")))
        base = os.path.join(ROOT, spec["base"])
        cls = AutoModelForSequenceClassification if spec["task"] == "SEQ_CLS" else AutoModelForCausalLM
        inputs = dict(input_ids=torch.tensor(spec["input_ids"]), attention_mask=torch.tensor(spec["attention_mask"]))

        def run(directory=directory, spec=spec, base=base, cls=cls, inputs=inputs, case=case):
            with torch.no_grad():
                model = eager(cls, base)
                record("B.base", case, model(**inputs).logits, spec["base_logits"])
                peft = PeftModel.from_pretrained(model, os.path.join(directory, "adapter")).eval()
                record("B.peft-loads-tunekit-adapter", case, peft(**inputs).logits, spec["adapter_logits"])
                merged = eager(cls, os.path.join(directory, "merged"))
                record("B.transformers-loads-tunekit-merged", case, merged(**inputs).logits, spec["merged_logits"])
        guarded("B", case, run)


def perturb(model, generator):
    """Stands in for training: every LoRA tensor moves (B away from zero)."""
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_" in name:
                parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.05)


def part_c(out):
    root = os.path.join(out, "peft-written")
    shutil.rmtree(root, ignore_errors=True)
    generator = torch.Generator().manual_seed(0)
    ids = [[5, 17, 33, 2, 48, 9, 21, 40], [11, 3, 7, 29, 44, 1, 60, 12]]
    cases = {
        "tinyllama-rslora-patterns": ("tinyllama-1.1b", TaskType.CAUSAL_LM, dict(
            r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], use_rslora=True,
            rank_pattern={"layers.1.self_attn.q_proj": 2}, alpha_pattern={"v_proj": 16})),
        "gpt2-lora-only-bias": ("gpt2", TaskType.CAUSAL_LM, dict(
            r=2, lora_alpha=4, target_modules=["c_attn", "mlp.c_proj"], fan_in_fan_out=True, bias="lora_only")),
        "qwen2-regex-exclude": ("qwen2.5-0.5b", TaskType.CAUSAL_LM, dict(
            r=2, lora_alpha=8, target_modules=r".*\.(q_proj|k_proj|v_proj)", exclude_modules=r".*layers\.0\.self_attn\.k_proj")),
        "smollm2-pissa-converted": ("smollm2-135m", TaskType.CAUSAL_LM, dict(
            r=2, lora_alpha=4, target_modules=["q_proj", "v_proj"], init_lora_weights="pissa")),
        "smollm2-olora-converted": ("smollm2-135m", TaskType.CAUSAL_LM, dict(
            r=2, lora_alpha=4, target_modules=["q_proj", "v_proj"], init_lora_weights="olora")),
        "bert-seq-cls": ("bert-base-uncased/classifier", TaskType.SEQ_CLS, dict(
            r=2, lora_alpha=4, target_modules=["query", "value"])),
    }
    for case, (fixture, task, options) in cases.items():
        def run(case=case, fixture=fixture, task=task, options=options):
            folder = os.path.join(LAYOUTS, fixture)
            directory = os.path.join(root, case)
            os.makedirs(directory)
            cls = AutoModelForSequenceClassification if task == TaskType.SEQ_CLS else AutoModelForCausalLM
            model = eager(cls, folder)
            init = options.get("init_lora_weights", True)
            peft = get_peft_model(model, LoraConfig(task_type=task, **options))
            if init in ("pissa", "olora"):
                # PEFT's documented flow: save the initial adapter with init_lora_weights=True, train,
                # then save converted for the original base.
                peft.peft_config["default"].init_lora_weights = True
                peft.save_pretrained(os.path.join(directory, "initial"))
                peft.peft_config["default"].init_lora_weights = init
            perturb(peft, generator)
            peft.eval()
            if task == TaskType.SEQ_CLS:
                input_ids = [[3, 12, 30, 7, 22, 2, 0], [3, 5, 9, 2, 0, 0, 0]]
                mask = [[1, 1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 0, 0, 0]]
            else:
                input_ids, mask = ids, [[1] * len(row) for row in ids]
            with torch.no_grad():
                logits = peft(input_ids=torch.tensor(input_ids), attention_mask=torch.tensor(mask)).logits
            if init in ("pissa", "olora"):
                peft.save_pretrained(os.path.join(directory, "adapter"),
                                     path_initial_model_for_weight_conversion=os.path.join(directory, "initial"))
            else:
                peft.save_pretrained(os.path.join(directory, "adapter"))
            json.dump({"base": os.path.relpath(folder, ROOT), "task": "SEQ_CLS" if task == TaskType.SEQ_CLS else "CAUSAL_LM",
                       "input_ids": input_ids, "attention_mask": mask, "shape": list(logits.shape),
                       "logits": logits.reshape(-1).tolist()}, open(os.path.join(directory, "logits.json"), "w"))
            print(json.dumps({"check": "C.written", "case": case, "ok": True}), flush=True)
        guarded("C.write", case, run)


def staged(check, case, problems):
    line = {"check": check, "case": case, "staged": not problems}
    if problems:
        line["problems"] = problems
    results.append(line)
    print(json.dumps(line), flush=True)


def dry_run():
    """Checks the inputs of parts A and B without transformers or PEFT (see the module docstring)."""
    manifest = json.load(open(os.path.join(LAYOUTS, "manifest.json")))
    ids = manifest["input_ids"]
    goldens = {}
    for name in manifest["fixtures"]:
        folder, problems = os.path.join(LAYOUTS, name), []
        for file in ("config.json", "adapter/adapter_config.json", "adapter/adapter_model.safetensors",
                     "expected.safetensors"):
            if not os.path.exists(os.path.join(folder, file)):
                problems.append(f"missing {file}")
        if not any(os.path.exists(os.path.join(folder, f)) for f in ("model.safetensors", "model.safetensors.index.json")):
            problems.append("no model.safetensors or index")
        if not problems:
            vocab = json.load(open(os.path.join(folder, "config.json")))["vocab_size"]
            expected = read_safetensors(os.path.join(folder, "expected.safetensors"))
            goldens[os.path.relpath(folder, ROOT)] = expected["base.logits"]
            for key in ("base.logits", "adapter.logits"):
                if list(expected[key].shape) != [len(ids), len(ids[0]), vocab]:
                    problems.append(f"{key} shape {list(expected[key].shape)}")
        staged("A.causal (transformers base, PEFT adapter)", name, problems)
    encoders = json.load(open(os.path.join(LAYOUTS, "encoders.json")))
    for name in encoders["fixtures"]:
        folder, problems = os.path.join(LAYOUTS, name), []
        for file in ("config.json", "model.safetensors", "adapter/adapter_config.json", "expected.safetensors",
                     "classifier/config.json", "classifier/model.safetensors"):
            if not os.path.exists(os.path.join(folder, file)):
                problems.append(f"missing {file}")
        if not problems:
            expected = read_safetensors(os.path.join(folder, "expected.safetensors"))
            for key in ("base.last_hidden_state", "adapter.logits", "classifier.logits"):
                if key not in expected:
                    problems.append(f"no {key}")
        staged("A.encoder (AutoModel, PEFT SEQ_CLS, fine-tuned classifier)", name, problems)
    for case in sorted(os.listdir(TUNEKIT)):
        directory, problems = os.path.join(TUNEKIT, case), []
        spec = json.load(open(os.path.join(directory, "logits.json")))
        for path in (os.path.join(ROOT, spec["base"], "config.json"), os.path.join(directory, "adapter", "adapter_config.json"),
                     os.path.join(directory, "merged", "config.json")):
            if not os.path.exists(path):
                problems.append(f"missing {os.path.relpath(path, ROOT)}")
        size = 1
        for d in spec["shape"]:
            size *= d
        for key in ("base_logits", "adapter_logits", "merged_logits"):
            if len(spec[key]) != size:
                problems.append(f"{key} has {len(spec[key])} values for shape {spec['shape']}")
        golden = goldens.get(spec["base"])
        if golden is not None and spec["input_ids"] == ids and not problems:
            diff = float((torch.tensor(spec["base_logits"]) - golden.reshape(-1)).abs().max())
            if diff > 1e-5:
                problems.append(f"base_logits differ from the fixture's golden by {diff:.3g}: regenerate with "
                                "npx tsx tests/golden/tunekit-written-adapters.ts")
        staged("B (PEFT loads Tunekit's adapter, transformers its merged folder)", case, problems)
    print(json.dumps({"check": "C (PEFT writes adapters for Tunekit)", "staged": True,
                      "note": "needs peft; nothing to stage"}), flush=True)
    missing = [r for r in results if not r["staged"]]
    print(json.dumps({"summary": True, "dry_run": True, "staged": len(results) - len(missing),
                      "not_staged": len(missing), "libraries": LIBRARIES, "torch": torch.__version__}))
    return 1 if missing else 0


def main():
    if "--dry-run" in sys.argv or not LIBRARIES:
        if not LIBRARIES:
            print(json.dumps({"note": "transformers/peft not importable: checking the staged inputs only"}))
        code = dry_run()
        sys.exit(code if "--dry-run" in sys.argv or code else 3)
    out = sys.argv[1] if len(sys.argv) > 1 else "crosscheck-out"
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    part_a()
    part_b()
    part_c(out)
    import peft as peft_module
    import transformers
    failed = [r for r in results if not r.get("ok")]
    summary = {"summary": True, "checks": len(results), "failed": len(failed),
               "torch": torch.__version__, "transformers": transformers.__version__, "peft": peft_module.__version__}
    print(json.dumps(summary))
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"summary": summary, "results": results}, f, indent=1)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
