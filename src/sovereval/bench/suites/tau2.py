"""τ²-bench airline and retail: the model as agent, a model as simulated user, the project's domain tools.

* ``tau2-airline`` — τ²'s reward (reward basis DB × COMMUNICATE for every airline task); needs a user model.
* ``tau2-retail`` — τ²'s reward (DB × NL_ASSERTION for 112 of 114 tasks, DB for 2); needs a user and a judge.
* ``tau2-retail-db`` — retail without a judge: NL_ASSERTION reported as not evaluated and left out of the
  product.  Not τ²'s number; for runs that have no judge model.

Prompts (agent instruction and system prompt, greeting, user-simulator guidelines and system prompt, NL
judge prompts) are part of each declaration, so its version changes with them.  Files and hashes:
``shared/benchmarks/tau2_bench/SOURCE.md``.  See :mod:`sovereval.bench.tau2` for what is and is not
reproduced.
"""

from __future__ import annotations

from sovereval.bench.bfcl.pinned import PinnedFile
from sovereval.bench.session import EpisodeInfo
from sovereval.bench.spec import BenchmarkDecl, FieldMap, ScorerRef, Template, local
from sovereval.bench.tau2.episode import Tau2Params, tau2_episode, tau2_judged_episode
from sovereval.bench.tau2.prompts import (
    AGENT_INSTRUCTION,
    AGENT_SYSTEM,
    FIRST_AGENT_MESSAGE,
    NL_JUDGE_SYSTEM,
    NL_JUDGE_USER,
    USER_GUIDELINES,
    USER_SYSTEM,
)
from sovereval.bench.types import Sampling

GLOBAL = "global_common"

_FILES = {
    "airline": {"tasks": "ccd8ba737b4cc371415af70151187788f728d6108d0916e73bb4317b40542052",
                "db": "1af9fea6e03ca7ca15a22bb3fcaf3e351393e3fc9070b6777947da8996f7531b",
                "policy": "10dc0525421521208be39cee235bba84a16e2bcba9899eb93d92cd81d2f62fc4"},
    "retail": {"tasks": "8e03ebce7901bd6218e7a7dc3105faa9324091a68058f7fe61c65262868812e8",
               "db": "413a65160adbdb5fde0ffc0015c49b6d70250b10c18128de169b597af7766765",
               "policy": "2c9652afbce57d6e087768d37cda64d31c53d50b3e3225cfdb791bac66466467"},
}

_CITATION = ("Barres et al., 2025. τ²-Bench: Evaluating Conversational Agents in a Dual-Control Environment. "
             "arXiv:2506.07982; Yao et al., 2024. τ-bench. arXiv:2406.12045")


def params(domain: str, **overrides: object) -> Tau2Params:
    f = _FILES[domain]
    base: dict[str, object] = {
        "domain": domain, "db": PinnedFile(path=f"tau2_bench/{domain}/db.json", sha256=f["db"]),
        "policy": PinnedFile(path=f"tau2_bench/{domain}/policy.md", sha256=f["policy"]),
        "agent_instruction": AGENT_INSTRUCTION, "first_agent_message": FIRST_AGENT_MESSAGE,
        "user_guidelines": USER_GUIDELINES, "user_system": USER_SYSTEM,
        "user_sampling": Sampling(max_tokens=1024, temperature=0.0), "max_steps": 200, "max_errors": 10,
        "judge_system": NL_JUDGE_SYSTEM, "judge_user": NL_JUDGE_USER,
        "judge_sampling": Sampling(max_tokens=2048, temperature=0.0),
    }
    return Tau2Params.model_validate({**base, **overrides})


def _decl(domain: str, *, judged: bool, suffix: str = "", note: str = "") -> BenchmarkDecl:
    return BenchmarkDecl(
        id=f"tau2-{domain}{suffix}", name=f"τ²-bench {domain}" + (" (NL assertions not evaluated)" if suffix else ""),
        language="en", category="agent",
        source=local((f"tau2_bench/{domain}/tasks.json", _FILES[domain]["tasks"]), format="json"),
        fields=FieldMap(id="id", question=None, answer=None,
                        keep=("user_scenario", "evaluation_criteria", "initial_state", "description")),
        template=Template(
            follows="τ²-bench (sierra-research/tau2-bench @a2c0247) half-duplex orchestrator with LLMAgent and "
                    "UserSimulator prompts, max 200 steps / 10 tool errors, reward as evaluate_simulation(ALL); "
                    "tools re-implemented by sovereval; greedy decoding for agent, user and judge (τ²: temperature 0)",
            system=AGENT_SYSTEM, query="(the conversation; built by sovereval.bench.tau2)"),
        mode="episode", generation=Sampling(max_tokens=2048, temperature=0.0),
        scorer=ScorerRef(name="tau2_judged" if judged else "tau2", params=params(domain).model_dump(mode="json")),
        subblock=GLOBAL, license="MIT", citation=_CITATION,
        note=note or "Single trial per task (pass^1); pass^k needs k epochs of the same run.",
    )


DECLARATIONS: tuple[BenchmarkDecl, ...] = (
    _decl("airline", judged=False),
    _decl("retail", judged=True),
    _decl("retail", judged=False, suffix="-db",
          note="NL_ASSERTION (in 112 of 114 retail reward bases) is not evaluated without a judge and is left out of "
               "the product: the number is DB-only, not τ²'s retail reward."),
)
EPISODES: tuple[EpisodeInfo, ...] = (
    EpisodeInfo("tau2", tau2_episode, needs_user=True),
    EpisodeInfo("tau2_judged", tau2_judged_episode, needs_user=True, needs_judge=True),
)
