"""LLM-as-judge protocols: KoMT-Bench and LogicKor single-answer grading, pairwise comparison, and
TruthfulQA generation judged for truthfulness and informativeness.

* :mod:`.prompts` — every judge prompt, pinned in code; each set hashed (``PromptSet.sha256``).
* :mod:`.parse` — robust readers for grades, pairwise verdicts and yes/no judgements; an unusable
  judgement is recorded as such (unparseable / ambiguous / out of range), never read as a number.
* :mod:`.korean` — the Hangul-share language check and KoMT-Bench's square-root penalty.
* :mod:`.common` — typed settings (``scorer.params``), the model's turns, judge calls.
* :mod:`.single` — the two-turn grading episode (KoMT-Bench, LogicKor).
* :mod:`.truthfulqa` — the TruthfulQA generation episode.
* :mod:`.pairwise` — both-order comparison of two models' answers.
* :mod:`.data` — KoMT-Bench items joined with their GPT-4 reference answers.

The declarations and the episode list are in :mod:`sovereval.bench.suites.judge`.  Every model
and judge call goes through the episode's ledger-backed callers, so a run resumes, a rerun asks nothing
twice, and a replay (no backend) re-scores exactly.
"""
