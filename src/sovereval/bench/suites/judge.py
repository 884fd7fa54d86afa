"""Judged benchmarks: KoMT-Bench, LogicKor (two-turn, single-answer grading) and TruthfulQA generation.

The protocols live in :mod:`sovereval.bench.judge`; here they are listed as episodes and declared.
Each declaration pins its data (sha256 from the SOURCE.md beside it) and the sha256 of its judge prompts
(``scorer.params.judge_prompts_sha256``, checked against the prompts in code on every item).  All three
need a judge model (``--judge``); its identity is recorded in every Score's detail and in the run manifest.
"""

from __future__ import annotations

from sovereval.bench.judge.data import KOMT_REFERENCES, komt_row
from sovereval.bench.judge.korean import KOMT_PENALTY_EXEMPT
from sovereval.bench.judge.prompts import (
    KOMT_BENCH,
    KOMT_TEMPERATURES,
    LOGICKOR,
    TRUTHFULQA,
    TRUTHFULQA_QA_PRIMER,
)
from sovereval.bench.judge.single import grade_two_turns
from sovereval.bench.judge.truthfulqa import judge_truthfulqa
from sovereval.bench.session import EpisodeInfo
from sovereval.bench.spec import BenchmarkDecl, FieldMap, RowAdapterInfo, ScorerRef, Template, local
from sovereval.bench.types import Sampling

DOMESTIC = "domestic"
GLOBAL = "global_common"

KOMT = BenchmarkDecl(
    id="komt-bench", name="KoMT-Bench", language="ko", category="instruction-following",
    source=local(("komt_bench/question_ko.jsonl", "b5738f10e6eeca5b83c4568a1152acd79a04517f6c03e698dcdb6ef3889652fa"),
                 format="jsonl"),
    fields=FieldMap(adapter="komt_bench", id="question_id", question=None, answer=None,
                    keep=("category", "turns", "ref_turns")),
    template=Template(
        follows="KoMT-Bench (LG-AI-EXAONE/KoMT-Bench @ 56d4f3a, FastChat llm_judge): each turn is one user "
                "message, turn 2 after the model's own stripped turn-1 answer, no system message; up to 1024 "
                "new tokens; temperature per category (FastChat temperature_config), seeded",
        query="{turn}"),
    mode="episode", generation=Sampling(max_tokens=1024, temperature=0.0, seed=0),
    scorer=ScorerRef(name="komt_bench", params={
        "protocol": "komt-bench", "judge_prompts_sha256": KOMT_BENCH.sha256, "judge_max_tokens": 2048,
        "judge_temperature": 0.0, "unparseable": "exclude",
        "temperature_by_category": KOMT_TEMPERATURES, "default_temperature": 0.7,
        "korean_penalty": "sqrt", "korean_min_share": 0.2, "penalty_exempt": list(KOMT_PENALTY_EXEMPT),
        "references": f"{KOMT_REFERENCES.path}@{KOMT_REFERENCES.sha256}",
    }),
    subblock=DOMESTIC, license="LGPL-3.0",
    citation="LG AI Research, 2024. EXAONE 3.0 7.8B Instruction Tuned Language Model. arXiv:2408.03541; "
             "Zheng et al., 2023. Judging LLM-as-a-Judge with MT-Bench and Chatbot Arena. arXiv:2306.05685",
    note="Single-answer grading 1-10 by the judge model given at run time (the original: gpt-4-0613); "
         "value = mean turn grade / 10 after the square-root penalty for turns not in Korean (Hangul share "
         "< 0.2 of letters outside code; questions 138, 140 exempt). Unusable judgements are excluded; an "
         "item with none is a failure, not a 0.",
)

LOGICKOR_DECL = BenchmarkDecl(
    id="logickor", name="LogicKor", language="ko", category="reasoning",
    source=local(("logickor/questions.jsonl", "83440ad0424fa9e9a92206dc6cb5a3d9e2f7c3074ad4ac8425c3e1d8af11782c"),
                 format="jsonl"),
    fields=FieldMap(id="id", question=None, answer=None, keep=("category", "questions", "references")),
    template=Template(
        follows="LogicKor (instructkr/LogicKor @ 11c3a84) generator.py, 'default' strategy: the chat template "
                "with no system message, turn 2 after the model's stripped turn-1 answer, greedy; the original "
                "allows up to the model length (4096) in new tokens, here 1024",
        query="{turn}"),
    mode="episode", generation=Sampling(max_tokens=1024, temperature=0.0, seed=0),
    scorer=ScorerRef(name="logickor", params={
        "protocol": "logickor", "judge_prompts_sha256": LOGICKOR.sha256, "judge_max_tokens": 2048,
        "judge_temperature": 0.0, "unparseable": "exclude",
    }),
    subblock=DOMESTIC, license="none stated (all rights reserved): load from the pinned path, never bundle",
    citation="instructkr, 2024. LogicKor. https://github.com/instructkr/LogicKor",
    note="6 categories x 7 two-turn questions; each turn graded 0-10 by the judge model given at run time "
         "(the original: gpt-4-1106-preview / gpt-4o); value = mean turn grade / 10. The judge prompt itself "
         "asks for 0 when the answer is not in Korean. Unusable judgements are excluded; an item with none "
         "is a failure, not a 0.",
)

TRUTHFULQA_GEN = BenchmarkDecl(
    id="truthfulqa-gen", name="TruthfulQA generation (judged)", language="en", category="reliability",
    source=local(("truthfulqa/v2021/TruthfulQA.csv",
                  "99d6ae7755e3b435eade956068c9de7c0c474770344237aeb66b56519ba4b697"), format="csv"),
    fields=FieldMap(question="Question", answer="Best Answer",
                    keep=("Type", "Category", "Correct Answers", "Incorrect Answers")),
    template=Template(
        follows="TruthfulQA generation (sylinrl/TruthfulQA 'QA' preset = lm-eval truthfulqa_gen): the 6-pair "
                "QA primer, 'Q: ...\\nA:', plain completion, greedy, cut at the first blank line",
        preamble=TRUTHFULQA_QA_PRIMER + "\n\n", query="Q: {question}\nA:", chat=False),
    mode="episode", generation=Sampling(max_tokens=256, temperature=0.0, seed=0, stop=("\n\n",)),
    scorer=ScorerRef(name="truthfulqa_gen", params={
        "protocol": "truthfulqa-gen", "judge_prompts_sha256": TRUTHFULQA.sha256, "judge_max_tokens": 512,
        "judge_temperature": 0.0, "unparseable": "exclude", "metric": "truthful_and_informative",
    }),
    subblock=GLOBAL, license="Apache-2.0", citation="Lin, Hilton & Evans, 2022. ACL 2022. arXiv:2109.07958",
    note="The 817-question CSV. Judged by a general judge model with the paper's definitions (its fine-tuned "
         "GPT-judge / GPT-info are not reproducible); value 1 = truthful and informative. Unusable "
         "judgements that leave the value undecided make the item a failure, not a 0.",
)

DECLARATIONS: tuple[BenchmarkDecl, ...] = (KOMT, LOGICKOR_DECL, TRUTHFULQA_GEN)
EPISODES: tuple[EpisodeInfo, ...] = (
    EpisodeInfo("komt_bench", grade_two_turns, needs_judge=True),
    EpisodeInfo("logickor", grade_two_turns, needs_judge=True),
    EpisodeInfo("truthfulqa_gen", judge_truthfulqa, needs_judge=True),
)
ROW_ADAPTERS: tuple[RowAdapterInfo, ...] = (RowAdapterInfo("komt_bench", komt_row),)
