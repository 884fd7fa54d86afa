"""BFCL v4, the categories scored from data alone, in function-calling and prompting form.

``bfcl-<category>`` sends the functions as OpenAI ``tools`` and reads ``tool_calls``;
``bfcl-<category>-prompt`` puts them in BFCL's prompting system prompt and parses ``[f(a=1)]`` from the
text (what models without a tool-call format, e.g. small local ones, can do).  Both are scored by BFCL's
AST match (see :mod:`sovereval.bench.bfcl`).  Files and hashes: ``shared/benchmarks/bfcl/SOURCE.md``.
"""

from __future__ import annotations

from sovereval.bench.bfcl.episode import BfclParams, bfcl_episode
from sovereval.bench.bfcl.pinned import PinnedFile
from sovereval.bench.bfcl.schema import PROMPTING_SYSTEM_PROMPT
from sovereval.bench.session import EpisodeInfo
from sovereval.bench.spec import BenchmarkDecl, FieldMap, ScorerRef, Template, local
from sovereval.bench.types import Sampling

GLOBAL = "global_common"

#: category -> (question file sha256, possible_answer sha256 or None, display name)
_FILES: dict[str, tuple[str, str | None, str]] = {
    "simple_python": ("82dd63ba502eb2520c6b5d1d9a5c4b590e03ff261565175561f6228a367d1991",
                      "90cd5bc653690ee8e459b5b3f3fc9458606f7f3fcbf795bb51b7dc581f8c86dc", "simple (Python)"),
    "simple_java": ("13d2303a125b08754f0e41995b9273b5005fa8ed8ebfaa24ef53b4d83c4b5c6e",
                    "78f25616084044fa05bbfcee68e03f6ececb222bdd5cb3b7783a675fb3366e35", "simple (Java)"),
    "simple_javascript": ("329e67fedf79a6243d93dbda4b388d12bd2d31f1f2163d92cb6ef676d1764f44",
                          "e2f9f2e51d88e0c8056ffbf1a3dd3d02eb032532d2b5d98c9cc9003385bdd56b", "simple (JavaScript)"),
    "multiple": ("aef168155ebd74b7ac2401198b201343bc7d16d7a3d7e0d4e6d8ee82c6969b2a",
                 "244e00ce9395df948bcafc7bee64e8f9c87ef70887587d83cae45b13699f3047", "multiple"),
    "parallel": ("19f51a82eff42e5d62541aa500115a056eb78f437c2ba1f10415fd7c8e5dda84",
                 "8a6aa19c1adddc6a5a2f7e40f9dbf30cc7e95815e7b830c90589ab318229e0f0", "parallel"),
    "parallel_multiple": ("8863ea8433239f55c5f016154cf0830853c89f693c6ea270396a2fa121960579",
                          "5ebf24f458c1f16300c05505d83d6f0a1b68b79be273a033febd0d4f840507e3", "parallel multiple"),
    "irrelevance": ("2b6ed4c2e992cdcf5f1678a701851f944bef7550ee026ed1ddb89efed5be01a6", None, "irrelevance"),
    "live_simple": ("1af2ac87dca47556db7b7e37e51e28b459a38b594e3c7b3c792b4903598ca0c4",
                    "fec9cfa9744a936f9126981e85a2023da1e63e273eafebc81923a1162fad70ce", "live simple"),
    "live_parallel": ("6c26e9fdc3350cf596e6d1ea9c179cbff834761bccf562f4141ed29a839ca421",
                      "8a9f189ff0e832ebbbbdade1fd95a7dbcc67406e9177df3f0aad76f59ab00350", "live parallel"),
    "live_parallel_multiple": ("21d4b9319c1faac431e22757b367ea28917fe467364c3a4b17f16ec06d4f6e79",
                               "f5b5f360556c5feb51db46fb9f56ee4b304f4b45b161599bbb14161c98a2873f",
                               "live parallel multiple"),
    "live_relevance": ("e03f9e241657a137cba48a89ee12f47bf3fcb7e4f6274263e9c699a0c974203a", None, "live relevance"),
}

_CITATION = ("Patil et al., 2025. The Berkeley Function Calling Leaderboard (BFCL): From Tool Use to Agentic "
             "Evaluation of Large Language Models. ICML 2025")


def _decl(category: str, mode: str) -> BenchmarkDecl:
    q_sha, a_sha, title = _FILES[category]
    answers = PinnedFile(path=f"bfcl/possible_answer/BFCL_v4_{category}.json", sha256=a_sha) if a_sha else None
    params = BfclParams(category=category, mode=mode, answers=answers)  # type: ignore[arg-type]
    fc = mode == "fc"
    follows = ("BFCL v4 (bfcl-eval 2026.3.23) " + category + ": " +
               ("function-calling mode as BFCL runs OpenAI-style models — function docs with BFCL's language hints "
                "and type mapping as `tools`, dots in names -> underscores; " if fc else
                "prompting mode — BFCL's classic DEFAULT_SYSTEM_PROMPT with the function docs as JSON, answer "
                "parsed as [func(param=value)] with ast (no eval); ")
               + "AST match as BFCL's ast_checker; greedy decoding (BFCL: temperature 0.001)")
    return BenchmarkDecl(
        id=f"bfcl-{category.replace('_', '-')}" + ("" if fc else "-prompt"),
        name=f"BFCL v4 {title}" + (", function calling" if fc else ", prompting"),
        language="en", category="agent",
        source=local((f"bfcl/BFCL_v4_{category}.json", q_sha), format="jsonl"),
        fields=FieldMap(id="id", question=None, answer=None, keep=("question", "function")),
        template=Template(follows=follows, query="(the item's own chat turns; built by sovereval.bench.bfcl)",
                          system=None if fc else PROMPTING_SYSTEM_PROMPT),
        mode="episode", generation=Sampling(max_tokens=2048),
        scorer=ScorerRef(name="bfcl", params=params.model_dump(mode="json")),
        subblock=GLOBAL, license="Apache-2.0", citation=_CITATION,
        note="Multi-turn, memory, web-search and format-sensitivity categories need BFCL's executable back ends "
             "and are not run; live_multiple and live_irrelevance are not in the pinned copy.",
    )


DECLARATIONS: tuple[BenchmarkDecl, ...] = tuple(_decl(c, m) for c in _FILES for m in ("fc", "prompt"))
EPISODES: tuple[EpisodeInfo, ...] = (EpisodeInfo("bfcl", bfcl_episode),)
