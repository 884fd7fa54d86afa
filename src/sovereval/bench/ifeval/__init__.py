"""IFEval: verifiable instruction following (Zhou et al., 2023), strict and loose, prompt and instruction level.

Implemented for this project (no code of the original); word and sentence counting are Korean-aware
(:mod:`.text`), so the same checkers serve Korean IFEval-style prompts.
"""

from sovereval.bench.ifeval.evaluate import (
    DATA_FILE,
    DATA_SHA256,
    Accuracy,
    Prompt,
    PromptResult,
    accuracy,
    accuracy_by_instruction,
    evaluate_response,
    follows_loose,
    follows_strict,
    load_prompts,
    loose_variants,
    score_ifeval,
)
from sovereval.bench.ifeval.instructions import INSTRUCTIONS, Instruction, check, detect_language
from sovereval.bench.ifeval.text import count_sentences, count_words, split_sentences, words

__all__ = [
    "DATA_FILE", "DATA_SHA256", "INSTRUCTIONS", "Accuracy", "Instruction", "Prompt", "PromptResult", "accuracy",
    "accuracy_by_instruction", "check", "count_sentences", "count_words", "detect_language", "evaluate_response",
    "follows_loose", "follows_strict", "load_prompts", "loose_variants", "score_ifeval", "split_sentences",
    "words",
]
