"""Korean long-context evaluation (RULER-style tasks over real Korean passages), sized in model tokens."""

from sovereval.bench.longctx.corpus import BoolQ, load_boolq, load_passages
from sovereval.bench.longctx.generate import (
    NOUNS,
    TASKS,
    LongCtxItem,
    approx_tokens,
    generate,
    generate_items,
)
from sovereval.bench.longctx.score import found, score_answers, score_longctx, yes_no

__all__ = ["NOUNS", "TASKS", "BoolQ", "LongCtxItem", "approx_tokens", "found", "generate", "generate_items",
           "load_boolq", "load_passages", "score_answers", "score_longctx", "yes_no"]
