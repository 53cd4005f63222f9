#!/usr/bin/python3
"""A tiny random causal LM in Hugging Face's folder layout, and its reference outputs.

    make_tiny_checkpoint.py OUT_ROOT ARCH...      (ARCH: llama, llama-spm, llama-spm-json, llama-linear,
                                                   llama3-rope, qwen2, qwen2-yarn, gpt2; into OUT_ROOT/ARCH)

Writes OUT_DIR/config.json, model.safetensors, tokenizer.json (a byte-level BPE trained here on a
fixed text; llama-spm: tokenizer.model, a SentencePiece BPE with byte fallback trained by Debian's
python3-sentencepiece, as TinyLlama/Mistral ship; llama-spm-json: the same SentencePiece model
as tokenizer.json only, converted as transformers' LlamaConverter does; llama-linear, llama3-rope:
llama with linear or Llama 3.1's rope_scaling; qwen2-yarn: qwen2 with YaRN rope_scaling), tokenizer_config.json, generation_config.json,
and OUT_DIR/reference.json: the prompt, its token ids (by a BPE implementation written from
tokenizer.json's rules; llama-spm, llama-spm-json: by sentencepiece itself), the greedy
continuation of the PyTorch model (float32) and its logits at every generated position. Seeded:
the same bytes every run. Needs only Debian's python3-torch and python3-numpy.
"""
import json
import math
import os
import re
import struct
import sys

import numpy as np
import torch

SEED = int(os.environ.get("TINY_SEED", "8"))

CORPUS = (
    "the quick brown fox jumps over the lazy dog. the dog sleeps while the fox runs into the forest. "
    "models move between tools: a converter writes weights, a runtime reads them, and the tokens must agree. "
    "llamas and camels carry loads over the mountains; the herders count them twice, 123 and 456 and 789. "
) * 3
PROMPT = "the fox carries the weights over 42 mountains"
GENERATED = 8
NUM_MERGES = 180


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable character map."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(printable, chars)}


BYTE_CHARS = bytes_to_unicode()
# GPT-2's split regex; the prompt and corpus are ASCII, where [A-Za-z] / [0-9] are \p{L} / \p{N}.
SPLIT = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+""")


def words(text):
    return ["".join(BYTE_CHARS[b] for b in piece.encode("utf-8")) for piece in SPLIT.findall(text)]


def train_bpe(text, merges_wanted):
    vocab = [BYTE_CHARS[b] for b in range(256)]
    counts = {}
    for word in words(text):
        counts[tuple(word)] = counts.get(tuple(word), 0) + 1
    merges = []
    for _ in range(merges_wanted):
        pairs = {}
        for word, count in counts.items():
            for a, b in zip(word, word[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + count
        if not pairs:
            break
        best = max(sorted(pairs), key=lambda pair: pairs[pair])
        merges.append(best)
        vocab.append(best[0] + best[1])
        merged = {}
        for word, count in counts.items():
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    out.append(word[i] + word[i + 1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            merged[tuple(out)] = merged.get(tuple(out), 0) + count
        counts = merged
    return vocab, merges


def encode(text, vocab_ids, merges):
    ranks = {pair: rank for rank, pair in enumerate(merges)}
    ids = []
    for word in words(text):
        parts = list(word)
        while len(parts) > 1:
            candidates = [(ranks.get((a, b), math.inf), i) for i, (a, b) in enumerate(zip(parts, parts[1:]))]
            rank, i = min(candidates)
            if rank == math.inf:
                break
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        ids.extend(vocab_ids[p] for p in parts)
    return ids


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, tensor in tensors.items():
        data = tensor.detach().contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def rms_norm(x, weight, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def layer_norm(x, weight, bias, eps):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), weight, bias, eps)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def llama3_inv_freq(inv_freq, scaling):
    """transformers' _compute_llama3_parameters: long wavelengths slowed down by `factor`."""
    factor, low, high = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"]
    original = scaling["original_max_position_embeddings"]
    wavelen = 2 * math.pi / inv_freq
    scaled = torch.where(wavelen > original / low, inv_freq / factor, inv_freq)
    smooth = (original / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = ~(wavelen < original / high) & ~(wavelen > original / low)
    return torch.where(medium, smoothed, scaled)


def yarn_inv_freq(base, dim, scaling):
    """transformers' _compute_yarn_parameters with its defaults (beta_fast 32, beta_slow 1,
    attention factor 0.1 ln(factor) + 1, truncated correction range); the config keeps
    max_position_embeddings = factor x original, so both of its readings of `factor` agree."""
    factor, original = scaling["factor"], scaling["original_max_position_embeddings"]
    def correction_dim(rotations):
        return dim * math.log(original / (rotations * 2 * math.pi)) / (2 * math.log(base))
    low, high = max(math.floor(correction_dim(32)), 0), min(math.ceil(correction_dim(1)), dim - 1)
    if low == high:
        high += 0.001
    ramp = torch.clamp((torch.arange(dim // 2, dtype=torch.float32) - low) / (high - low), 0, 1)
    pos_freqs = base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim)
    extrapolation = 1 - ramp
    inv_freq = 1.0 / (factor * pos_freqs) * (1 - extrapolation) + 1.0 / pos_freqs * extrapolation
    return inv_freq, 0.1 * math.log(factor) + 1.0


def llama_forward(w, c, ids):
    T = len(ids)
    heads, kv_heads = c["num_attention_heads"], c["num_key_value_heads"]
    dim = c["hidden_size"] // heads
    h = w["model.embed_tokens.weight"][ids]
    inv_freq = 1.0 / (c["rope_theta"] ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    scaling, attention_factor = c.get("rope_scaling") or {}, 1.0
    if scaling.get("rope_type") == "llama3":
        inv_freq = llama3_inv_freq(inv_freq, scaling)
    elif scaling.get("rope_type", scaling.get("type")) == "linear":
        inv_freq = inv_freq / scaling["factor"]
    elif scaling.get("rope_type") == "yarn":
        inv_freq, attention_factor = yarn_inv_freq(c["rope_theta"], dim, scaling)
    freqs = torch.outer(torch.arange(T, dtype=torch.float32), inv_freq)
    cos, sin = torch.cat((freqs, freqs), -1).cos() * attention_factor, torch.cat((freqs, freqs), -1).sin() * attention_factor
    mask = torch.full((T, T), float("-inf")).triu(1)
    for layer in range(c["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        x = rms_norm(h, w[p + "input_layernorm.weight"], c["rms_norm_eps"])
        def project(name, count):  # qwen2 has q/k/v biases, llama none
            y = x @ w[p + name + ".weight"].T + w.get(p + name + ".bias", 0)
            return y.view(T, count, dim).transpose(0, 1)
        q, k, v = project("self_attn.q_proj", heads), project("self_attn.k_proj", kv_heads), project("self_attn.v_proj", kv_heads)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        k, v = k.repeat_interleave(heads // kv_heads, 0), v.repeat_interleave(heads // kv_heads, 0)
        attention = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(dim) + mask, -1) @ v
        h = h + attention.transpose(0, 1).reshape(T, -1) @ w[p + "self_attn.o_proj.weight"].T
        x = rms_norm(h, w[p + "post_attention_layernorm.weight"], c["rms_norm_eps"])
        gate = torch.nn.functional.silu(x @ w[p + "mlp.gate_proj.weight"].T)
        h = h + (gate * (x @ w[p + "mlp.up_proj.weight"].T)) @ w[p + "mlp.down_proj.weight"].T
    return rms_norm(h, w["model.norm.weight"], c["rms_norm_eps"]) @ w["lm_head.weight"].T


def gpt2_forward(w, c, ids):
    T = len(ids)
    heads, width = c["n_head"], c["n_embd"]
    dim = width // heads
    h = w["wte.weight"][ids] + w["wpe.weight"][:T]
    mask = torch.full((T, T), float("-inf")).triu(1)
    for layer in range(c["n_layer"]):
        p = f"h.{layer}."
        x = layer_norm(h, w[p + "ln_1.weight"], w[p + "ln_1.bias"], c["layer_norm_epsilon"])
        qkv = x @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]  # Conv1D: [in, out]
        q, k, v = (t.view(T, heads, dim).transpose(0, 1) for t in qkv.split(width, -1))
        attention = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(dim) + mask, -1) @ v
        h = h + attention.transpose(0, 1).reshape(T, -1) @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        x = layer_norm(h, w[p + "ln_2.weight"], w[p + "ln_2.bias"], c["layer_norm_epsilon"])
        inner = torch.nn.functional.gelu(x @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"], approximate="tanh")
        h = h + inner @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    return layer_norm(h, w["ln_f.weight"], w["ln_f.bias"], c["layer_norm_epsilon"]) @ w["wte.weight"].T


def randn(*shape, std):
    return torch.randn(*shape) * std


def qwen2_weights(c):
    w = llama_weights(c)
    kv_width = c["hidden_size"] // c["num_attention_heads"] * c["num_key_value_heads"]
    for layer in range(c["num_hidden_layers"]):
        p = f"model.layers.{layer}.self_attn."
        w[p + "q_proj.bias"] = randn(c["hidden_size"], std=0.1)
        w[p + "k_proj.bias"] = randn(kv_width, std=0.1)
        w[p + "v_proj.bias"] = randn(kv_width, std=0.1)
    return w


def llama_weights(c):
    width, ff, vocab = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    kv_width = width // c["num_attention_heads"] * c["num_key_value_heads"]
    w = {"model.embed_tokens.weight": randn(vocab, width, std=1.0)}
    for layer in range(c["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        w[p + "self_attn.q_proj.weight"] = randn(width, width, std=width ** -0.5)
        w[p + "self_attn.k_proj.weight"] = randn(kv_width, width, std=width ** -0.5)
        w[p + "self_attn.v_proj.weight"] = randn(kv_width, width, std=width ** -0.5)
        w[p + "self_attn.o_proj.weight"] = randn(width, width, std=width ** -0.5)
        w[p + "mlp.gate_proj.weight"] = randn(ff, width, std=width ** -0.5)
        w[p + "mlp.up_proj.weight"] = randn(ff, width, std=width ** -0.5)
        w[p + "mlp.down_proj.weight"] = randn(width, ff, std=ff ** -0.5)
        w[p + "input_layernorm.weight"] = 1 + randn(width, std=0.1)
        w[p + "post_attention_layernorm.weight"] = 1 + randn(width, std=0.1)
    w["model.norm.weight"] = 1 + randn(width, std=0.1)
    w["lm_head.weight"] = randn(vocab, width, std=0.3)  # peaked logits: clear greedy choices
    return w


def gpt2_weights(c):
    width, vocab = c["n_embd"], c["vocab_size"]
    w = {"wte.weight": randn(vocab, width, std=0.3), "wpe.weight": randn(c["n_positions"], width, std=0.1)}
    for layer in range(c["n_layer"]):
        p = f"h.{layer}."
        w[p + "ln_1.weight"], w[p + "ln_1.bias"] = 1 + randn(width, std=0.1), randn(width, std=0.1)
        w[p + "attn.c_attn.weight"], w[p + "attn.c_attn.bias"] = randn(width, 3 * width, std=width ** -0.5), randn(3 * width, std=0.1)
        w[p + "attn.c_proj.weight"], w[p + "attn.c_proj.bias"] = randn(width, width, std=width ** -0.5), randn(width, std=0.1)
        w[p + "ln_2.weight"], w[p + "ln_2.bias"] = 1 + randn(width, std=0.1), randn(width, std=0.1)
        w[p + "mlp.c_fc.weight"], w[p + "mlp.c_fc.bias"] = randn(width, 4 * width, std=width ** -0.5), randn(4 * width, std=0.1)
        w[p + "mlp.c_proj.weight"], w[p + "mlp.c_proj.bias"] = randn(4 * width, width, std=(4 * width) ** -0.5), randn(width, std=0.1)
        # The causal-mask buffer HF checkpoints of GPT-2 carry (the converter drops it).
        w[p + "attn.bias"] = torch.tril(torch.ones(c["n_positions"], c["n_positions"])).view(1, 1, c["n_positions"], c["n_positions"])
    w["ln_f.weight"], w["ln_f.bias"] = 1 + randn(width, std=0.1), randn(width, std=0.1)
    return w


def sentencepiece_tokenizer_json(processor):
    """tokenizer.json of a SentencePiece BPE as transformers' LlamaConverter writes it (Llama 2 /
    TinyLlama form): the pieces by id, merges from every split of a piece into two pieces ranked
    by the joined piece's score (SentencePieceExtractor), byte fallback, Prepend/Replace "▁"."""
    vocab = {processor.id_to_piece(i): i for i in range(processor.get_piece_size())}
    merges = []
    for piece, i in vocab.items():
        local = [(piece[:k], piece[k:]) for k in range(1, len(piece)) if piece[:k] in vocab and piece[k:] in vocab]
        local.sort(key=lambda pair: (vocab[pair[0]], vocab[pair[1]]))
        merges.extend((processor.get_score(i), a, b) for a, b in local)
    merges.sort(key=lambda m: m[0], reverse=True)  # stable: equal scores keep the order above
    added = [{"id": i, "content": processor.id_to_piece(i), "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i in range(processor.get_piece_size())
             if processor.is_control(i) or processor.is_unknown(i)]
    space = "\u2581"
    return {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
            "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": space},
                                                               {"type": "Replace", "pattern": {"String": " "}, "content": space}]},
            "pre_tokenizer": None, "post_processor": None,
            "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": space}, "content": " "},
                                                         {"type": "ByteFallback"}, {"type": "Fuse"},
                                                         {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
            "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                      "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "vocab": vocab,
                      "merges": [a + " " + b for _, a, b in merges]}}


def sentencepiece_tokenizer(out, as_json=False):
    """Trains a SentencePiece BPE model, written as tokenizer.model (or, as_json, as tokenizer.json
    only); returns (vocabulary size, prompt ids by sentencepiece)."""
    import io
    import sentencepiece
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(sentence_iterator=iter(CORPUS.split(". ")), model_writer=model,
                                             vocab_size=400, model_type="bpe", byte_fallback=True,
                                             character_coverage=1.0, num_threads=1, minloglevel=2)
    processor = sentencepiece.SentencePieceProcessor(model_proto=model.getvalue())
    if as_json:
        with open(os.path.join(out, "tokenizer.json"), "w") as f:
            json.dump(sentencepiece_tokenizer_json(processor), f, ensure_ascii=False)
    else:
        with open(os.path.join(out, "tokenizer.model"), "wb") as f:
            f.write(model.getvalue())
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "add_bos_token": False}, f)
    return processor.get_piece_size(), processor.encode(PROMPT)


def main():
    for arch in sys.argv[2:]:
        torch.manual_seed(SEED)
        make_checkpoint(arch, os.path.join(sys.argv[1], arch))


def make_checkpoint(arch, out):
    os.makedirs(out, exist_ok=True)
    if arch in ("llama-spm", "llama-spm-json"):
        vocab_size, prompt_ids = sentencepiece_tokenizer(out, as_json=arch == "llama-spm-json")
        config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": vocab_size,
                  "hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 2, "num_attention_heads": 4,
                  "num_key_value_heads": 1, "max_position_embeddings": 128, "rms_norm_eps": 1e-6,
                  "rope_theta": 10000.0, "bos_token_id": 1, "eos_token_id": 2}
        weights = llama_weights(config)
        write_model(out, config, weights, llama_forward, prompt_ids)
        return
    byte_vocab, merges = train_bpe(CORPUS, NUM_MERGES)
    specials = ["<|endoftext|>"] if arch == "gpt2" else ["<s>", "</s>"]
    vocab = {token: i for i, token in enumerate(byte_vocab)}
    vocab_size = len(vocab) + len(specials)
    added = [{"id": len(vocab) + i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, s in enumerate(specials)]
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    tokenizer = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
                 "pre_tokenizer": byte_level, "post_processor": None, "decoder": byte_level,
                 "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                           "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                           "vocab": vocab, "merges": [a + " " + b for a, b in merges]}}
    with open(os.path.join(out, "tokenizer.json"), "w") as f:
        json.dump(tokenizer, f, ensure_ascii=False)
    bos, eos = (vocab_size - 1, vocab_size - 1) if arch == "gpt2" else (vocab_size - 2, vocab_size - 1)
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": specials[0], "eos_token": specials[-1], "add_bos_token": False, "add_eos_token": False}, f)
    with open(os.path.join(out, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": bos, "eos_token_id": eos}, f)
    if arch in ("llama", "llama-linear", "llama3-rope", "qwen2", "qwen2-yarn"):
        qwen2 = arch.startswith("qwen2")
        config = {"architectures": ["Qwen2ForCausalLM" if qwen2 else "LlamaForCausalLM"],
                  "model_type": "qwen2" if qwen2 else "llama", "vocab_size": vocab_size,
                  "hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 2, "num_attention_heads": 4,
                  "num_key_value_heads": 2, "max_position_embeddings": 128, "rms_norm_eps": 1e-5,
                  "rope_theta": 10000.0, "tie_word_embeddings": False, "torch_dtype": "float32",
                  "bos_token_id": bos, "eos_token_id": eos}
        if arch == "qwen2-yarn":
            config["rope_scaling"] = {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32}
        if arch == "llama-linear":
            config["rope_scaling"] = {"type": "linear", "factor": 4.0}
        if arch == "llama3-rope":
            # An original context of 32 puts the rotary wavelengths (6 to ~40000) on all three
            # branches: unscaled, blended and divided by the factor.
            config["rope_scaling"] = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                      "high_freq_factor": 4.0, "original_max_position_embeddings": 32}
        weights, forward = (qwen2_weights if qwen2 else llama_weights)(config), llama_forward
    else:
        config = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": vocab_size, "n_embd": 128,
                  "n_layer": 2, "n_head": 4, "n_positions": 64, "n_ctx": 64, "layer_norm_epsilon": 1e-5,
                  "activation_function": "gelu_new", "bos_token_id": bos, "eos_token_id": eos}
        weights, forward = gpt2_weights(config), gpt2_forward
    write_model(out, config, weights, forward, encode(PROMPT, vocab, merges))


def write_model(out, config, weights, forward, prompt_ids):
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    write_safetensors(os.path.join(out, "model.safetensors"), weights)
    ids, steps = list(prompt_ids), []
    with torch.no_grad():
        for _ in range(GENERATED):
            logits = forward(weights, config, torch.tensor(ids))[-1]
            top2 = torch.topk(logits, 2).values
            steps.append({"logits": logits.tolist(), "margin": float(top2[0] - top2[1])})
            ids.append(int(logits.argmax()))
    reference = {"prompt": PROMPT, "prompt_ids": prompt_ids, "generated": ids[len(prompt_ids):], "steps": steps}
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(reference, f)


if __name__ == "__main__":
    main()
