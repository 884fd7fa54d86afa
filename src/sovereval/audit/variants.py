"""Ground-truth variants for validation (§7.3): derived positives and independent negatives.

Positives are built from a real parent (SmolLM2-135M from its PyPI carrier, dequantised and
canonicalised): exact copies (fp32, bf16), re-quantisation with another scheme, a few CPU fine-tuning
steps, function-preserving residual permutation + MLP neuron permutation, residual rotation with norm
gains folded, SOLAR-style depth up-scaling, layer pruning, MLP width pruning, a linear merge, and
transplants (embedding + first blocks into a fresh model; a MiniLM encoder as the "vision tower" of a
toy multimodal model — the Naver pattern).  Negatives are scaled-down Llama-style models trained from
scratch with different seeds, a fresh student distilled from a teacher's logits, untrained inits, and
cross-family real pairs.  Variants are written as HF-layout safetensors directories in a scratch folder
(never in the repository).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .checkpoint import Checkpoint, ModelConfig, open_checkpoint
from .roles import parse_key
from .tokenizer import Tokenizer

State = dict[str, np.ndarray]


@dataclass(frozen=True)
class VariantSpec:
    name: str
    parent: str  # reference name it is (or is not) derived from
    derived: bool
    construction: str
    expected: str  # verdict class expected for positives; "not DERIVED" for negatives
    tiers: str  # tiers designed to detect it


# ------------------------------------------------------------------ canonical state <-> HF directory

_HF_LLAMA = {
    "embed": "model.embed_tokens.weight", "lm_head": "lm_head.weight", "final_norm": "model.norm.weight",
    "attn.q": "self_attn.q_proj.weight", "attn.k": "self_attn.k_proj.weight", "attn.v": "self_attn.v_proj.weight",
    "attn.o": "self_attn.o_proj.weight", "mlp.gate": "mlp.gate_proj.weight", "mlp.up": "mlp.up_proj.weight",
    "mlp.down": "mlp.down_proj.weight", "norm.attn_in": "input_layernorm.weight",
    "norm.mlp_in": "post_attention_layernorm.weight",
}  # fmt: skip


def load_state(ckpt: Checkpoint) -> State:
    return {k: ckpt.read(k) for k in ckpt.tensors}


def hf_name(key: str) -> str:
    tower, layer, role = parse_key(key)
    prefix = "" if tower == "text" else {"vision": "vision_tower.", "audio": "audio_tower.",
                                         "projector": "multi_modal_projector."}[tower]  # fmt: skip
    if layer is None:
        return prefix + _HF_LLAMA.get(role, role + ".weight")
    return f"{prefix}model.layers.{layer}.{_HF_LLAMA[role]}"


def save_hf(state: State, cfg: ModelConfig, out: Path, tok: Tokenizer | None, *, bf16: bool = False,
            extra: dict[str, np.ndarray] | None = None) -> Path:  # fmt: skip
    """Write ``state`` (canonical keys) as an HF-layout Llama safetensors directory."""
    from safetensors.numpy import save_file

    out.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, np.ndarray] = {}
    for k, v in state.items():
        a = np.ascontiguousarray(v, dtype=np.float32)
        if bf16:
            u = a.view(np.uint32)
            a = ((u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16)).astype(np.uint16)
        tensors[hf_name(k)] = a
    for k, v in (extra or {}).items():
        tensors[k] = np.ascontiguousarray(v)
    meta = {"format": "pt"}
    save_file(tensors, str(out / "model.safetensors"), metadata=meta)
    if bf16:  # numpy has no bf16: patch the dtype tag in the header (same element size as U16)
        _retag_bf16(out / "model.safetensors", [hf_name(k) for k in state])
    layers = {parse_key(k)[1] for k in state if k.startswith("text.L")}
    conf = {
        "model_type": "llama", "num_hidden_layers": len(layers), "hidden_size": int(state["text.embed"].shape[1]),
        "num_attention_heads": cfg.n_heads, "num_key_value_heads": cfg.n_kv_heads,
        "intermediate_size": int(state["text.L0.mlp.up"].shape[0]) if "text.L0.mlp.up" in state else cfg.d_ff,
        "vocab_size": int(state["text.embed"].shape[0]), "tie_word_embeddings": "text.lm_head" not in state,
    }  # fmt: skip
    (out / "config.json").write_text(json.dumps(conf, indent=1))
    if tok is not None:
        write_tokenizer_json(tok, out / "tokenizer.json")
    return out


def _retag_bf16(path: Path, names: list[str]) -> None:
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + n])
    for k in names:
        if k in header:
            header[k]["dtype"] = "BF16"
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    path.write_bytes(len(h).to_bytes(8, "little") + h + raw[8 + n :])


def write_tokenizer_json(tok: Tokenizer, path: Path) -> None:
    model: dict[str, Any] = {"type": {"bpe": "BPE", "wordpiece": "WordPiece", "unigram": "Unigram"}.get(tok.kind, "BPE")}
    if model["type"] == "Unigram":
        model["vocab"] = [[t, 0.0] for t in tok.tokens]
    else:
        model["vocab"] = {t: i for i, t in enumerate(tok.tokens)}
        model["merges"] = list(tok.merges)
    path.write_text(json.dumps({"version": "1.0", "model": model}))


# ------------------------------------------------------------------ parameter-only variants


def requantise(state: State, scheme: str) -> State:
    """Round-trip every 2-D tensor through another GGUF scheme (Q8_0, Q4_0, Q5_0); 1-D stay fp32."""
    from gguf.constants import GGMLQuantizationType
    from gguf.quants import dequantize, quantize

    qt = GGMLQuantizationType[scheme]
    out = {}
    for k, v in state.items():
        out[k] = dequantize(quantize(v, qt), qt).reshape(v.shape).astype(np.float32) if v.ndim == 2 else v.copy()
    return out


def _layers(state: State) -> list[int]:
    return sorted({parse_key(k)[1] for k in state if k.startswith("text.L")})  # type: ignore[type-var]


def permute_residual_and_neurons(state: State, seed: int) -> State:
    """Function-preserving: one residual permutation P for every tensor, plus per-layer MLP neuron
    permutations (rows of gate/up, columns of down)."""
    rng = np.random.default_rng(seed)
    d = state["text.embed"].shape[1]
    p = rng.permutation(d)
    out: State = {}
    for k, v in state.items():
        _, layer, role = parse_key(k)
        if v.ndim == 2 and role in ("embed", "lm_head", "attn.q", "attn.k", "attn.v", "mlp.gate", "mlp.up"):
            v = v[:, p]
        elif v.ndim == 2 and role in ("attn.o", "mlp.down"):
            v = v[p, :]
        elif v.ndim == 1 and v.shape[0] == d:
            v = v[p]
        out[k] = v
    for layer in _layers(state):
        n = rng.permutation(out[f"text.L{layer}.mlp.up"].shape[0])
        for r in ("gate", "up"):
            out[f"text.L{layer}.mlp.{r}"] = out[f"text.L{layer}.mlp.{r}"][n]
        out[f"text.L{layer}.mlp.down"] = out[f"text.L{layer}.mlp.down"][:, n]
    return out


def rotate_residual(state: State, seed: int) -> State:
    """Fold RMSNorm gains into the next matrices, then rotate the residual stream by a random
    orthogonal Q (function-preserving for RMSNorm models); every gain becomes 1 (the tell-tale)."""
    rng = np.random.default_rng(seed)
    d = state["text.embed"].shape[1]
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    q = q.astype(np.float32)
    out: State = {}
    for k, v in state.items():
        out[k] = v.copy()
    for layer in _layers(state):
        ga, gm = out[f"text.L{layer}.norm.attn_in"], out[f"text.L{layer}.norm.mlp_in"]
        for r in ("q", "k", "v"):
            out[f"text.L{layer}.attn.{r}"] = (out[f"text.L{layer}.attn.{r}"] * ga[None, :]) @ q
        for r in ("gate", "up"):
            out[f"text.L{layer}.mlp.{r}"] = (out[f"text.L{layer}.mlp.{r}"] * gm[None, :]) @ q
        out[f"text.L{layer}.attn.o"] = q.T @ out[f"text.L{layer}.attn.o"]
        out[f"text.L{layer}.mlp.down"] = q.T @ out[f"text.L{layer}.mlp.down"]
        out[f"text.L{layer}.norm.attn_in"] = np.ones_like(ga)
        out[f"text.L{layer}.norm.mlp_in"] = np.ones_like(gm)
    gf = out["text.final_norm"]
    out["text.embed"] = out["text.embed"] @ q
    if "text.lm_head" in out:
        out["text.lm_head"] = (out["text.lm_head"] * gf[None, :]) @ q
    else:  # tied: untie so the head can absorb the final gain
        out["text.lm_head"] = (state["text.embed"] * gf[None, :]) @ q
    out["text.final_norm"] = np.ones_like(gf)
    return out


def _relayer(state: State, order: list[int]) -> State:
    out = {k: v for k, v in state.items() if not k.startswith("text.L")}
    for new, old in enumerate(order):
        for k, v in state.items():
            if k.startswith(f"text.L{old}."):
                out[f"text.L{new}." + k.split(".", 2)[2]] = v
    return out


def depth_upscale(state: State, m: int) -> State:
    """SOLAR recipe: layers 0..L-m-1 of one copy followed by m..L-1 of another."""
    n = len(_layers(state))
    return _relayer(state, list(range(n - m)) + list(range(m, n)))


def prune_layers(state: State, frac: float, seed: int) -> State:
    n = len(_layers(state))
    rng = np.random.default_rng(seed)
    drop = set(rng.choice(np.arange(1, n - 1), round(frac * n), replace=False).tolist())
    return _relayer(state, [i for i in range(n) if i not in drop])


def prune_mlp_width(state: State, frac: float) -> State:
    """Drop the ``frac`` MLP neurons with the smallest up-row norms in every layer (order kept)."""
    out = dict(state)
    for layer in _layers(state):
        up = state[f"text.L{layer}.mlp.up"]
        keep = np.sort(np.argsort(np.linalg.norm(up, axis=1))[int(frac * up.shape[0]) :])
        out[f"text.L{layer}.mlp.up"] = up[keep]
        out[f"text.L{layer}.mlp.gate"] = state[f"text.L{layer}.mlp.gate"][keep]
        out[f"text.L{layer}.mlp.down"] = state[f"text.L{layer}.mlp.down"][:, keep]
    return out


def merge(a: State, b: State, w: float = 0.5) -> State:
    return {k: (w * a[k] + (1 - w) * b[k]).astype(np.float32) for k in a}


def fresh_like(state: State, seed: int, std: float = 0.02) -> State:
    rng = np.random.default_rng(seed)
    return {k: (np.ones_like(v) if v.ndim == 1 else (std * rng.standard_normal(v.shape)).astype(np.float32))
            for k, v in state.items()}  # fmt: skip


def transplant(parent: State, seed: int, k_blocks: int) -> State:
    """Fresh model whose embedding and first ``k_blocks`` blocks are copied from the parent."""
    out = fresh_like(parent, seed)
    for k, v in parent.items():
        _, layer, _ = parse_key(k)
        if k == "text.embed" or (layer is not None and layer < k_blocks):
            out[k] = v.copy()
    return out


def add_noise(state: State, rel: float, seed: int) -> State:
    rng = np.random.default_rng(seed)
    return {k: (v + rel * v.std() * rng.standard_normal(v.shape)).astype(np.float32) if v.ndim == 2 else v
            for k, v in state.items()}  # fmt: skip


# ------------------------------------------------------------------ training (torch, CPU)


def _torch() -> Any:
    import torch

    torch.set_num_threads(max(1, torch.get_num_threads()))
    return torch


def forward(params: dict[str, Any], ids: Any, cfg: ModelConfig) -> Any:
    """Functional Llama forward (RMSNorm, GQA attention with HF rotate-half RoPE, SwiGLU, tied head)."""
    torch = _torch()
    f = torch.nn.functional
    x = params["text.embed"][ids]
    b, t, _d = x.shape
    nh, nkv = cfg.n_heads, cfg.n_kv_heads
    hd = params["text.L0.attn.q"].shape[0] // nh
    pos = torch.arange(t, dtype=torch.float32)
    inv = 1.0 / (10000.0 ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
    ang = torch.outer(pos, inv)
    cos, sin = torch.cat([ang.cos(), ang.cos()], -1), torch.cat([ang.sin(), ang.sin()], -1)

    def rms(v: Any, g: Any) -> Any:
        return v * torch.rsqrt(v.pow(2).mean(-1, keepdim=True) + 1e-5) * g

    def rope(v: Any) -> Any:
        h1, h2 = v[..., : hd // 2], v[..., hd // 2 :]
        return v * cos + torch.cat([-h2, h1], -1) * sin

    n_layers = len({k.split(".")[1] for k in params if k.startswith("text.L")})
    for i in range(n_layers):
        def p(r: str, i: int = i) -> Any:
            return params[f"text.L{i}.{r}"]

        h = rms(x, p("norm.attn_in"))
        q = (h @ p("attn.q").T).view(b, t, nh, hd).transpose(1, 2)
        k = (h @ p("attn.k").T).view(b, t, nkv, hd).transpose(1, 2)
        v = (h @ p("attn.v").T).view(b, t, nkv, hd).transpose(1, 2)
        q, k = rope(q), rope(k)
        k, v = k.repeat_interleave(nh // nkv, 1), v.repeat_interleave(nh // nkv, 1)
        a = f.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, t, -1)
        x = x + a @ p("attn.o").T
        h = rms(x, p("norm.mlp_in"))
        x = x + (f.silu(h @ p("mlp.gate").T) * (h @ p("mlp.up").T)) @ p("mlp.down").T
    x = rms(x, params["text.final_norm"])
    return x @ params.get("text.lm_head", params["text.embed"]).T


def train(state: State, cfg: ModelConfig, data: np.ndarray, *, steps: int, lr: float, seed: int,
          batch: int = 8, seq: int = 64, teacher: Callable[[Any], Any] | None = None) -> State:  # fmt: skip
    """A few AdamW steps on token ids ``data`` (next-token loss, or KL to ``teacher`` logits)."""
    torch = _torch()
    torch.manual_seed(seed)
    params = {k: torch.tensor(v, requires_grad=True) for k, v in state.items()}
    opt = torch.optim.AdamW(params.values(), lr=lr, weight_decay=0.0)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        starts = rng.integers(0, len(data) - seq - 1, batch)
        x = torch.tensor(np.stack([data[s : s + seq] for s in starts]), dtype=torch.long)
        y = torch.tensor(np.stack([data[s + 1 : s + seq + 1] for s in starts]), dtype=torch.long)
        logits = forward(params, x, cfg)
        if teacher is None:
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        else:
            with torch.no_grad():
                tl = teacher(x)
            loss = torch.nn.functional.kl_div(logits.log_softmax(-1), tl.log_softmax(-1), log_target=True,
                                              reduction="batchmean")  # fmt: skip
        opt.zero_grad()
        loss.backward()
        opt.step()
    return {k: v.detach().numpy().astype(np.float32) for k, v in params.items()}


def tiny_config(vocab: int = 256) -> ModelConfig:
    return ModelConfig("llama", 4, 128, 4, 2, 344, vocab)


def init_tiny(cfg: ModelConfig, seed: int) -> State:
    """Scaled-down Llama initialised like HF (normal 0.02, gains 1)."""
    rng = np.random.default_rng(seed)
    d, h, hd = cfg.d_model, cfg.d_ff, cfg.d_model // cfg.n_heads

    def w(*s: int) -> np.ndarray:
        return (0.02 * rng.standard_normal(s)).astype(np.float32)

    st: State = {"text.embed": w(cfg.vocab, d), "text.final_norm": np.ones(d, np.float32)}
    for i in range(cfg.n_layers):
        st |= {f"text.L{i}.attn.q": w(cfg.n_heads * hd, d), f"text.L{i}.attn.k": w(cfg.n_kv_heads * hd, d),
               f"text.L{i}.attn.v": w(cfg.n_kv_heads * hd, d), f"text.L{i}.attn.o": w(d, cfg.n_heads * hd),
               f"text.L{i}.mlp.gate": w(h, d), f"text.L{i}.mlp.up": w(h, d), f"text.L{i}.mlp.down": w(d, h),
               f"text.L{i}.norm.attn_in": np.ones(d, np.float32), f"text.L{i}.norm.mlp_in": np.ones(d, np.float32)}  # fmt: skip
    return st


def byte_corpus(max_bytes: int = 400_000) -> np.ndarray:
    """Offline training text: Python standard-library sources, as byte ids."""
    import sysconfig

    root = Path(sysconfig.get_paths()["stdlib"])
    buf = bytearray()
    for f in sorted(root.glob("*.py")):
        buf += f.read_bytes()
        if len(buf) >= max_bytes:
            break
    return np.frombuffer(bytes(buf[:max_bytes]), dtype=np.uint8).astype(np.int64)


def greedy_encode(tok: Tokenizer, text: str, max_len: int = 16) -> np.ndarray:
    """Crude longest-match encoding with a byte-level BPE vocabulary (enough to fine-tune a few steps)."""
    index = {t: i for i, t in enumerate(tok.tokens)}
    s = text.replace(" ", "Ġ").replace("\n", "Ċ")
    ids: list[int] = []
    i = 0
    while i < len(s):
        for n in range(min(max_len, len(s) - i), 0, -1):
            j = index.get(s[i : i + n])
            if j is not None:
                ids.append(j)
                i += n
                break
        else:
            i += 1
    return np.array(ids, dtype=np.int64)


def bytes_tokenizer() -> Tokenizer:
    return Tokenizer("bpe", tuple(f"<0x{i:02X}>" for i in range(256)), (), "bytes")


def open_state(path: Path) -> tuple[State, ModelConfig, Tokenizer | None]:
    with open_checkpoint(path) as c:
        return load_state(c), c.config, c.tokenizer


def cosine_trap_numbers(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    from .stats import pearson, predicted_cosine, raw_cosine

    return {"raw_cosine": raw_cosine(a, b), "predicted": predicted_cosine(a, b), "pearson": pearson(a, b),
            "null_sd": 1 / math.sqrt(a.size)}  # fmt: skip
