"""Tokenizer provenance (M3): read vocabularies from ``tokenizer.json`` or GGUF metadata and compare.

Statistics are exact and cheap: token-set Jaccard, coverage, same-id agreement (an extension keeps its
parent's ids), and BPE merge order (common prefix of the merge lists).  Tokenizer reuse is legal and
common, so these numbers are descriptive (never evidence of weight reuse); a shared vocabulary is what
makes the embedding-row test possible.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import FormatError

MAX_TOKENIZER_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class Tokenizer:
    kind: str  # bpe | wordpiece | unigram | unknown
    tokens: tuple[str, ...]  # token string by id
    merges: tuple[str, ...] = ()
    source: str = ""

    @property
    def sha256(self) -> str:
        h = hashlib.sha256()
        for t in self.tokens:
            h.update(t.encode("utf-8", "surrogatepass") + b"\x00")
        h.update(b"\x01")
        for m in self.merges:
            h.update(m.encode("utf-8", "surrogatepass") + b"\x00")
        return h.hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "tokens": list(self.tokens), "merges": list(self.merges), "source": self.source}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Tokenizer:
        return cls(d["kind"], tuple(d["tokens"]), tuple(d.get("merges", ())), d.get("source", ""))


def normalise(token: str) -> str:
    """Canonical token string across byte-level BPE (Ġ/Ċ), SentencePiece (▁) and WordPiece (##)."""
    return token.replace("Ġ", " ").replace("▁", " ").replace("Ċ", "\n").replace("ĉ", "\t")


def from_tokenizer_json(path: Path) -> Tokenizer:
    try:
        if path.stat().st_size > MAX_TOKENIZER_BYTES:
            raise FormatError(f"{path}: tokenizer.json larger than {MAX_TOKENIZER_BYTES} bytes")
        d = json.loads(path.read_text(encoding="utf-8"))
        model = d["model"]
        kind = str(model.get("type", "unknown")).lower()
        vocab = model.get("vocab", {})
        if isinstance(vocab, list):  # Unigram: [[token, score], ...]
            by_id = {i: str(v[0]) for i, v in enumerate(vocab)}
        else:
            by_id = {int(i): str(t) for t, i in vocab.items()}
        for at in d.get("added_tokens", []) or []:
            by_id.setdefault(int(at["id"]), str(at["content"]))
        n = max(by_id) + 1 if by_id else 0
        if n > 10_000_000:
            raise FormatError(f"{path}: implausible vocabulary size {n}")
        tokens = tuple(by_id.get(i, f"<missing:{i}>") for i in range(n))
        merges = tuple(m if isinstance(m, str) else " ".join(m) for m in model.get("merges", []) or [])
    except FormatError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError) as e:
        raise FormatError(f"{path}: not a readable tokenizer.json ({e.__class__.__name__}: {e})") from e
    return Tokenizer(kind if kind in ("bpe", "wordpiece", "unigram") else "unknown", tokens, merges, str(path))


def from_gguf_fields(fields: dict[str, Any], source: str = "") -> Tokenizer | None:
    tokens = fields.get("tokenizer.ggml.tokens")
    if not tokens:
        return None
    model = str(fields.get("tokenizer.ggml.model", ""))
    kind = {"gpt2": "bpe", "llama": "unigram", "bert": "wordpiece"}.get(model, "unknown")
    merges = fields.get("tokenizer.ggml.merges") or []
    return Tokenizer(kind, tuple(tokens), tuple(merges), source)


@dataclass(frozen=True)
class TokenizerComparison:
    vocab_a: int
    vocab_b: int
    shared: int
    jaccard: float
    coverage_of_smaller: float
    same_id: int
    same_id_agreement: float  # over the reference (b) vocabulary
    same_id_prefix: int  # length of the id range [0, k) where every id maps to the same string
    merges_a: int
    merges_b: int
    merge_prefix: int
    merge_shared_frac: float
    relation: str  # identical | extension | truncation | shared-vocabulary | independent

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def compare(a: Tokenizer, b: Tokenizer) -> TokenizerComparison:
    """Compare suspect ``a`` against reference ``b``."""
    sa = {normalise(t) for t in a.tokens}
    sb = {normalise(t) for t in b.tokens}
    shared = len(sa & sb)
    union = len(sa | sb) or 1
    n = min(len(a.tokens), len(b.tokens))
    same = [normalise(a.tokens[i]) == normalise(b.tokens[i]) for i in range(n)]
    same_id = sum(same)
    prefix = next((i for i, s in enumerate(same) if not s), n)
    mp = 0
    for x, y in zip(a.merges, b.merges, strict=False):
        if x != y:
            break
        mp += 1
    ms = len(set(a.merges) & set(b.merges)) / max(1, len(b.merges)) if b.merges else 0.0
    jac = shared / union
    agree = same_id / max(1, len(b.tokens))
    if a.tokens == b.tokens and a.merges == b.merges:
        rel = "identical"
    elif prefix == len(b.tokens) and len(a.tokens) > len(b.tokens):
        rel = "extension"
    elif prefix == len(a.tokens) and len(a.tokens) < len(b.tokens):
        rel = "truncation"
    elif jac > 0.5 or agree > 0.5:
        rel = "shared-vocabulary"
    else:
        rel = "independent"
    return TokenizerComparison(
        len(a.tokens), len(b.tokens), shared, jac, shared / max(1, min(len(sa), len(sb))), same_id, agree,
        prefix, len(a.merges), len(b.merges), mp, ms, rel,
    )
