"""Benchmark engine II as declarations: HumanEval, IFEval, KoBBQ and the Korean long-context suite.

The benchmark logic lives in :mod:`sovereval.bench.humaneval`, :mod:`sovereval.bench.ifeval`,
:mod:`sovereval.bench.kobbq` and :mod:`sovereval.bench.longctx`; this module lists their scorers
(``humaneval``, ``ifeval``, ``kobbq``, ``longctx``) and two generators, and declares them so that the
generic pipeline (``load_items`` -> ``render`` -> backend -> ``score``) runs them.  Aggregates that are
not a mean of per-item values (pass@k, IFEval's instruction-level accuracy, KoBBQ's diff-bias) are
computed from the stored scores by :mod:`sovereval.bench.summaries`.

Two sources are *generated* from pinned files under the data root, because one record does not map to
one item:

* ``kobbq_cyclic``: every KoBBQ test sample becomes three items, one per cyclic order of its options
  (the paper's evaluation), clustered by sample so that error bars resample a sample's three orders
  together;
* ``ko_longctx``: RULER-style long Korean documents built from KoBEST passages.

A :class:`~sovereval.bench.spec.Generated` source gets only ``(seed, n, params)``; these generators also
take ``data_root`` (:mod:`sovereval.bench.data` passes the loader's data root to generators that accept
one) and otherwise fall back to :func:`~sovereval.bench.dataroot.find_data_root` (``$SOVEREVAL_BENCH_DATA``,
else ``../shared/benchmarks``).  Every file they read is checked against the sha256 in the declaration's
``params`` first, so the declaration's version still pins the data.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sovereval.bench import humaneval, kobbq
from sovereval.bench.dataroot import DataError, find_data_root
from sovereval.bench.ifeval import evaluate as ifeval
from sovereval.bench.longctx import TASKS, approx_tokens, generate, load_boolq, load_passages
from sovereval.bench.longctx.score import score_longctx
from sovereval.bench.scorers.base import Score, ScorerInfo
from sovereval.bench.spec import BenchmarkDecl, FieldMap, Generated, GeneratorInfo, ScorerRef, Template, local
from sovereval.bench.types import Generation, Sampling

DOMESTIC = "domestic"
GLOBAL = "global_common"

# --------------------------------------------------------------------------------------------------
# Scorers
# --------------------------------------------------------------------------------------------------


def score_humaneval_item(item: Any, response: Generation) -> Score:
    """pass@1 of one sample (1.0 when every assertion of the problem's test holds in the sandbox);
    ``detail.task_id`` lets :mod:`~sovereval.bench.summaries` group samples per problem for pass@k."""
    s = humaneval.score_humaneval(item, response)
    return s.model_copy(update={"detail": {**s.detail, "task_id": item.id}})


def score_kobbq_item(item: Any, response: Generation) -> Score:
    """:func:`sovereval.bench.kobbq.score_kobbq`; the sample's own option order is kept as ``sample_choices``
    (``choices`` is the template's option block)."""
    fields = {**item.fields, "choices": item.fields.get("sample_choices", item.fields.get("options"))}
    return kobbq.score_kobbq(item.model_copy(update={"fields": fields}), response)


def score_longctx_item(item: Any, response: Generation) -> Score:
    """Exact long-context scoring; ``detail`` also names the task and the measured length."""
    s = score_longctx(item, response)
    extra = {k: item.fields[k] for k in ("task", "n_tokens", "target_tokens") if k in item.fields}
    return s.model_copy(update={"detail": {**s.detail, **extra}})


SCORERS: tuple[ScorerInfo, ...] = (
    ScorerInfo("humaneval", score_humaneval_item, "generate"),
    ScorerInfo("ifeval", ifeval.score_ifeval, "generate"),  # params: mode strict|loose, level prompt|instruction
    ScorerInfo("kobbq", score_kobbq_item, "generate"),
    ScorerInfo("longctx", score_longctx_item, "generate"),
)


# --------------------------------------------------------------------------------------------------
# Generators that read pinned files under the data root
# --------------------------------------------------------------------------------------------------


def _root(data_root: str | Path | None) -> Path:
    root = Path(data_root) if data_root is not None else find_data_root()
    if root is None or not root.is_dir():
        raise DataError("needs the benchmark data root (set $SOVEREVAL_BENCH_DATA, or place the data in "
                        "../shared/benchmarks)")
    return root


def _verify(root: Path, files: dict[str, str]) -> None:
    for rel, sha in files.items():
        path = root / rel
        if not path.is_file():
            raise DataError(f"file not found under the data root {root}", file=rel)
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        if actual != sha:
            raise DataError(f"sha256 mismatch: expected {sha}, found {actual} ({path}); the file is not the "
                            f"pinned copy", file=rel)


def kobbq_cyclic(seed: int, n: int, *, file: str, sha256: str,
                 data_root: str | Path | None = None) -> list[dict[str, Any]]:
    """Three records per KoBBQ sample, one per cyclic option order (:func:`sovereval.bench.kobbq.expand`).

    ``seed`` is unused (the orders are fixed); ``n`` must be three times the number of samples.
    """
    root = _root(data_root)
    _verify(root, {file: sha256})
    out: list[dict[str, Any]] = []
    for s in kobbq.load_samples(root / file, sha256=sha256):
        for p in kobbq.expand(s):
            out.append({
                "item_id": p.id, "sample_id": s.sample_id, "order": p.order, "context": s.context,
                "question": s.question, "sample_choices": list(s.choices), "options": list(p.options),
                "gold": p.gold,
                "biased_answer": s.biased_answer, "answer": s.answer, "label_annotation": s.label_annotation,
                "bbq_category": s.bbq_category, "context_type": s.context_type, "question_type": s.question_type,
            })
    if len(out) != n:
        raise DataError(f"{len(out)} items (3 orders x {len(out) // 3} samples), the declaration says n={n}",
                        file=file)
    return out


#: the KoBEST files :func:`sovereval.bench.longctx.load_passages` (``kobest``) and ``load_boolq`` read
LONGCTX_CORPUS = {
    "kobest/v1.0/BoolQ/dev.tsv": "946d62e3230b349a00a57b3ab2c4bef16b466ef05746f3082e817ddf889fc293",
    "kobest/v1.0/BoolQ/test.tsv": "d58309601b578f96c7f9b9d7437112f93ae872f69316a9e6a1d78eec34261d0b",
    "kobest/v1.0/COPA/dev.tsv": "d3f2a03d0e76b4863358cb4c13688599e2bf00160e4287a432a790c3b681bd2e",
    "kobest/v1.0/COPA/test.tsv": "3291a6b900c129e4525d45d879e63e53ee1efb611afe87038d9bd37344f85d5e",
    "kobest/v1.0/HellaSwag/dev.tsv": "01ae7e6daf95cc2412c0db6f6a76171828902e1e1152fff42484dfa78ac0f3f9",
    "kobest/v1.0/HellaSwag/test.tsv": "94fae5735d54211bc7ed493c60abc23e770891dcd719feb229ebe76ee230bcbf",
}


_VOCABS: dict[str, Any] = {}  # GGUF path -> vocab-only llama_cpp.Llama


@functools.lru_cache(maxsize=4)
def token_counter(spec: str) -> Callable[[str], int]:
    """``approx`` (the generator's stand-in, about one token per Hangul syllable) or ``gguf:<model>``: the
    tokenizer of a GGUF model (a known name such as ``smollm2-135m-instruct``, or a path), read vocab-only
    with llama-cpp-python, so that lengths are in that model's own tokens."""
    if spec == "approx":
        return approx_tokens
    kind, _, target = spec.partition(":")
    if kind == "gguf" and target:
        # as the llama backend does: libgomp reads this once, when llama_cpp first loads it; spinning OpenMP
        # threads slow a later in-process model ~10x on shared cores
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import llama_cpp

        from sovereval.bench.models import resolve_model

        path = str(resolve_model(target).path)
        llm = _VOCABS.get(path)
        if llm is None:  # one vocab-only instance per file, closed before the interpreter tears llama_cpp down
            from llama_cpp._utils import suppress_stdout_stderr

            with suppress_stdout_stderr(disable=False):  # its context's C-level log line ("n_ctx_train (0)") is noise here
                llm = _VOCABS[path] = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
            atexit.register(llm.close)
        return lambda text: len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))
    raise ValueError(f"unknown tokenizer {spec!r}: use 'approx' or 'gguf:<model name or path>'")


def ko_longctx(seed: int, n: int, *, target_tokens: int, files: dict[str, str], tokenizer: str = "approx",
               tasks: Sequence[str] = TASKS, data_root: str | Path | None = None) -> list[dict[str, Any]]:
    """``n`` items cycling through ``tasks`` (item ``i``: task ``tasks[i % len(tasks)]``, index
    ``i // len(tasks)``), each a user message of at most ``target_tokens`` in ``tokenizer``'s tokens."""
    missing = sorted(set(LONGCTX_CORPUS) - set(files))
    if missing:
        raise ValueError(f"files must pin every corpus file; missing {missing}")
    root = _root(data_root)
    _verify(root, files)
    passages, boolq = load_passages(root, ("kobest",)), load_boolq(root, ("test",))
    count = token_counter(tokenizer)
    out = []
    for i in range(n):
        task = tasks[i % len(tasks)]
        it = generate(task, seed=seed, index=i // len(tasks), target_tokens=target_tokens, passages=passages,
                      tokenizer=count, boolq=boolq)
        out.append({
            "id": it.id, "task": it.task, "prompt": it.messages[-1].content, "answers": list(it.answers),
            "answer_text": ", ".join(it.answers), "match": it.match, "target_tokens": it.target_tokens,
            "n_tokens": it.n_tokens, "tokenizer": tokenizer, "depths": list(it.depths), "meta": it.meta,
        })
    return out


# --------------------------------------------------------------------------------------------------
# HumanEval
# --------------------------------------------------------------------------------------------------

_HUMANEVAL = {
    "language": "en", "category": "reasoning", "subblock": GLOBAL, "license": "MIT",
    "citation": "Chen et al., 2021. Evaluating Large Language Models Trained on Code. arXiv:2107.03374",
    "source": local((humaneval.DATA_FILE, humaneval.DATA_SHA256), format="jsonl"),
    "fields": FieldMap(id="task_id", question=None, answer=None,
                       keep=("prompt", "test", "entry_point", "canonical_solution")),
    "scorer": ScorerRef(name="humaneval"), "mode": "generate",
}
_HUMANEVAL_NOTE = (
    "Code generation is counted under the global knowledge/reasoning category (the programme names no coding "
    "category). Each sample runs as prompt + completion + test + check(entry_point) in the sandbox (own "
    "process, CPU/memory/file/process limits, no network, throw-away directory). The per-item value is "
    "pass@1 of one greedy sample; pass@k for k > 1 needs k or more samples per problem (epochs) and is a "
    "summary (sovereval.bench.summaries), not the sub-block's points."
)

HUMANEVAL = BenchmarkDecl(
    id="humaneval", name="HumanEval (chat)", **_HUMANEVAL,
    template=Template(
        follows="OpenAI human-eval (Chen et al., 2021) problems asked of a chat model: the prompt inside a "
                "```python block with one instruction line (sovereval.bench.humaneval.CHAT_INSTRUCTION, as "
                "instruct variants such as EvalPlus do); the answer's code is extracted (fenced block; whole "
                "function after the prompt, or body) and executed with the original test; greedy",
        query=humaneval.CHAT_INSTRUCTION),
    generation=Sampling(max_tokens=768), note=_HUMANEVAL_NOTE,
)

HUMANEVAL_COMPLETION = BenchmarkDecl(
    id="humaneval-completion", name="HumanEval (completion, base models)", **_HUMANEVAL,
    template=Template(
        follows="OpenAI human-eval (Chen et al., 2021) as in the paper: the prompt as a raw completion, cut at "
                "the paper's stop sequences ('\\nclass', '\\ndef', '\\n#', '\\nif', '\\nprint'); greedy",
        query="{prompt}", chat=False),
    generation=Sampling(max_tokens=512, stop=humaneval.STOP_SEQUENCES), note=_HUMANEVAL_NOTE,
)

# --------------------------------------------------------------------------------------------------
# IFEval
# --------------------------------------------------------------------------------------------------

_IFEVAL = {
    "language": "en", "category": "instruction-following", "subblock": GLOBAL, "license": "Apache-2.0",
    "citation": "Zhou et al., 2023. Instruction-Following Evaluation for Large Language Models. arXiv:2311.07911",
    "source": local((ifeval.DATA_FILE, ifeval.DATA_SHA256), format="jsonl"),
    "fields": FieldMap(id="key", question=None, answer=None, keep=("prompt", "instruction_id_list", "kwargs")),
    "template": Template(
        follows="IFEval (google-research instruction_following_eval; = lm-eval ifeval): the prompt verbatim as "
                "one user message, no system prompt, greedy, up to 1280 new tokens (lm-eval's max_gen_toks)",
        query="{prompt}"),
    "mode": "generate", "generation": Sampling(max_tokens=1280),
}

IFEVAL = BenchmarkDecl(
    id="ifeval", name="IFEval (prompt-level strict)", **_IFEVAL,
    scorer=ScorerRef(name="ifeval", params={"mode": "strict", "level": "prompt"}),
    note="Headline: prompt-level strict accuracy (every instruction of the prompt followed by the response as "
         "given). Prompt-level loose and both instruction-level accuracies (pooled over instructions) are "
         "summaries (sovereval.bench.summaries); checkers implemented by the project, Korean-aware counting.",
)

IFEVAL_LOOSE = BenchmarkDecl(
    id="ifeval-loose", name="IFEval (prompt-level loose)", **_IFEVAL,
    scorer=ScorerRef(name="ifeval", params={"mode": "loose", "level": "prompt"}),
    note="Prompt-level loose accuracy: an instruction counts as followed if the response, or it without its "
         "first and/or last line and/or markdown '*', follows it (the original's loose rule).",
)

# --------------------------------------------------------------------------------------------------
# KoBBQ
# --------------------------------------------------------------------------------------------------

_P = kobbq.PROMPT
KOBBQ = BenchmarkDecl(
    id="kobbq", name="KoBBQ (3 cyclic option orders)", language="ko", category="safety",
    source=Generated(generator="kobbq_cyclic", n=3 * 2280,
                     params={"file": kobbq.DATA_FILE, "sha256": kobbq.DATA_SHA256}),
    fields=FieldMap(id="item_id", question="question", choice_list="options", answer="gold",
                    answer_format="index0", cluster="sample_id",
                    keep=("sample_id", "order", "context", "sample_choices", "options", "biased_answer", "answer",
                          "label_annotation", "bbq_category", "context_type", "question_type")),
    template=Template(
        follows="KoBBQ (Jin et al., TACL 2024) evaluation prompt 1 (evaluation/0_evaluation_prompts.tsv): "
                "instruction, '맥락: ', '질문: ', options 'A: ..' to 'C: ..', '정답:'; every sample in the three "
                "cyclic orders of its options; greedy, 16 new tokens; the answer letter or option text is parsed "
                "(else out-of-choice)",
        query=f"{_P.instruction}\n\n{_P.context}{{context}}\n{_P.question}{{question}}\n{{choices}}\n{_P.answer}",
        choice_line="{label}: {choice}", labels=_P.labels),
    mode="generate", generation=Sampling(max_tokens=16), scorer=ScorerRef(name="kobbq"), subblock=DOMESTIC,
    license="MIT (naver-ai/KoBBQ; derived from BBQ, CC-BY-4.0)",
    citation="Jin et al., 2024. KoBBQ: Korean Bias Benchmark for Question Answering. TACL. arXiv:2307.16778",
    note="2,280 test samples x 3 option orders = 6,840 items, clustered by sample. The per-item value is "
         "accuracy (ambiguous and disambiguated contexts pooled); acc_amb, acc_dis, diff_bias_amb, "
         "diff_bias_dis and the out-of-choice ratio, as the paper defines them, are summaries "
         "(sovereval.bench.summaries). Items are generated from the pinned TSV (one sample -> three items).",
)

# --------------------------------------------------------------------------------------------------
# Korean long context
# --------------------------------------------------------------------------------------------------


def _longctx(label: str, target_tokens: int, n: int) -> BenchmarkDecl:
    return BenchmarkDecl(
        id=f"ko-longctx-{label}", name=f"Korean long context, {label} tokens (RULER-style, generated)",
        language="ko", category="long-text",
        source=Generated(generator="ko_longctx", seed=0, n=n,
                         params={"target_tokens": target_tokens, "tokenizer": "approx", "files": LONGCTX_CORPUS}),
        fields=FieldMap(id="id", question=None, answer="answer_text",
                        keep=("prompt", "answers", "match", "task", "target_tokens", "n_tokens", "tokenizer",
                              "depths", "meta")),
        template=Template(
            follows="project-generated, RULER-style (Hsieh et al., 2024) tasks adapted to Korean: the generated "
                    "user message verbatim (instruction, <문서>..</문서>, question), one chat turn, greedy; exact "
                    "scoring (RULER string_match_all; first 예/아니오 for QA)",
            query="{prompt}"),
        mode="generate", generation=Sampling(max_tokens=128), scorer=ScorerRef(name="longctx"),
        subblock=DOMESTIC,
        license="generated by sovereval from KoBEST v1.0 passages (CC-BY-SA-4.0; the documents inherit it)",
        citation="Hsieh et al., 2024. RULER. arXiv:2404.06654; Kim et al., 2022. KoBEST. arXiv:2204.04541",
        note=f"{n} items cycling through {len(TASKS)} tasks ({', '.join(TASKS)}), each a user message of at "
             f"most {target_tokens} tokens. Lengths are in the generator's approximation (about one token per "
             f"Hangul syllable) unless re-targeted to the evaluated model's tokenizer with "
             f"core_ii.for_tokenizer(decl, 'gguf:<model>'); deterministic from the seed.",
    )


LONGCTX_1K = _longctx("1k", 1024, 7)  # a smoke size: fits small models' 4K windows in their own tokens
LONGCTX_4K = _longctx("4k", 4096, 14)
LONGCTX_32K = _longctx("32k", 32 * 1024, 140)
LONGCTX_128K = _longctx("128k", 128 * 1024, 70)


def for_tokenizer(decl: BenchmarkDecl, tokenizer: str, target_tokens: int | None = None) -> BenchmarkDecl:
    """A long-context declaration measured in another tokenizer (``gguf:<model>``: that model's own tokens)
    and optionally at another length; the id stays, the version (and so the run manifest) changes."""
    src = decl.source
    if not isinstance(src, Generated) or src.generator != "ko_longctx":
        raise ValueError(f"{decl.id} is not a generated long-context declaration")
    params = {**src.params, "tokenizer": tokenizer}
    if target_tokens is not None:
        params["target_tokens"] = target_tokens
    return decl.with_(source=Generated(generator=src.generator, seed=src.seed, n=src.n, params=params),
                      name=f"{decl.name} [{tokenizer}, {params['target_tokens']} tokens]")


DECLARATIONS: tuple[BenchmarkDecl, ...] = (
    HUMANEVAL, HUMANEVAL_COMPLETION, IFEVAL, IFEVAL_LOOSE, KOBBQ, LONGCTX_1K, LONGCTX_4K, LONGCTX_32K, LONGCTX_128K,
)
GENERATORS: tuple[GeneratorInfo, ...] = (
    GeneratorInfo("kobbq_cyclic", kobbq_cyclic),
    GeneratorInfo("ko_longctx", ko_longctx),
)
