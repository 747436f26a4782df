#!/usr/bin/python3
"""Small tokenizer.json files with the structure the Hub's tokenizers ship, and the ids Hugging
Face's own `tokenizers` library (Rust) gives for a set of texts.

    PYTHONPATH=<dir with the tokenizers wheel unpacked> /usr/bin/python3 tests/golden/tokenizer_references.py

(On the development machine: `python3 -m pip install --no-deps --no-index --target /tmp/tok
/opt/pypi/files/tokenizers-0.22.2-*.whl`.) Writes packages/trainer/src/tokenizers/fixtures/<name>/
tokenizer.json, tokenizer_config.json and references.json ({tokenizers version, cases: text, ids with
and without special tokens, decoded text}). The structures follow the published files:
- gpt2-merges-pairs / gpt2-merges-strings: GPT-2's byte-level BPE (ByteLevel pre-tokenizer with
  GPT-2's regex, ByteLevel decoder, `<|endoftext|>`), merges as [a, b] pairs (tokenizers ≥ 0.20)
  and as "a b" strings (the older files, e.g. gpt2's own tokenizer.json);
- llama3: Split with Llama 3's pre-tokenizer regex then ByteLevel(use_regex=false), BPE with
  ignore_merges, `<|begin_of_text|>` added by a TemplateProcessing post-processor;
- qwen2: NFC normalizer, Split with Qwen2's regex then ByteLevel(use_regex=false), ChatML special
  tokens and chat template in tokenizer_config.json;
- llama2-byte-fallback: SentencePiece converted to BPE (Prepend/Replace "▁" normalizer, byte_fallback
  with <0xNN> tokens, ByteFallback/Fuse/Strip decoder, `<s>` added);
- t5-unigram: SentencePiece Unigram with a Metaspace pre-tokenizer and `</s>` appended;
- bert-wordpiece: BERT's normalizer (lower case, strip accents), BertPreTokenizer, WordPiece with
  `##` continuation, `[CLS] $A [SEP]`;
- llama3-added-tokens: llama3 plus added tokens as real files carry them: a reserved special token,
  `<mask>` with lstrip (RoBERTa's), non-special unnormalized `<tool_call>`/`</tool_call>`; extra texts
  exercise them (and decoding with skip_special_tokens);
- bert-cased-added-tokens: bert-base-cased's normalizer (no lower-casing, accents kept) with a
  normalized non-special added token and an unnormalized special one.
The vocabularies are trained here on a small corpus (deterministic), not the real ones. `decoded` is
the Rust decoder's text, with transformers' clean_up_tokenization applied where tokenizer_config.json
sets clean_up_tokenization_spaces (BERT), as transformers' decode() returns it.
"""
import json, os
import tokenizers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "packages", "trainer", "src", "tokenizers", "fixtures")
CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "Hello world! It's a test, isn't it? I'll say we're done; they've gone.",
    "Numbers 12345 and 2026-12-07, prices $3.50 and 100%.",
    "Ünïcödé café naïve résumé — «quotes» and emoji 🙂🚀.",
    "def add(a, b):\n    return a + b\n\n\tTabs and   spaces.",
    "日本語のテキストと中文文本。",
] * 20
TEXTS = [
    "Hello world!",
    "It's a test, isn't it? I'll say we're done.",
    "Numbers 12345 and 2026-12-07.",
    "  leading spaces and trailing   ",
    "café naïve 🙂 — 日本語",
    "def add(a, b):\n    return a + b\n",
    "unseen Zebra quokka ßðÞ",
    "<|endoftext|> special <|im_start|> inside [CLS] text </s>",
]
LLAMA3_PATTERN = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2_PATTERN = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2_CHAT = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def byte_level_bpe(pre, specials, vocab_size=400, ignore_merges=False, normalizer=None):
    tok = Tokenizer(models.BPE(ignore_merges=ignore_merges) if ignore_merges else models.BPE())
    if normalizer:
        tok.normalizer = normalizer
    tok.pre_tokenizer = pre
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    return tok


def build():
    out = {}
    gpt2 = byte_level_bpe(pre_tokenizers.ByteLevel(add_prefix_space=False), ["<|endoftext|>"])
    gpt2.post_processor = processors.ByteLevel(trim_offsets=False)
    out["gpt2-merges-pairs"] = (gpt2, {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
                                       "unk_token": "<|endoftext|>", "add_prefix_space": False}, None)
    out["gpt2-merges-strings"] = (gpt2, out["gpt2-merges-pairs"][1], "strings")

    llama3 = byte_level_bpe(
        pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]),
        ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"], ignore_merges=True)
    llama3.post_processor = processors.TemplateProcessing(
        single="<|begin_of_text|> $A", special_tokens=[("<|begin_of_text|>", llama3.token_to_id("<|begin_of_text|>"))])
    out["llama3"] = (llama3, {"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>"}, None)

    qwen2 = byte_level_bpe(
        pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]),
        ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], normalizer=normalizers.NFC())
    out["qwen2"] = (qwen2, {"bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
                            "chat_template": QWEN2_CHAT}, None)

    sp = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    sp.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    sp.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                    decoders.Strip(" ", 1, 0)])
    byte_tokens = [f"<0x{b:02X}>" for b in range(256)]
    trainer = trainers.BpeTrainer(vocab_size=500, special_tokens=["<unk>", "<s>", "</s>"] + byte_tokens,
                                  limit_alphabet=60, show_progress=False)
    sp.train_from_iterator(CORPUS, trainer)
    sp.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", sp.token_to_id("<s>"))])
    out["llama2-byte-fallback"] = (sp, {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}, None)

    t5 = Tokenizer(models.Unigram())
    t5.normalizer = normalizers.Sequence([normalizers.Replace(Regex(" {2,}"), " ")])
    t5.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    t5.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(vocab_size=300, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>",
                                      show_progress=False)
    t5.train_from_iterator(CORPUS, trainer)
    t5.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", t5.token_to_id("</s>"))])
    out["t5-unigram"] = (t5, {"eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"}, None)

    bert = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    bert.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=True, clean_text=True,
                                                 handle_chinese_chars=True)
    bert.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    bert.decoder = decoders.WordPiece(prefix="##")
    trainer = trainers.WordPieceTrainer(vocab_size=300, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
                                        show_progress=False)
    bert.train_from_iterator(CORPUS, trainer)
    bert.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", bert.token_to_id("[CLS]")), ("[SEP]", bert.token_to_id("[SEP]"))])
    out["bert-wordpiece"] = (bert, {"cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                                    "unk_token": "[UNK]", "mask_token": "[MASK]", "do_lower_case": True,
                                    "clean_up_tokenization_spaces": True}, None)

    # Edge cases of added tokens: Llama 3's reserved special tokens, a non-special added token that is
    # not normalized (a tool-call tag, as chat models add them), RoBERTa's <mask> with lstrip; they are
    # matched before the pre-tokenizer splits the text. (A single_word token is refused by Tunekit's
    # loader: @huggingface/tokenizers matches it inside words; load-tokenizer.test.ts.)
    added = Tokenizer.from_str(llama3.to_str())
    added.add_special_tokens([AddedToken("<|reserved_special_token_0|>", special=True, normalized=False),
                              AddedToken("<mask>", special=True, lstrip=True, normalized=False)])
    added.add_tokens([AddedToken("<tool_call>", special=False, normalized=False),
                      AddedToken("</tool_call>", special=False, normalized=False)])
    out["llama3-added-tokens"] = (added, {"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>",
                                          "mask_token": "<mask>"}, None)

    # Cased BERT (bert-base-cased: lowercase false, accents kept) with added tokens: a normalized
    # non-special token and a special one that is not normalized.
    cased = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    cased.normalizer = normalizers.BertNormalizer(lowercase=False, strip_accents=False, clean_text=True,
                                                  handle_chinese_chars=True)
    cased.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    cased.decoder = decoders.WordPiece(prefix="##")
    trainer = trainers.WordPieceTrainer(vocab_size=300, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
                                        show_progress=False)
    cased.train_from_iterator(CORPUS, trainer)
    cased.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", cased.token_to_id("[CLS]")), ("[SEP]", cased.token_to_id("[SEP]"))])
    cased.add_tokens([AddedToken("COVID19", special=False, normalized=True)])
    cased.add_special_tokens([AddedToken("[NEW]", special=True, normalized=False)])
    out["bert-cased-added-tokens"] = (cased, {"cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                                              "unk_token": "[UNK]", "mask_token": "[MASK]", "do_lower_case": False,
                                              "clean_up_tokenization_spaces": True}, None)
    return out


EXTRA_TEXTS = {
    "llama3-added-tokens": [
        "call <tool_call>{\"name\": \"f\"}</tool_call> now",
        "x<|reserved_special_token_0|>y <|eot_id|>",
        "fill the    <mask> here",
        "<tool_call><tool_call> </tool_call>x",
    ],
    "bert-cased-added-tokens": [
        "COVID19 and covid19 [NEW] Café Naïve",
        "Hello [NEW]world COVID19s",
    ],
}


def clean_up_tokenization(text):
    """transformers' PreTrainedTokenizerBase.clean_up_tokenization, applied by decode() when
    clean_up_tokenization_spaces is true (BERT's tokenizer_config default)."""
    for before, after in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                          (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")):
        text = text.replace(before, after)
    return text


def main():
    for name, (tok, config, merges) in build().items():
        folder = os.path.join(OUT, name)
        os.makedirs(folder, exist_ok=True)
        data = json.loads(tok.to_str())
        if merges == "strings":
            data["model"]["merges"] = [" ".join(pair) for pair in data["model"]["merges"]]
        with open(os.path.join(folder, "tokenizer.json"), "w") as f:
            json.dump(data, f, ensure_ascii=False)
        reference = Tokenizer.from_str(json.dumps(data))
        cases = []
        for text in TEXTS + EXTRA_TEXTS.get(name, []):
            with_special = reference.encode(text, add_special_tokens=True).ids
            plain = reference.encode(text, add_special_tokens=False).ids
            decoded = reference.decode(plain, skip_special_tokens=False)
            skipped = reference.decode(with_special, skip_special_tokens=True)
            if config.get("clean_up_tokenization_spaces"):
                decoded = clean_up_tokenization(decoded)
                skipped = clean_up_tokenization(skipped)
            case = dict(text=text, ids=with_special, idsWithoutSpecialTokens=plain, decoded=decoded)
            if name in EXTRA_TEXTS:
                case["decodedSkippingSpecialTokens"] = skipped
            cases.append(case)
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast", **config},
                  open(os.path.join(folder, "tokenizer_config.json"), "w"), ensure_ascii=False, indent=1)
        json.dump({"tokenizers": tokenizers.__version__, "cases": cases},
                  open(os.path.join(folder, "references.json"), "w"), ensure_ascii=False, indent=1)
        print(name, reference.get_vocab_size())


if __name__ == "__main__":
    main()
