"""Readers, canonical roles, tokenizers, and robustness to malformed files (independence audit)."""

from __future__ import annotations

import json
import struct
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

safetensors_numpy = pytest.importorskip("safetensors.numpy")

from sovereval.audit import assets
from sovereval.audit.checkpoint import open_checkpoint
from sovereval.audit.errors import FormatError, PickleRefused
from sovereval.audit.gguf_reader import GgufFile
from sovereval.audit.roles import classify, permute_llama_gguf, unpermute_llama_gguf
from sovereval.audit.tokenizer import Tokenizer, compare

SMOL = assets.smollm2_path()
MINILM = assets.minilm_path()
needs_smol = pytest.mark.skipif(SMOL is None, reason="run `python -m sovereval.audit.assets install`")
needs_minilm = pytest.mark.skipif(MINILM is None, reason="run `python -m sovereval.audit.assets install`")


def _llama_state(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "model.embed_tokens.weight": rng.standard_normal((32, 16)).astype(np.float32),
        "model.layers.0.self_attn.q_proj.weight": rng.standard_normal((16, 16)).astype(np.float32),
        "model.layers.0.self_attn.k_proj.weight": rng.standard_normal((8, 16)).astype(np.float32),
        "model.layers.0.input_layernorm.weight": rng.random(16).astype(np.float32),
        "model.norm.weight": rng.random(16).astype(np.float32),
    }


def test_safetensors_roundtrip_and_dtypes(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    st = _llama_state(rng)
    st["model.layers.0.mlp.up_proj.weight"] = rng.standard_normal((24, 16)).astype(np.float16)
    safetensors_numpy.save_file(st, str(tmp_path / "model.safetensors"))
    with open_checkpoint(tmp_path) as c:
        assert c.format == "safetensors"
        assert set(c.tensors) >= {"text.embed", "text.L0.attn.q", "text.L0.attn.k", "text.L0.norm.attn_in",
                                  "text.final_norm", "text.L0.mlp.up"}  # fmt: skip
        np.testing.assert_array_equal(c.read("text.L0.attn.q"), st["model.layers.0.self_attn.q_proj.weight"])
        np.testing.assert_array_equal(c.read("text.L0.mlp.up"), st["model.layers.0.mlp.up_proj.weight"].astype(np.float32))


def test_sharded_index(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    st = _llama_state(rng)
    names = sorted(st)
    a, b = names[:2], names[2:]
    safetensors_numpy.save_file({k: st[k] for k in a}, str(tmp_path / "m-00001-of-00002.safetensors"))
    safetensors_numpy.save_file({k: st[k] for k in b}, str(tmp_path / "m-00002-of-00002.safetensors"))
    wm = {k: "m-00001-of-00002.safetensors" for k in a} | {k: "m-00002-of-00002.safetensors" for k in b}
    (tmp_path / "m.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": wm}))
    with open_checkpoint(tmp_path / "m.safetensors.index.json") as c:
        assert len(c.files) == 2 and len(c.tensors) == len(st)
        np.testing.assert_array_equal(c.read("text.embed"), st["model.embed_tokens.weight"])


def test_fuzzed_safetensors_headers_fail_cleanly(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    safetensors_numpy.save_file(_llama_state(rng), str(tmp_path / "ok.safetensors"))
    good = (tmp_path / "ok.safetensors").read_bytes()
    n = struct.unpack("<Q", good[:8])[0]
    bad = tmp_path / "bad.safetensors"
    cases = [good[:5], good[: 8 + n // 2], struct.pack("<Q", 1 << 60) + good[8:], good[: len(good) - 7]]
    for _ in range(150):  # random byte flips inside the header
        b = bytearray(good)
        for i in rng.integers(0, 8 + n, 3):
            b[i] = int(rng.integers(0, 256))
        cases.append(bytes(b))
    t0 = time.time()
    for data in cases:
        bad.write_bytes(data)
        try:
            with open_checkpoint(bad) as c:
                for k in c.tensors:
                    c.read(k)
        except FormatError:
            pass
        except Exception as e:  # pragma: no cover - the point of the test
            raise AssertionError(f"unexpected {type(e).__name__}: {e}") from e
    assert time.time() - t0 < 20


def test_pickles_refused_without_unpickling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pickle

    def boom(*a: object, **k: object) -> None:
        raise AssertionError("pickle must never be called on inputs")

    monkeypatch.setattr(pickle, "load", boom)
    monkeypatch.setattr(pickle, "loads", boom)
    raw = tmp_path / "weights.dat"
    raw.write_bytes(b"\x80\x04\x95" + b"\x00" * 20)
    z = tmp_path / "model.pt"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    d = tmp_path / "hfdir"
    d.mkdir()
    (d / "pytorch_model.bin").write_bytes(b"\x80\x02}q\x00.")
    for p in (raw, z, d):
        with pytest.raises(PickleRefused, match="safetensors"):
            open_checkpoint(p)


def test_roles_cover_formats() -> None:
    cases = {
        "blk.3.attn_q.weight": "text.L3.attn.q",
        "token_embd.weight": "text.embed",
        "model.layers.2.mlp.down_proj.weight": "text.L2.mlp.down",
        "encoder.layer.1.attention.self.query.weight": "text.L1.attn.q",
        "embeddings.position_embeddings.weight": "text.pos_embed",
        "vision_tower.encoder.layer.0.intermediate.dense.weight": "vision.L0.mlp.up",
        "model.visual.blocks.5.attn.qkv.weight": "vision.L5.attn.qkv",
        "blk.0.ffn_gate_exps.weight": "text.L0.experts.gate",
    }
    for name, key in cases.items():
        rn = classify(name)
        assert rn is not None and rn.key == key, (name, rn)


def test_qk_unpermute_roundtrip() -> None:
    w = np.random.default_rng(3).standard_normal((9 * 64, 32)).astype(np.float32)
    np.testing.assert_array_equal(unpermute_llama_gguf(permute_llama_gguf(w, 9), 9), w)
    assert not np.array_equal(permute_llama_gguf(w, 9), w)


def test_fused_qkv_split(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    qkv = rng.standard_normal((48, 16)).astype(np.float32)
    safetensors_numpy.save_file({"model.layers.0.self_attn.qkv_proj.weight": qkv,
                                 "model.embed_tokens.weight": rng.standard_normal((8, 16)).astype(np.float32)},
                                str(tmp_path / "model.safetensors"))  # fmt: skip
    with open_checkpoint(tmp_path) as c:
        np.testing.assert_array_equal(c.read("text.L0.attn.k"), qkv[16:32])


@needs_smol
def test_smollm2_gguf_canonical() -> None:
    assert SMOL is not None
    with open_checkpoint(SMOL) as c:
        assert c.config.n_layers == 30 and c.config.d_model == 576 and c.config.vocab == 49152
        assert len([k for k in c.tensors if k.endswith("attn.q")]) == 30
        q = c.read("text.L5.attn.q")
        g = c._backend.read("blk.5.attn_q.weight")
        np.testing.assert_array_equal(q, unpermute_llama_gguf(g, 9))
        # after unpermuting, RoPE partners (i, i + 32) sit in the same head half-block: their row norms
        # correlate more than GGUF's interleaved neighbours do in the canonical layout
        n = np.linalg.norm(q, axis=1).reshape(9, 64)
        partner = np.corrcoef(n[:, :32].ravel(), n[:, 32:].ravel())[0, 1]
        assert partner > 0.5
        assert c.tokenizer is not None and c.tokenizer.kind == "bpe" and len(c.tokenizer.merges) > 40_000


@needs_smol
def test_truncated_and_fuzzed_gguf(tmp_path: Path) -> None:
    assert SMOL is not None
    head = SMOL.read_bytes()[: 3 << 20]
    rng = np.random.default_rng(5)
    bad = tmp_path / "bad.gguf"
    t0 = time.time()
    for cut in [4, 20, 1000, 100_000, len(head)] + list(rng.integers(24, len(head), 10)):
        bad.write_bytes(head[:cut])
        with pytest.raises(FormatError):
            GgufFile(bad)
    for _ in range(40):
        b = bytearray(head[:200_000])
        for i in rng.integers(4, 2000, 2):
            b[i] = int(rng.integers(0, 256))
        bad.write_bytes(bytes(b))
        try:
            GgufFile(bad)
        except FormatError:
            pass
    assert time.time() - t0 < 30


@needs_minilm
def test_minilm_and_tokenizers() -> None:
    assert MINILM is not None
    with open_checkpoint(MINILM) as c:
        assert c.config.arch == "bert" and c.config.n_layers == 6
        assert "text.L5.mlp.down" in c.tensors and "text.pos_embed" in c.tensors
        wp = c.tokenizer
    assert wp is not None and wp.kind == "wordpiece" and len(wp.tokens) == 30522
    assert compare(wp, wp).relation == "identical"
    ext = Tokenizer("wordpiece", wp.tokens + ("newtok1", "newtok2"))
    assert compare(ext, wp).relation == "extension"
    if SMOL is not None:
        with open_checkpoint(SMOL) as s:
            assert s.tokenizer is not None
            cmp = compare(s.tokenizer, wp)
        assert cmp.relation == "independent" and cmp.same_id_agreement < 0.05
