#!/usr/bin/python3
# Independent numpy GPT-2 forward pass (written from the GPT-2 / HF GPT2LMHeadModel definition, sharing no
# code with core/model), used to produce the golden logits in tests/model/golden_test.cpp.
# Usage: /usr/bin/python3 tests/model/golden/gpt2_reference.py tests/model/golden/tiny
#        /usr/bin/python3 tests/model/golden/gpt2_reference.py models/elsa-base --shipped
import json
import struct
import sys

import numpy as np


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        assert e["dtype"] == "F32", e
        b, end = e["data_offsets"]
        out[name] = np.frombuffer(data[b:end], dtype="<f4").reshape(e["shape"]).astype(np.float64)
    return out


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def gelu_new(x):
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x**3)))


def forward(p, cfg, ids):
    T = len(ids)
    C, H = cfg["n_embd"], cfg["n_head"]
    D = C // H
    eps = cfg.get("layer_norm_epsilon", 1e-5)
    x = p["wte.weight"][ids] + p["wpe.weight"][np.arange(T)]
    for i in range(cfg["n_layer"]):
        g = lambda k: p[f"h.{i}.{k}"]
        a = layer_norm(x, g("ln_1.weight"), g("ln_1.bias"), eps)
        qkv = a @ g("attn.c_attn.weight") + g("attn.c_attn.bias")
        q, k, v = qkv[:, :C], qkv[:, C : 2 * C], qkv[:, 2 * C :]
        heads = []
        for hd in range(H):
            s = slice(hd * D, (hd + 1) * D)
            att = q[:, s] @ k[:, s].T / np.sqrt(D)
            att = np.where(np.tril(np.ones((T, T))) > 0, att, -np.inf)
            att = np.exp(att - att.max(-1, keepdims=True))
            att /= att.sum(-1, keepdims=True)
            heads.append(att @ v[:, s])
        y = np.concatenate(heads, -1) @ g("attn.c_proj.weight") + g("attn.c_proj.bias")
        x = x + y
        m = layer_norm(x, g("ln_2.weight"), g("ln_2.bias"), eps)
        m = gelu_new(m @ g("mlp.c_fc.weight") + g("mlp.c_fc.bias")) @ g("mlp.c_proj.weight") + g("mlp.c_proj.bias")
        x = x + m
    x = layer_norm(x, p["ln_f.weight"], p["ln_f.bias"], eps)
    return x @ p["wte.weight"].T


def main():
    d = sys.argv[1]
    cfg = json.load(open(f"{d}/config.json"))
    p = read_safetensors(f"{d}/model.safetensors")
    if len(sys.argv) > 2 and sys.argv[2] == "--shipped":
        # The shipped base model: every position's first 32 logits (the whole 8,192-wide row would make a
        # 400 KB test file), for two sequences of real token ids.
        inputs = [[464, 3139, 286, 262, 1578, 1829], [8191, 40, 1000, 7, 300, 2500]]
        width = 32
    else:
        inputs = [[1, 5, 2, 7, 3, 0], [23, 22, 4, 4, 9, 11]]
        width = None
    for ids in inputs:
        logits = forward(p, cfg, np.array(ids))
        if width is not None:
            logits = logits[:, :width]
        print("// input", ids)
        print("{" + ", ".join(f"{v:.7g}" for v in logits.reshape(-1)) + "},")


if __name__ == "__main__":
    main()
