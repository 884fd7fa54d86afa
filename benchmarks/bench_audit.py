"""Independence-audit benchmark: scan speed vs `cat`, peak RSS on a multi-GB synthetic checkpoint,
full battery time for SmolLM2 vs a variant, and (optionally) the full validation panel.

    .venv/bin/python benchmarks/bench_audit.py [--gb 3] [--validation full|quick|none]

The synthetic checkpoint is written to /tmp (never the repository) and removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def write_synthetic(path: Path, gb: float, d: int = 4096, ff: int = 11008) -> int:
    """Llama-layout bf16 safetensors of about ``gb`` GB, written tensor by tensor (bounded memory)."""
    per_layer = (4 * d * d + 3 * d * ff + 2 * d) * 2
    n_layers = max(1, int(gb * 1e9 // per_layer))
    shapes: dict[str, tuple[int, ...]] = {"model.embed_tokens.weight": (32000, d), "model.norm.weight": (d,)}
    for i in range(n_layers):
        p = f"model.layers.{i}."
        shapes |= {p + "self_attn.q_proj.weight": (d, d), p + "self_attn.k_proj.weight": (d, d),
                   p + "self_attn.v_proj.weight": (d, d), p + "self_attn.o_proj.weight": (d, d),
                   p + "mlp.gate_proj.weight": (ff, d), p + "mlp.up_proj.weight": (ff, d),
                   p + "mlp.down_proj.weight": (d, ff), p + "input_layernorm.weight": (d,),
                   p + "post_attention_layernorm.weight": (d,)}  # fmt: skip
    header, off = {}, 0
    for k, s in shapes.items():
        n = int(np.prod(s)) * 2
        header[k] = {"dtype": "BF16", "shape": list(s), "data_offsets": [off, off + n]}
        off += n
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    rng = np.random.default_rng(0)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for s in shapes.values():
            a = (0.02 * rng.standard_normal(s, dtype=np.float32)) if len(s) == 2 else 1 + 0.1 * rng.standard_normal(s, dtype=np.float32)
            f.write((a.view(np.uint32) >> 16).astype(np.uint16).tobytes())
    (path.parent / "config.json").write_text(json.dumps({"model_type": "llama", "num_attention_heads": 32,
                                                         "num_key_value_heads": 32, "hidden_size": d}))  # fmt: skip
    return path.stat().st_size


def scan_child(path: str) -> None:
    """Run in a subprocess: one fingerprint pass (what the suspect side costs), report time and RSS."""
    from sovereval.audit.checkpoint import open_checkpoint
    from sovereval.audit.fingerprint import build_fingerprint

    t = time.time()
    with open_checkpoint(Path(path)) as c:
        build_fingerprint(c, "synthetic", source_hashes=False)
    dt = time.time() - t
    print(json.dumps({"seconds": dt, "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def bench_scan(gb: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory(dir="/tmp", prefix="audit-bench-") as tmp:
        p = Path(tmp) / "model.safetensors"
        t = time.time()
        size = write_synthetic(p, gb)
        wt = time.time() - t
        subprocess.run(["cat", str(p)], stdout=subprocess.DEVNULL, check=True)  # warm the page cache
        t = time.time()
        subprocess.run(["cat", str(p)], stdout=subprocess.DEVNULL, check=True)
        cat_s = time.time() - t
        out = subprocess.run([sys.executable, __file__, "--scan-child", str(p)], capture_output=True, text=True,
                             check=True).stdout  # fmt: skip
        r = json.loads(out.strip().splitlines()[-1])
    return {"file_gb": size / 1e9, "write_s": wt, "cat_s": cat_s, "cat_gbps": size / 1e9 / cat_s,
            "scan_s": r["seconds"], "scan_gbps": size / 1e9 / r["seconds"],
            "ratio_vs_cat": cat_s / r["seconds"], "peak_rss_mb": r["max_rss_mb"]}  # fmt: skip


def bench_battery() -> dict[str, float]:
    from sovereval.audit import variants as V
    from sovereval.audit.assets import smollm2_path
    from sovereval.audit.battery import run_battery
    from sovereval.audit.checkpoint import open_checkpoint
    from sovereval.audit.decision import decide
    from sovereval.audit.fingerprint import build_fingerprint

    sm = smollm2_path()
    assert sm is not None, "install the carriers first"
    with tempfile.TemporaryDirectory(dir="/tmp", prefix="audit-bench-") as tmp:
        parent, cfg, tok = V.open_state(sm)
        V.save_hf(V.requantise(parent, "Q8_0"), cfg, Path(tmp) / "v", tok)
        t = time.time()
        with open_checkpoint(sm) as c:
            ref = build_fingerprint(c, "smollm2")
        t_ref = time.time() - t
        t = time.time()
        with open_checkpoint(Path(tmp) / "v") as c:
            sfp = build_fingerprint(c, "variant", extra_tokens=ref.meta["embed_tokens"])
            res = run_battery(sfp, ref, c)
        v = decide(res, ref)
        t_bat = time.time() - t
    return {"reference_fingerprint_s": t_ref, "suspect_pass_plus_battery_s": t_bat, "verdict": v.verdict,
            "tests": v.n_tests}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gb", type=float, default=3.0)
    ap.add_argument("--validation", default="none", choices=["none", "quick", "full"])
    ap.add_argument("--scan-child")
    a = ap.parse_args()
    if a.scan_child:
        scan_child(a.scan_child)
        return
    print(f"machine: {os.cpu_count()} cores")
    print("scan:", json.dumps(bench_scan(a.gb), indent=1))
    print("battery:", json.dumps(bench_battery(), indent=1))
    if a.validation != "none":
        from sovereval.audit.validate import run_validation

        rep = run_validation(Path(tempfile.mkdtemp(dir="/tmp", prefix="audit-val-")), a.validation)
        print(json.dumps(rep["summary"], indent=1))


if __name__ == "__main__":
    main()
