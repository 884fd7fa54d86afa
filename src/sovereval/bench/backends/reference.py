"""An independent float32 forward pass of a GGUF language model in numpy, to judge llama.cpp against.

Every weight is dequantised to float32 with :mod:`gguf` (``GGUFReader`` + ``gguf.quants.dequantize``); the
matrix products run in float32, norms, RoPE and attention in float64, and there is no KV quantisation.  So
the only thing this shares with llama.cpp is the quantised file itself: the difference to llama.cpp's logits
is what its quantised kernels (8-bit activations, f16 K/V) cost.

Supported architectures, following llama.cpp's graphs (``src/models/llama.cpp``, ``src/models/gemma3.cpp``):

* ``llama``: RMSNorm, SwiGLU, GQA, RoPE in llama.cpp's "normal" mode (rotating adjacent pairs ``(2i, 2i+1)``;
  the GGUF converter permutes the Q/K rows so this equals Hugging Face's half-split rotation), optional
  ``rope_freqs`` factors, linear RoPE scaling and biases.
* ``gemma3``: embeddings scaled by sqrt(n_embd), Q/K RMSNorm, NEOX RoPE (pairs ``(i, i + d/2)``), sliding-
  window layers (pattern from ``sliding_window_pattern``, default 5 local : 1 global) with their own RoPE base
  (``rope.freq_base_swa``, default 10000) and no RoPE scaling, post-attention/post-FFN norms, GELU (tanh),
  query scale 1/sqrt(head_dim) (n_embd/n_head for the 62-layer 27B), optional final logit soft-capping.
  The norm weights are used as stored: the converter has already added Gemma's ``1 +``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ReferenceModel", "continuation_logprobs"]

_ARCHS = ("llama", "gemma3")
_LAYER_TENSORS = {
    "attn_norm.weight", "attn_q.weight", "attn_k.weight", "attn_v.weight", "attn_output.weight",
    "attn_q.bias", "attn_k.bias", "attn_v.bias", "attn_output.bias", "ffn_norm.weight", "ffn_gate.weight",
    "ffn_up.weight", "ffn_down.weight", "ffn_gate.bias", "ffn_up.bias", "ffn_down.bias",
    "attn_q_norm.weight", "attn_k_norm.weight", "post_attention_norm.weight", "post_ffw_norm.weight",
}
_GLOBAL_TENSORS = {"token_embd.weight", "output_norm.weight", "output.weight", "rope_freqs.weight"}


@dataclass(frozen=True)
class _Config:
    arch: str
    n_layer: int
    n_embd: int
    n_head: int
    n_head_kv: int
    head_dim: int
    n_rot: int
    eps: float
    rope_base: float
    rope_scale: float  # multiplies positions (llama.cpp's freq_scale = 1/factor)
    rope_base_swa: float
    n_swa: int  # 0: no sliding window
    swa_layers: tuple[bool, ...]
    q_scale: float
    softcap: float


def _rms(x: np.ndarray, w: np.ndarray, eps: float) -> np.ndarray:
    x64 = x.astype(np.float64)
    y = x64 / np.sqrt(np.mean(x64 * x64, axis=-1, keepdims=True) + eps) * w
    return y.astype(np.float32)


def _rope(x: np.ndarray, pos: np.ndarray, n_rot: int, base: float, scale: float,
          factors: np.ndarray | None, neox: bool) -> np.ndarray:
    """Rotate the first ``n_rot`` dims of ``x`` (tokens, heads, head_dim) as ggml_rope_ext (no YaRN) does."""
    inv = base ** (-np.arange(0, n_rot, 2, dtype=np.float64) / n_rot)
    if factors is not None:
        inv = inv / factors.astype(np.float64)
    theta = (pos.astype(np.float64) * scale)[:, None] * inv[None, :]  # (tokens, n_rot/2)
    cos, sin = np.cos(theta)[:, None, :], np.sin(theta)[:, None, :]
    out = x.astype(np.float64)
    if neox:
        a, b = out[..., : n_rot // 2].copy(), out[..., n_rot // 2 : n_rot].copy()
        out[..., : n_rot // 2], out[..., n_rot // 2 : n_rot] = a * cos - b * sin, a * sin + b * cos
    else:
        a, b = out[..., 0:n_rot:2].copy(), out[..., 1:n_rot:2].copy()
        out[..., 0:n_rot:2], out[..., 1:n_rot:2] = a * cos - b * sin, a * sin + b * cos
    return out


def _gelu_tanh(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(np.float32(np.sqrt(2.0 / np.pi)) * (x + np.float32(0.044715) * x**3)))


def _silu(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.exp(-x))


class ReferenceModel:
    """A GGUF model held as float32 weights; :meth:`logits` runs a plain causal forward pass."""

    def __init__(self, config: _Config, weights: dict[str, np.ndarray]) -> None:
        self.config = config
        self._w = weights
        self._out = weights.get("output.weight", weights["token_embd.weight"])  # tied when absent

    @property
    def n_vocab(self) -> int:
        return int(self._out.shape[0])

    @classmethod
    def load(cls, path: str | Path) -> ReferenceModel:
        """Read and dequantise ``path``; ``ValueError`` names the file and why it is not supported."""
        from gguf import GGUFReader
        from gguf.quants import dequantize

        path = Path(path)
        reader = GGUFReader(path)

        def meta(key: str, default: Any = None) -> Any:
            field = reader.fields.get(key)
            return default if field is None else field.contents()

        def bad(reason: str) -> ValueError:
            return ValueError(f"{path}: {reason}")

        arch = meta("general.architecture")
        if arch not in _ARCHS:
            raise bad(f"unsupported architecture {arch!r} (supported: {', '.join(_ARCHS)})")
        n_layer, n_embd, n_head = (int(meta(f"{arch}.{k}")) for k in
                                   ("block_count", "embedding_length", "attention.head_count"))
        n_head_kv = meta(f"{arch}.attention.head_count_kv", n_head)
        if isinstance(n_head_kv, list):
            raise bad("per-layer head counts are not supported")
        head_dim = int(meta(f"{arch}.attention.key_length", n_embd // n_head))
        if int(meta(f"{arch}.attention.value_length", head_dim)) != head_dim:
            raise bad("key_length != value_length is not supported")
        n_rot = int(meta(f"{arch}.rope.dimension_count", head_dim))
        scaling = meta(f"{arch}.rope.scaling.type", "linear")
        if scaling not in ("none", "linear"):
            raise bad(f"RoPE scaling {scaling!r} is not supported")
        factor = float(meta(f"{arch}.rope.scaling.factor", meta(f"{arch}.rope.scale_linear", 0.0)))
        n_swa, swa_layers = 0, (False,) * n_layer
        if arch == "gemma3" and int(meta("gemma3.attention.sliding_window", 0)) > 0:
            n_swa = int(meta("gemma3.attention.sliding_window"))
            pattern = meta("gemma3.attention.sliding_window_pattern", 6)
            if isinstance(pattern, list):  # llama.cpp: an explicit per-layer array of booleans
                swa_layers = tuple(bool(p) for p in pattern)
            else:  # llama.cpp's set_swa_pattern(n, dense_first=False): every n-th layer is global
                swa_layers = tuple(pattern == 0 or i % pattern < pattern - 1 for i in range(n_layer))
        q_scale = 1.0 / np.sqrt(head_dim)
        if arch == "gemma3" and n_layer == 62:  # llama.cpp (gemma_pytorch): 27B scales by n_embd / n_head
            q_scale = 1.0 / np.sqrt(n_embd / n_head)
        config = _Config(
            arch=arch, n_layer=n_layer, n_embd=n_embd, n_head=n_head, n_head_kv=int(n_head_kv),
            head_dim=head_dim, n_rot=n_rot, eps=float(meta(f"{arch}.attention.layer_norm_rms_epsilon")),
            rope_base=float(meta(f"{arch}.rope.freq_base", 10000.0)),
            rope_scale=1.0 if factor == 0.0 else 1.0 / factor,
            rope_base_swa=float(meta(f"{arch}.rope.freq_base_swa", 10000.0)), n_swa=n_swa,
            swa_layers=swa_layers, q_scale=float(q_scale),
            softcap=float(meta(f"{arch}.final_logit_softcapping", 0.0) or 0.0),
        )
        weights: dict[str, np.ndarray] = {}
        for t in reader.tensors:
            parts = t.name.split(".", 2)
            known = (t.name in _GLOBAL_TENSORS if parts[0] != "blk" else
                     len(parts) == 3 and parts[2] in _LAYER_TENSORS)
            if not known or (arch == "gemma3" and t.name == "rope_freqs.weight"):
                raise bad(f"unsupported tensor {t.name!r} for architecture {arch}")
            try:
                w = dequantize(t.data, t.tensor_type)
            except NotImplementedError as e:
                raise bad(f"tensor {t.name!r} has unsupported type {t.tensor_type.name}") from e
            weights[t.name] = np.ascontiguousarray(
                w.reshape(tuple(int(d) for d in reversed(t.shape))), dtype=np.float32)
        return cls(config, weights)

    def _layer(self, x: np.ndarray, il: int, pos: np.ndarray) -> np.ndarray:
        c, w = self.config, self._w
        p = f"blk.{il}."

        def lin(h: np.ndarray, name: str) -> np.ndarray:
            y = h @ w[p + name + ".weight"].T
            bias = w.get(p + name + ".bias")
            return y if bias is None else y + bias

        n, gemma = x.shape[0], c.arch == "gemma3"
        h = _rms(x, w[p + "attn_norm.weight"], c.eps)
        q = lin(h, "attn_q").reshape(n, c.n_head, c.head_dim)
        k = lin(h, "attn_k").reshape(n, c.n_head_kv, c.head_dim)
        v = lin(h, "attn_v").reshape(n, c.n_head_kv, c.head_dim).astype(np.float64)
        if gemma:
            q, k = _rms(q, w[p + "attn_q_norm.weight"], c.eps), _rms(k, w[p + "attn_k_norm.weight"], c.eps)
        swa = c.swa_layers[il]
        base = c.rope_base_swa if swa else c.rope_base
        scale = 1.0 if swa else c.rope_scale  # llama.cpp: rope_freq_scale_train_swa = 1
        factors = w.get("rope_freqs.weight")
        q = _rope(q, pos, c.n_rot, base, scale, factors, neox=gemma) * c.q_scale
        k = _rope(k, pos, c.n_rot, base, scale, factors, neox=gemma)
        group = c.n_head // c.n_head_kv  # query head j uses KV head j // group (ggml broadcast)
        qg = q.transpose(1, 0, 2).reshape(c.n_head_kv, group, n, c.head_dim)
        scores = qg @ k.transpose(1, 2, 0)[:, None]  # (kv, group, n_q, n_k)
        qi, ki = np.arange(n)[:, None], np.arange(n)[None, :]
        masked = (ki > qi) | ((qi - ki >= c.n_swa) if swa else False)
        scores = np.where(masked, -np.inf, scores)
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        probs = scores / scores.sum(axis=-1, keepdims=True)
        att = (probs @ v.transpose(1, 0, 2)[:, None]).reshape(c.n_head, n, c.head_dim)
        o = lin(att.transpose(1, 0, 2).reshape(n, c.n_head * c.head_dim).astype(np.float32), "attn_output")
        if gemma:
            o = _rms(o, w[p + "post_attention_norm.weight"], c.eps)
        x = x + o
        h = _rms(x, w[p + "ffn_norm.weight"], c.eps)
        act = _gelu_tanh if gemma else _silu
        f = lin(act(lin(h, "ffn_gate")) * lin(h, "ffn_up"), "ffn_down")
        if gemma:
            f = _rms(f, w[p + "post_ffw_norm.weight"], c.eps)
        return x + f

    def logits(self, tokens: Sequence[int]) -> np.ndarray:
        """(len(tokens), n_vocab) float32 logits of a causal pass over ``tokens`` at positions 0..n-1."""
        ids = np.asarray(tokens, dtype=np.int64)
        if ids.ndim != 1 or ids.size == 0 or ids.min() < 0 or ids.max() >= self.n_vocab:
            raise ValueError(f"tokens must be a non-empty sequence of ids in [0, {self.n_vocab})")
        c = self.config
        x = self._w["token_embd.weight"][ids]
        if c.arch == "gemma3":
            x = x * np.float32(np.sqrt(c.n_embd))
        pos = np.arange(ids.size)
        for il in range(c.n_layer):
            x = self._layer(x, il, pos)
        out = _rms(x, self._w["output_norm.weight"], c.eps) @ self._out.T
        if c.softcap:
            out = (np.tanh(out.astype(np.float64) / c.softcap) * c.softcap).astype(np.float32)
        return np.asarray(out, dtype=np.float32)


def continuation_logprobs(model: ReferenceModel, whole: Sequence[int], split: int) -> np.ndarray:
    """float64 log-prob of each token whole[split:] given whole[:j] (row j-1 predicts token j)."""
    if not 1 <= split <= len(whole):
        raise ValueError(f"split must be in [1, {len(whole)}], got {split}")
    if split == len(whole):
        return np.zeros(0, dtype=np.float64)
    rows = model.logits(whole[:-1])[split - 1 :].astype(np.float64)
    mx = rows.max(axis=-1, keepdims=True)
    logz = mx[:, 0] + np.log(np.exp(rows - mx).sum(axis=-1))
    targets = np.asarray(whole[split:], dtype=np.int64)
    return rows[np.arange(targets.size), targets] - logz
