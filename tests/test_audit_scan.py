"""The streamed scan (fingerprint pass): hashes equal to hashing the stored bytes directly, and a resident
set that stays bounded however large the checkpoint (mapped pages are dropped after use)."""

from __future__ import annotations

import hashlib
import json
import struct
import subprocess
import sys
from pathlib import Path

import blake3
import numpy as np
import pytest
import xxhash

safetensors_numpy = pytest.importorskip("safetensors.numpy")

from sovereval.audit import assets, pages
from sovereval.audit.checkpoint import open_checkpoint
from sovereval.audit.fingerprint import bf16_hash, build_fingerprint
from sovereval.audit.st_reader import parse_header

MINILM = assets.minilm_path()


def _direct(path: Path) -> dict[str, tuple[str, str, str]]:
    """Tensor name -> (stored dtype, XXH3-128 and BLAKE3 of its bytes), read plainly from the file."""
    _, entries = parse_header(path)
    out = {}
    with open(path, "rb") as f:
        for e in entries:
            f.seek(e.start)
            data = f.read(e.nbytes)
            out[e.name] = (e.dtype, xxhash.xxh3_128(data).hexdigest(), blake3.blake3(data).hexdigest())
    return out


def _check_hashes(ckpt_path: Path, file: Path) -> int:
    direct = _direct(file)
    n = 0
    with open_checkpoint(ckpt_path) as c:
        fp = build_fingerprint(c, "x", source_hashes=True)
        assert fp.meta["source_files"] == {file.name: hashlib.sha256(file.read_bytes()).hexdigest()}
        for key, ref in c.tensors.items():
            info = fp.tensors[key]
            dtype, fast, strong = direct[ref.source]
            assert info["raw_xxh3"].split(":")[0] == fast and info["raw_blake3"].split(":")[0] == strong, key
            assert info["bf16_xxh3"] == bf16_hash(c.read(key)), key
            assert info["bf16_blake3"] == bf16_hash(c.read(key), "blake3"), key
            if dtype == "BF16" and not ref.ops:
                assert info["bf16_xxh3"] == fast and info["bf16_blake3"] == strong
            n += 1
    return n


@pytest.mark.skipif(MINILM is None, reason="run `sovereval audit install-models`")
def test_streamed_hashes_equal_direct_hashes_on_a_real_model() -> None:
    assert MINILM is not None
    assert _check_hashes(MINILM, MINILM / "model.safetensors") > 90  # F32: raw and bf16-rounded hashes


def test_streamed_hashes_bf16_f16_and_fused(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    st = {
        "model.embed_tokens.weight": (rng.standard_normal((300, 64)) * 0.02).astype(np.float16),
        "model.layers.0.self_attn.qkv_proj.weight": rng.standard_normal((192, 64)).astype(np.float32),  # fused
        "model.layers.0.mlp.down_proj.weight": rng.standard_normal((64, 100)).astype(np.float32),
        "model.layers.0.input_layernorm.weight": np.ones(64, np.float32),
        "model.norm.weight": rng.random(64).astype(np.float32),
    }
    bf = {k.replace("layers.0", "layers.1"): (v.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
          for k, v in st.items() if "layers.0" in k}  # fmt: skip
    path = tmp_path / "model.safetensors"
    safetensors_numpy.save_file(st, str(path))
    # add BF16 tensors by rewriting the header (numpy has no bfloat16)
    _append_bf16(path, bf)
    assert _check_hashes(tmp_path, path) == 12  # 2 layers x (q, k, v split from the fused tensor, down, norm) + 2


def _append_bf16(path: Path, extra: dict[str, np.ndarray]) -> None:
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = bytearray(raw[8 + n :])
    for k, v in extra.items():
        header[k] = {"dtype": "BF16", "shape": list(v.shape), "data_offsets": [len(data), len(data) + v.nbytes]}
        data += v.tobytes()
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    path.write_bytes(struct.pack("<Q", len(h)) + h + bytes(data))


def _write_llama_bf16(path: Path, d: int, ff: int, layers: int, vocab: int) -> int:
    """A Llama-layout BF16 checkpoint written tensor by tensor (values from a small random bank)."""
    shapes: dict[str, tuple[int, ...]] = {"model.embed_tokens.weight": (vocab, d), "model.norm.weight": (d,)}
    for i in range(layers):
        p = f"model.layers.{i}."
        shapes |= {p + "self_attn.q_proj.weight": (d, d), p + "self_attn.k_proj.weight": (d, d),
                   p + "self_attn.v_proj.weight": (d, d), p + "self_attn.o_proj.weight": (d, d),
                   p + "mlp.gate_proj.weight": (ff, d), p + "mlp.up_proj.weight": (ff, d),
                   p + "mlp.down_proj.weight": (d, ff), p + "input_layernorm.weight": (d,)}  # fmt: skip
    header, off = {}, 0
    for k, s in shapes.items():
        nb = int(np.prod(s)) * 2
        header[k] = {"dtype": "BF16", "shape": list(s), "data_offsets": [off, off + nb]}
        off += nb
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    bank = ((np.random.default_rng(0).standard_normal(1 << 20, dtype=np.float32) * 0.02).view(np.uint32) >> 16)
    bank = bank.astype(np.uint16)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for j, s in enumerate(shapes.values()):
            n = int(np.prod(s))
            f.write(np.resize(np.roll(bank, j), n).tobytes())
    (path.parent / "config.json").write_text(json.dumps({"model_type": "llama", "num_attention_heads": 16,
                                                         "num_key_value_heads": 16, "hidden_size": d}))  # fmt: skip
    return path.stat().st_size


_CHILD = """
import json, sys
from pathlib import Path
from sovereval.audit.checkpoint import open_checkpoint
from sovereval.audit.fingerprint import build_fingerprint
def status(field):  # VmHWM: peak resident set of this process image (ru_maxrss would include the parent's
    for line in open("/proc/self/status"):  # resident set at fork time)
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
before = status("VmRSS")
with open_checkpoint(Path(sys.argv[1])) as c:
    fp = build_fingerprint(c, "big", source_hashes=False)
print(json.dumps({"before_mb": before, "peak_mb": status("VmHWM"), "tensors": len(fp.tensors)}))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmRSS from /proc")
def test_scan_resident_set_is_bounded(tmp_path: Path) -> None:
    """A 0.54 GB checkpoint is scanned with a resident set that grows by far less than the file: hashed
    chunks of the memory map are dropped after use and kept rows are copied with positioned reads (a
    scan that only maps the file grows by the whole file)."""
    path = tmp_path / "model.safetensors"
    size = _write_llama_bf16(path, d=2048, ff=5632, layers=4, vocab=32000)
    assert size > 500e6
    out = subprocess.run([sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, check=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["tensors"] == 2 + 4 * 8
    growth = r["peak_mb"] - r["before_mb"]  # two hashers' chunks in flight + kept arrays, not the file
    assert growth < 2 * pages.CHUNK / 2**20 + 64, (r, size)


def test_fingerprints_of_another_version_are_refused_with_how_to_rebuild(tmp_path: Path) -> None:
    """Version 1 hashed tensors with SHA-256: comparing them with BLAKE3 hashes would find no copy ever."""
    from sovereval.audit.errors import AuditError, FormatError
    from sovereval.audit.fingerprint import FINGERPRINT_VERSION, Fingerprint
    from sovereval.audit.registry import MANIFEST, load_reference

    old = Fingerprint({"version": "sovereval.audit.fingerprint/1", "name": "old", "tensors": {}}, {})
    sha = old.save(tmp_path / "old.npz")
    with pytest.raises(FormatError, match="rebuild it from its checkpoint"):
        Fingerprint.load(tmp_path / "old.npz")
    (tmp_path / MANIFEST).write_text(json.dumps({"version": "sovereval.audit.fingerprint/1", "references": {
        "old": {"file": "old.npz", "sha256": sha, "fingerprint_version": "sovereval.audit.fingerprint/1",
                "source": "/models/old"}}}))
    with pytest.raises(AuditError, match=r"audit fingerprint build /models/old --name old"):
        load_reference(tmp_path, "old")
    assert FINGERPRINT_VERSION.endswith("/2")


def test_an_xxh3_match_counts_only_when_blake3_confirms_it(tmp_path: Path) -> None:
    """XXH3 is not cryptographic: a crafted tensor could collide with a reference's.  A candidate whose
    BLAKE3 (read again from the suspect checkpoint) differs is reported, never evidence; a real copy is
    confirmed and matched."""
    from sovereval.audit.battery import run_battery

    ref_dir, sus_dir = tmp_path / "ref", tmp_path / "sus"
    ref_dir.mkdir()
    sus_dir.mkdir()
    _write_llama_bf16(ref_dir / "model.safetensors", d=64, ff=128, layers=2, vocab=256)
    _write_llama_bf16(sus_dir / "model.safetensors", d=64, ff=128, layers=2, vocab=256)  # the same bytes
    with open_checkpoint(ref_dir) as c:
        ref = build_fingerprint(c, "ref")
    assert all("bf16_blake3" in t for t in ref.tensors.values())
    with open_checkpoint(sus_dir) as c:
        sus = build_fingerprint(c, "sus", confirm_hashes=False, source_hashes=False)
        assert not any("bf16_blake3" in t for t in sus.tensors.values())
        copy = run_battery(sus, ref, c).exact
        assert copy["n_matched"] == copy["n_suspect_nontrivial"] > 0 and copy["n_unconfirmed"] == 0
    # a suspect whose q_proj differs but whose XXH3 was forged to the reference's
    raw = bytearray((sus_dir / "model.safetensors").read_bytes())
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    key = "model.layers.0.self_attn.q_proj.weight"
    a = header[key]["data_offsets"][0]
    raw[8 + n + a : 8 + n + a + 2] = b"\x01\x3c"  # one value changed
    (sus_dir / "model.safetensors").write_bytes(bytes(raw))
    with open_checkpoint(sus_dir) as c:
        sus = build_fingerprint(c, "sus", confirm_hashes=False, source_hashes=False)
        canon = [k for k in sus.tensors if sus.tensors[k]["bf16_xxh3"] != ref.tensors[k]["bf16_xxh3"]]
        assert len(canon) == 1
        sus.tensors[canon[0]]["bf16_xxh3"] = ref.tensors[canon[0]]["bf16_xxh3"]  # the forged collision
        forged = run_battery(sus, ref, c).exact
    assert forged["n_unconfirmed"] == 1 and forged["unconfirmed"] == canon
    assert forged["n_matched"] == copy["n_matched"] - 1 and canon[0] not in forged["matched"]
