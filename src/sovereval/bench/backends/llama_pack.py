"""Log-likelihood evaluation layouts on a llama.cpp context, and the context that runs them.

A multiple-choice request is a context and k continuations.  :func:`plan` lays out one evaluation (one
``llama_decode`` per ubatch-sized piece): a prefix, tagged with every sequence that shares it, then each
continuation's own tokens under its own sequence id, with logits only for the rows that predict
continuation tokens.  The backend (:mod:`sovereval.bench.backends.llama`) uses it three ways, each request
from an empty cache: one continuation per plan (``solo``); the context but its last two tokens prefilled
once, its KV state saved and restored for each continuation, whose plan re-evaluates those two tokens with
its own (``prefix``, the default); every continuation in one plan (``packed``).

``solo`` gives llama-cpp-python's own numbers bit for bit, and so does ``prefix`` where the kernels are
row-independent (SmolLM2 Q4_1, non-flash attention).  Gemma-3-270M's kernels are not: where one
evaluation is cut into pieces moves its numbers (measured), so ``prefix`` is not bit-exact there.
``packed`` is not exact even on SmolLM2: its options share one batch and interleave in the KV buffer, so
each option's attention runs with another shape and cell layout, and with 8-bit activation quantisation
a rounding-level change becomes a step (Korean options of 6-13 byte tokens: up to 0.28 nat).  The start-up
probe that used to decide packing compared short ASCII options (1-5 tokens of their own), where no step
happened to flip: equality on a probe is no proof for other inputs, so no
layout is chosen by probing any more.  Two shapes are avoided because llama.cpp computes them with other
kernels: a one-token piece and a piece with a single output row.

:func:`plan` is pure (token lists in, batch layout out) and tested without a model; :class:`PackedContext`
runs plans on a llama.cpp context.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["PackedContext", "Plan", "groups", "lcp", "log_softmax_pick", "plan", "shared_prefix"]


def lcp(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the longest common prefix."""
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def shared_prefix(wholes: Sequence[Sequence[int]], splits: Sequence[int]) -> int:
    """Tokens every whole shares, cut at the earliest split (the longest prefix no option scores)."""
    pre = min(splits)
    for w in wholes[1:]:
        pre = min(pre, lcp(wholes[0], w))
    return pre


@dataclass(frozen=True)
class Plan:
    """One evaluation.  ``reuse`` leading prefix tokens are already in the KV cache for sequences
    ``0..k-1``; the batch holds ``tokens[b]`` at ``positions[b]`` for the sequences ``seqs[b]``, with
    logits where ``outputs[b]``.  ``rows[i][j]`` is the batch index whose logits predict the j-th token
    of continuation i (``wholes[i][splits[i] + j]``).  ``cuts`` are the batch indices where one
    ``llama_decode`` call ends and the next begins (each piece is at most one ubatch)."""

    reuse: int
    prefix: tuple[int, ...]
    tokens: tuple[int, ...]
    positions: tuple[int, ...]
    seqs: tuple[tuple[int, ...], ...]
    outputs: tuple[bool, ...]
    rows: tuple[tuple[int, ...], ...]
    cuts: tuple[int, ...] = ()

    @property
    def n_cells(self) -> int:
        """KV cells the decode leaves in use (prefix + every continuation's own tokens)."""
        return self.reuse + len(self.tokens)


def plan(wholes: Sequence[Sequence[int]], splits: Sequence[int], cached: Sequence[int] = (),
         ubatch: int = 512) -> Plan:
    """Layout of one evaluation scoring ``wholes[i][splits[i]:]`` given ``wholes[i][:splits[i]]``.

    The shared prefix is the longest common prefix of the wholes, cut at the earliest split.  A
    continuation whose split is later (the joint tokenization merged across its context boundary) has
    own tokens before its first predicting row; they are evaluated without output.  ``cached``: prefix
    tokens already in the KV cache for every sequence, of which the common part is reused — never the
    last two prefix tokens, so the batch keeps at least two tokens.

    llama.cpp computes a decode one ubatch at a time, and a piece of one token or with exactly one output
    row takes other kernels (see :func:`_ensure_two_outputs`).  So the batch is cut into pieces of at most
    ``ubatch`` tokens, each decoded on its own: none has a single token, and each has no output row or at
    least two (an extra row is output where needed and read by nobody)."""
    k = len(wholes)
    if k == 0 or len(splits) != k:
        raise ValueError("plan needs one split per continuation")
    if any(not 1 <= s < len(w) for w, s in zip(wholes, splits, strict=True)):
        raise ValueError("every continuation needs a context token and a token of its own")
    pre = shared_prefix(wholes, splits)
    prefix = tuple(wholes[0][:pre])
    reuse = max(0, min(lcp(cached, prefix), pre - 2))
    everyone = tuple(range(k))
    tokens = list(prefix[reuse:])
    positions = list(range(reuse, pre))
    seqs: list[tuple[int, ...]] = [everyone] * len(tokens)
    outputs = [False] * len(tokens)
    last_prefix_row = len(tokens) - 1
    rows: list[tuple[int, ...]] = []
    for i, (w, s) in enumerate(zip(wholes, splits, strict=True)):
        mine: list[int] = []
        if s == pre:  # its first token is predicted by the last prefix row, shared by all
            outputs[last_prefix_row] = True
            mine.append(last_prefix_row)
        for p in range(pre, len(w) - 1):
            out = p >= s - 1
            if out:
                mine.append(len(tokens))
            tokens.append(w[p])
            positions.append(p)
            seqs.append((i,))
            outputs.append(out)
        rows.append(tuple(mine))
    cuts = _cuts(len(tokens), ubatch)
    for a, b in zip((0, *cuts), (*cuts, len(tokens)), strict=True):
        piece = outputs[a:b]
        if sum(piece) == 1:
            _ensure_two_outputs(piece)
            outputs[a:b] = piece
    return Plan(reuse, prefix, tuple(tokens), tuple(positions), tuple(seqs), tuple(outputs), tuple(rows), cuts)


def _cuts(n: int, ubatch: int) -> tuple[int, ...]:
    """Piece boundaries for ``n`` tokens: pieces of ``ubatch`` tokens, the last two rebalanced so that
    no piece has a single token."""
    if ubatch < 3:
        raise ValueError("ubatch must be at least 3")
    cuts = list(range(ubatch, n, ubatch))
    if cuts and n - cuts[-1] == 1:
        cuts[-1] -= 1
    return tuple(cuts)


def groups(wholes: Sequence[Sequence[int]], splits: Sequence[int], max_seqs: int, max_cells: int,
           pack: bool) -> list[list[int]]:
    """Continuation indices per decode, in order: all together where they fit (``max_seqs`` sequences,
    ``max_cells`` KV cells), else consecutive runs; one each when ``pack`` is false."""
    if not pack:
        return [[i] for i in range(len(wholes))]
    out: list[list[int]] = []
    cur: list[int] = []
    for i in range(len(wholes)):
        trial = [*cur, i]
        pre = shared_prefix([wholes[j] for j in trial], [splits[j] for j in trial])
        cells = pre + sum(len(wholes[j]) - 1 - pre for j in trial)
        if cur and (len(trial) > max_seqs or cells > max_cells):
            out.append(cur)
            cur = [i]
        else:
            cur = trial
    if cur:
        out.append(cur)
    return out


def _ensure_two_outputs(outputs: list[bool]) -> None:
    """llama.cpp computes a single output row with a different matmul kernel (vec_dot instead of the
    tiled gemm), which moves logits; an extra output row keeps the shape of every other decode."""
    need = 2 - sum(outputs)
    for b in range(len(outputs) - 1, -1, -1):
        if need <= 0:
            break
        if not outputs[b]:
            outputs[b] = True
            need -= 1


def log_softmax_pick(rows: np.ndarray, targets: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Per-row log-probability of ``targets`` (float64) and whether each target is the row's argmax."""
    s = rows.astype(np.float64)
    m = s.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(s - m).sum(axis=1))
    idx = np.asarray(targets, dtype=np.int64)
    picked = s[np.arange(len(idx)), idx] - lse
    return picked, s.argmax(axis=1) == idx


class PackedContext:
    """A llama.cpp context of its own on an already loaded model (``llama_cpp`` internals), with the chosen
    attention kernel and one KV buffer shared by up to ``max_seqs`` sequences.  Not thread-safe: call it
    from one thread."""

    def __init__(self, model: Any, *, n_ctx: int, n_ubatch: int, n_threads: int, max_seqs: int = 64,
                 flash_attn: bool = False, verbose: bool = False) -> None:
        import llama_cpp
        from llama_cpp import _internals
        from llama_cpp._utils import suppress_stdout_stderr

        self._ll = llama_cpp
        self.n_ctx = n_ctx
        # llama.cpp reserves outputs for max(n_outputs, n_seq_max) rows and asserts that fits in n_batch
        self.max_seqs = max(1, min(max_seqs, int(llama_cpp.llama_max_parallel_sequences()),
                                   max(3, min(n_ubatch, n_ctx))))
        p = llama_cpp.llama_context_default_params()
        p.n_ctx = n_ctx
        # one llama_decode per plan piece, each exactly one ubatch (llama.cpp never splits it further)
        self.n_ubatch = p.n_batch = p.n_ubatch = max(3, min(n_ubatch, n_ctx))
        p.n_seq_max = self.max_seqs
        p.kv_unified = True
        p.n_threads = p.n_threads_batch = n_threads
        p.flash_attn_type = (llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED if flash_attn
                             else llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED)
        with suppress_stdout_stderr(disable=verbose):  # llama.cpp logs from C to the process's stderr
            self._ctx = _internals.LlamaContext(model=model, params=p, verbose=verbose)
        self._mem = llama_cpp.llama_get_memory(self._ctx.ctx)
        self._n_vocab = int(llama_cpp.llama_vocab_n_tokens(llama_cpp.llama_model_get_vocab(model.model)))
        self._batch = llama_cpp.llama_batch_init(self.n_ubatch, 0, self.max_seqs)
        self.held: tuple[int, ...] = ()  # prefix in the cache for sequences 0..held_seqs-1
        self.held_seqs = 0
        self._saved: tuple[tuple[int, ...], Any, int] | None = None  # the last prefill's tokens and KV state

    def forget(self) -> None:
        self._ll.llama_memory_clear(self._mem, True)
        self.held, self.held_seqs = (), 0

    def prefill(self, tokens: Sequence[int]) -> None:
        """Clear the cache and evaluate ``tokens`` (positions 0.., sequence 0, no output rows), cut like any
        other evaluation; afterwards ``held`` is ``tokens``."""
        tokens = tuple(tokens)
        if len(tokens) > self.n_ctx:
            raise ValueError(f"{len(tokens)} tokens exceed the context of {self.n_ctx}")
        self.forget()
        n = len(tokens)
        self._decode(Plan(reuse=0, prefix=tokens, tokens=tokens, positions=tuple(range(n)), seqs=((0,),) * n,
                          outputs=(False,) * n, rows=(), cuts=_cuts(n, self.n_ubatch)), needed=set())
        self.held, self.held_seqs = tokens, 1
        size = int(self._ll.llama_state_seq_get_size(self._ctx.ctx, 0))
        buf = (ctypes.c_uint8 * size)()
        got = int(self._ll.llama_state_seq_get_data(self._ctx.ctx, buf, size, 0))
        if got != size:
            self.forget()
            raise RuntimeError(f"llama_state_seq_get_data copied {got} of {size} bytes")
        self._saved = (tokens, buf, size)

    def restore(self, tokens: Sequence[int]) -> None:
        """The cache exactly as :meth:`prefill` of ``tokens`` left it (its saved state copied back into an
        emptied cache: the same cells, not a re-evaluation), prefilling first if another prefix was saved."""
        tokens = tuple(tokens)
        if self._saved is None or self._saved[0] != tokens:
            self.prefill(tokens)
            return
        _, buf, size = self._saved
        self._ll.llama_memory_clear(self._mem, True)
        if int(self._ll.llama_state_seq_set_data(self._ctx.ctx, buf, size, 0)) != size:
            self.forget()
            raise RuntimeError("llama_state_seq_set_data failed")
        self.held, self.held_seqs = tokens, 1

    def _prepare(self, plan: Plan, k: int) -> None:
        ll, mem = self._ll, self._mem
        if plan.reuse == 0:
            ll.llama_memory_clear(mem, True)
            return
        ll.llama_memory_seq_rm(mem, -1, plan.reuse, -1)  # every cell from the first re-evaluated position
        for j in range(self.held_seqs, k):
            ll.llama_memory_seq_cp(mem, 0, j, 0, plan.reuse)
        for j in range(k, self.held_seqs):
            ll.llama_memory_seq_rm(mem, j, -1, -1)

    def run(self, plan: Plan, wholes: Sequence[Sequence[int]],
            splits: Sequence[int]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Decode ``plan``; per continuation: per-token log-probabilities and greedy flags."""
        k = len(wholes)
        if k > self.max_seqs or plan.n_cells > self.n_ctx:
            raise ValueError(f"plan needs {k} sequences and {plan.n_cells} cells; the context has "
                             f"{self.max_seqs} and {self.n_ctx}")
        if plan.reuse and (self.held[: plan.reuse] != plan.prefix[: plan.reuse]):
            raise ValueError("plan reuses a prefix that is not in the cache")
        self.held, self.held_seqs = (), 0  # until every piece has been decoded
        self._prepare(plan, k)
        shared = self._decode(plan, needed={idx for rows in plan.rows for idx in rows})
        self.held, self.held_seqs = plan.prefix, k
        return [log_softmax_pick(np.stack([shared[idx] for idx in rows]), w[s:])
                for rows, w, s in zip(plan.rows, wholes, splits, strict=True)]

    def _decode(self, plan: Plan, needed: set[int]) -> dict[int, np.ndarray]:
        """``llama_decode`` each piece of ``plan`` in turn; the logits row of each batch index in ``needed``."""
        b = self._batch
        shared: dict[int, np.ndarray] = {}  # batch index -> its logits row
        n_all = len(plan.tokens)
        for a, z in zip((0, *plan.cuts), (*plan.cuts, n_all), strict=True):
            for n in range(a, z):
                b.token[n - a] = plan.tokens[n]
                b.pos[n - a] = plan.positions[n]
                b.n_seq_id[n - a] = len(plan.seqs[n])
                for j, sq in enumerate(plan.seqs[n]):
                    b.seq_id[n - a][j] = sq
                b.logits[n - a] = plan.outputs[n]
            b.n_tokens = z - a
            rc = self._ll.llama_decode(self._ctx.ctx, b)
            if rc != 0:
                self.forget()
                raise RuntimeError(f"llama_decode failed with status {rc}")
            for n in range(a, z):  # logits of this piece, before the next decode overwrites them
                if n in needed:
                    ptr = self._ll.llama_get_logits_ith(self._ctx.ctx, n - a)
                    shared[n] = np.ctypeslib.as_array(ptr, shape=(self._n_vocab,)).copy()
        return shared

    def close(self) -> None:
        if self._batch is not None:
            self._ll.llama_batch_free(self._batch)
            self._batch = None
        self._ctx.close()
