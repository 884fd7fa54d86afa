"""Anti-abuse rules for arena votes, after FastChat's ``clean_battle_data.py`` / ``elo_analysis.py``
and ComparIA's duplicate and spam archiving.

A vote is dropped from the ratings (never deleted from the store) when:

* ``identity``: an answer names a model, its maker or a team (the battle was not blind);
* ``too_fast``: the juror voted sooner than ``min_read_s`` after the later answer finished;
* ``duplicate_prompt``: the juror already voted on a battle with the same (normalised) prompt;
* ``over_limit``: the juror's votes beyond ``max_votes_per_day`` in one UTC day.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sovereval.digest import sha256_hex

#: names that reveal who answered (FastChat's IDENTITY_WORDS, plus the programme's own teams)
IDENTITY_WORDS: tuple[str, ...] = (
    "openai", "chatgpt", "gpt-3", "gpt-4", "gpt4", "claude", "anthropic", "llama", "meta ai", "mistral",
    "gemini", "bard", "google", "gemma", "qwen", "qianwen", "tongyi", "alibaba", "zhipu", "chatglm", "glm-4",
    "deepseek", "baichuan", "yi-34b", "moonshot", "kimi", "exaone", "hyperclova", "clova", "solar", "upstage",
    "naver", "smollm", "hugging face", "huggingface", "vaetki", "kakao", "kanana",
)  # fmt: skip


@dataclass(frozen=True)
class Rules:
    min_read_s: float = 2.0
    max_votes_per_day: int = 50


@dataclass(frozen=True)
class VoteView:
    """What the filters need to know about one vote."""

    vote_id: int
    juror: int
    prompt_sha256: str
    answer_a: str
    answer_b: str
    elapsed_s: float
    at: datetime


def normalise_prompt(prompt: str) -> str:
    return re.sub(r"\s+", " ", prompt.strip().lower())


def prompt_digest(prompt: str) -> str:
    """sha256 of the normalised prompt (case and whitespace folded): a battle's stored ``prompt_sha256``."""
    return sha256_hex(normalise_prompt(prompt))


def identity_pattern(extra: Iterable[str] = ()) -> re.Pattern[str]:
    words = sorted({w.lower() for w in (*IDENTITY_WORDS, *extra) if len(w.strip()) >= 3}, key=len, reverse=True)
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(re.escape(w) for w in words) + r")(?![a-z0-9])", re.IGNORECASE)


def vote_flags(answer_a: str, answer_b: str, elapsed_s: float, duplicate: bool, rules: Rules,
               identity: re.Pattern[str]) -> list[str]:  # fmt: skip
    """Flags a single vote earns on its own (recorded with the vote)."""
    flags = []
    if identity.search(answer_a) or identity.search(answer_b):
        flags.append("identity")
    if elapsed_s < rules.min_read_s:
        flags.append("too_fast")
    if duplicate:
        flags.append("duplicate_prompt")
    return flags


@dataclass(frozen=True)
class Filtered:
    kept: tuple[int, ...]  # vote ids
    dropped: dict[int, str]  # vote id -> first reason
    counts: dict[str, int]  # reason -> number of votes dropped


def apply(votes: Sequence[VoteView], rules: Rules, identity: re.Pattern[str]) -> Filtered:
    """Apply every rule in vote order; a vote keeps the first reason it is dropped for."""
    dropped: dict[int, str] = {}
    seen_prompts: set[tuple[int, str]] = set()
    per_day: Counter[tuple[int, str]] = Counter()
    for v in sorted(votes, key=lambda v: (v.at, v.vote_id)):
        key = (v.juror, v.prompt_sha256)
        day = (v.juror, v.at.date().isoformat())
        per_day[day] += 1
        if identity.search(v.answer_a) or identity.search(v.answer_b):
            dropped[v.vote_id] = "identity"
        elif v.elapsed_s < rules.min_read_s:
            dropped[v.vote_id] = "too_fast"
        elif key in seen_prompts:
            dropped[v.vote_id] = "duplicate_prompt"
        elif per_day[day] > rules.max_votes_per_day:
            dropped[v.vote_id] = "over_limit"
        seen_prompts.add(key)
    kept = tuple(v.vote_id for v in votes if v.vote_id not in dropped)
    return Filtered(kept, dropped, dict(Counter(dropped.values())))
