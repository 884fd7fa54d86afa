"""Independence-audit benchmark: scan speed vs `cat`, peak RSS on a multi-GB synthetic checkpoint,
full battery time for SmolLM2 vs a variant, and (optionally) the full validation panel.

    .venv/bin/python benchmarks/bench_audit.py [--gb 3] [--reps 3] [--path FILE] [--validation full|quick|none]

What is compared with `cat` ("the scan"): one fingerprint pass over the suspect checkpoint
(``build_fingerprint(..., source_hashes=False, confirm_hashes=False)``, the suspect pass — XXH3 of every tensor's stored bytes, the bf16
canonical hash, sub-blocks, norm vectors, token rows), timed inside a fresh process around that call
only, against ``cat FILE > /dev/null`` of the same file, both with the page cache warm (file read
once before) and both cold (the file's pages evicted with ``posix_fadvise(DONTNEED)`` before each run).
Best of ``--reps`` runs each (the machine may be shared; the load average is printed).  Also reported:
the hashing ceilings (two threads doing nothing but XXH3 — or, for comparison, BLAKE3 or SHA-256 — of
every tensor from the memory map), a reference pass (XXH3 + BLAKE3), the scan
plus the sha256 of the whole file that ``audit run`` adds for the reproducibility block, CPU seconds,
and peak RSS (VmHWM of the scanning process).

The synthetic checkpoint is written to /tmp (never the repository) and removed afterwards unless
``--path`` names an existing one.
"""

from __future__ import annotations

import argparse
import json
import os
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
        f.flush()
        os.fsync(f.fileno())  # clean pages: posix_fadvise(DONTNEED) can then evict them
    (path.parent / "config.json").write_text(json.dumps({"model_type": "llama", "num_attention_heads": 32,
                                                         "num_key_value_heads": 32, "hidden_size": d}))  # fmt: skip
    return path.stat().st_size


def _status(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def child(kind: str, path: str) -> None:
    """Run in a fresh process: one pass of ``kind`` over ``path``; report wall time of the pass only, CPU
    seconds (all threads) and peak RSS (VmHWM: this process image only, unlike ru_maxrss after fork)."""
    import hashlib
    import resource
    from concurrent.futures import ThreadPoolExecutor

    from sovereval.audit.checkpoint import open_checkpoint
    from sovereval.audit.fingerprint import build_fingerprint

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    with open_checkpoint(Path(path)) as c:
        c0, t = cpu(), time.perf_counter()
        if kind == "scan":  # the suspect pass: XXH3 only (matches are confirmed later by the battery)
            build_fingerprint(c, "synthetic", source_hashes=False, confirm_hashes=False)
        elif kind == "reference":  # a reference pass: XXH3 + BLAKE3
            build_fingerprint(c, "synthetic", source_hashes=False)
        elif kind == "scan+filehash":
            build_fingerprint(c, "synthetic", source_hashes=True)
        elif kind in ("xxh3-ceiling", "blake3-ceiling", "sha256-ceiling"):
            import blake3
            import xxhash

            new = {"xxh3-ceiling": xxhash.xxh3_128, "blake3-ceiling": blake3.blake3,
                   "sha256-ceiling": hashlib.sha256}[kind]

            def digest(key: str) -> str:
                h = new()
                for piece in c.chunks(key):
                    h.update(piece)
                return h.hexdigest()

            with ThreadPoolExecutor(2) as ex:
                list(ex.map(digest, list(c.tensors)))
        dt, dc = time.perf_counter() - t, cpu() - c0
    print(json.dumps({"seconds": dt, "cpu_seconds": dc, "peak_rss_mb": _status("VmHWM")}))


def _evict(path: Path) -> None:
    """Drop the file's pages from the page cache (a cold read follows); written back first if dirty."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def _cat(path: Path) -> float:
    t = time.perf_counter()
    subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


def _child(kind: str, path: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(path)], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    return json.loads(out.strip().splitlines()[-1])


def bench_scan(path: Path, reps: int) -> dict[str, object]:
    size = path.stat().st_size
    runs: dict[str, list[float]] = {k: [] for k in ("cat_warm", "cat_cold", "scan_warm", "scan_cold",
                                                   "ceiling_warm", "blake3_ceiling_warm", "sha256_ceiling_warm",
                                                   "reference_warm", "scan_filehash_warm")}  # fmt: skip
    cpu: dict[str, float] = {}
    rss = 0.0
    loads = [os.getloadavg()[0]]
    for _ in range(reps):
        _cat(path)  # warm
        runs["cat_warm"].append(_cat(path))
        r = _child("scan", path)
        runs["scan_warm"].append(r["seconds"])
        cpu["scan"] = min(cpu.get("scan", 1e9), r["cpu_seconds"])
        rss = max(rss, r["peak_rss_mb"])
        r = _child("xxh3-ceiling", path)
        runs["ceiling_warm"].append(r["seconds"])
        cpu["ceiling"] = min(cpu.get("ceiling", 1e9), r["cpu_seconds"])
        runs["blake3_ceiling_warm"].append(_child("blake3-ceiling", path)["seconds"])
        runs["sha256_ceiling_warm"].append(_child("sha256-ceiling", path)["seconds"])
        runs["reference_warm"].append(_child("reference", path)["seconds"])
        r = _child("scan+filehash", path)
        runs["scan_filehash_warm"].append(r["seconds"])
        rss = max(rss, r["peak_rss_mb"])
        _evict(path)
        runs["cat_cold"].append(_cat(path))
        _evict(path)
        r = _child("scan", path)
        runs["scan_cold"].append(r["seconds"])
        rss = max(rss, r["peak_rss_mb"])
        loads.append(os.getloadavg()[0])
    best = {k: min(v) for k, v in runs.items()}
    gb = size / 1e9
    return {
        "file_gb": gb,
        "load_avg_1min_during": loads,
        "best_seconds": best,
        "all_seconds": runs,
        "gbps": {k: gb / v for k, v in best.items()},
        "ratio_vs_cat_warm": best["cat_warm"] / best["scan_warm"],
        "ratio_vs_cat_cold": best["cat_cold"] / best["scan_cold"],
        "ceiling_ratio_vs_cat_warm": best["cat_warm"] / best["ceiling_warm"],
        "blake3_ceiling_ratio_vs_cat_warm": best["cat_warm"] / best["blake3_ceiling_warm"],
        "sha256_ceiling_ratio_vs_cat_warm": best["cat_warm"] / best["sha256_ceiling_warm"],
        "reference_pass_ratio_vs_cat_warm": best["cat_warm"] / best["reference_warm"],
        "scan_cpu_seconds": cpu["scan"],
        "ceiling_cpu_seconds": cpu["ceiling"],
        "peak_rss_mb": rss,
    }


def bench_battery() -> dict[str, object]:
    from sovereval.audit import variants as V
    from sovereval.audit.assets import smollm2_path
    from sovereval.audit.battery import run_battery
    from sovereval.audit.checkpoint import open_checkpoint
    from sovereval.audit.decision import decide
    from sovereval.audit.fingerprint import build_fingerprint

    sm = smollm2_path()
    assert sm is not None, "install the carriers first: sovereval audit install-models"
    with tempfile.TemporaryDirectory(dir="/tmp", prefix="audit-bench-") as tmp:
        parent, cfg, tok = V.open_state(sm)
        V.save_hf(V.requantise(parent, "Q8_0"), cfg, Path(tmp) / "v", tok)
        t = time.perf_counter()
        with open_checkpoint(sm) as c:
            ref = build_fingerprint(c, "smollm2")
        t_ref = time.perf_counter() - t
        t0 = time.perf_counter()
        with open_checkpoint(Path(tmp) / "v") as c:
            sfp = build_fingerprint(c, "variant", extra_tokens=ref.meta["embed_tokens"])
            t1 = time.perf_counter()
            res = run_battery(sfp, ref, c)
            t2 = time.perf_counter()
        v = decide(res, ref)
        t3 = time.perf_counter()
    return {"reference_fingerprint_s": t_ref, "suspect_fingerprint_s": t1 - t0, "battery_s": t2 - t1,
            "decision_s": t3 - t2, "suspect_pass_plus_battery_s": t3 - t0, "verdict": v.verdict,
            "tests": v.n_tests, "load_avg_1min_after": os.getloadavg()[0]}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gb", type=float, default=3.0)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--path", type=Path, help="use this synthetic checkpoint (kept) instead of writing one")
    ap.add_argument("--no-battery", action="store_true")
    ap.add_argument("--validation", default="none", choices=["none", "quick", "full"])
    ap.add_argument("--child", nargs=2, metavar=("KIND", "PATH"))
    a = ap.parse_args()
    if a.child:
        child(*a.child)
        return
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()}")
    if a.path is not None:
        if not a.path.exists():
            a.path.parent.mkdir(parents=True, exist_ok=True)
            write_synthetic(a.path, a.gb)
        print("scan:", json.dumps(bench_scan(a.path, a.reps), indent=1))
    else:
        with tempfile.TemporaryDirectory(dir="/tmp", prefix="audit-bench-") as tmp:
            p = Path(tmp) / "model.safetensors"
            t = time.perf_counter()
            write_synthetic(p, a.gb)
            print(f"wrote {p.stat().st_size / 1e9:.2f} GB in {time.perf_counter() - t:.1f} s")
            print("scan:", json.dumps(bench_scan(p, a.reps), indent=1))
    if not a.no_battery:
        print("battery:", json.dumps(bench_battery(), indent=1))
    if a.validation != "none":
        from sovereval.audit.validate import run_validation

        rep = run_validation(Path(tempfile.mkdtemp(dir="/tmp", prefix="audit-val-")), a.validation)
        print(json.dumps(rep["summary"], indent=1))


if __name__ == "__main__":
    main()
