"""Reasoning ("thinking") removal and stop sequences, applied once, in the backend layer.

Every backend passes raw model text through here, so benchmarks only ever see the answer:

* ``<think>…</think>`` blocks are removed from the text and collected as reasoning; a server's separate
  ``reasoning_content`` (vLLM, llama-server, SGLang reasoning parsers) is collected too.
* A think block that never closes means the model ran out of tokens while thinking: the answer is ``""``
  and ``unclosed`` is set, so it grades as wrong rather than scoring the partial reasoning.
* With ``think=True`` the text is taken to *start* inside a think block (templates such as DeepSeek-R1's
  put ``<think>`` in the prompt, so the output holds only ``</think>``); an explicit leading ``<think>``
  is accepted too.  Without it, a ``</think>`` with no opening tag makes everything before it reasoning
  in :func:`split_reasoning`; a streaming consumer (:class:`ThinkStripper`) cannot take back text it has
  already yielded, so declare ``think=True`` for such models.
* Stop sequences cut the *answer*, after reasoning is removed (a stop string inside the reasoning does not
  end the answer).  :class:`StopFilter` does the same incrementally for streams.

Both stream filters hold back only as many characters as could be the start of a tag or stop string, so
tags and stop strings split across chunk boundaries are handled.
"""

from __future__ import annotations

from dataclasses import dataclass

OPEN = "<think>"
CLOSE = "</think>"


@dataclass(frozen=True)
class Answer:
    text: str
    reasoning: str = ""
    unclosed: bool = False
    stopped: bool = False  # a stop sequence cut the answer


def _partial_suffix(text: str, needles: tuple[str, ...]) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of one of ``needles``."""
    best = 0
    for needle in needles:
        for k in range(min(len(needle) - 1, len(text)), best, -1):
            if text.endswith(needle[:k]):
                best = k
                break
    return best


class ThinkStripper:
    """Incremental ``<think>`` removal: ``feed`` chunks, get answer text back; ``finish`` at the end."""

    def __init__(self, *, think: bool = False) -> None:
        self._inside = think
        self._at_start = True  # only whitespace seen so far (where an explicit leading <think> may come)
        self._buf = ""
        self._reasoning: list[str] = []
        self._emitted = False
        self.saw_stray_close = False

    @property
    def reasoning(self) -> str:
        return "".join(self._reasoning).strip()

    @property
    def unclosed(self) -> bool:
        return self._inside

    def feed(self, chunk: str) -> str:
        self._buf += chunk
        out: list[str] = []
        while self._buf:
            if self._inside:
                if self._at_start:
                    stripped = self._buf.lstrip()
                    if not stripped:
                        break
                    if stripped.startswith(OPEN):
                        self._buf = stripped[len(OPEN):]
                        self._at_start = False
                        continue
                    if OPEN.startswith(stripped):
                        break  # could still become a leading <think>
                    self._at_start = False
                idx = self._buf.find(CLOSE)
                if idx < 0:
                    keep = _partial_suffix(self._buf, (CLOSE,))
                    self._reasoning.append(self._buf[: len(self._buf) - keep])
                    self._buf = self._buf[len(self._buf) - keep:]
                    break
                self._reasoning.append(self._buf[:idx] + "\n")
                self._buf = self._buf[idx + len(CLOSE):]
                self._inside = False
                continue
            i_open, i_close = self._buf.find(OPEN), self._buf.find(CLOSE)
            if i_close >= 0 and (i_open < 0 or i_close < i_open):
                # A closing tag without an opening one: at the very start (nothing emitted, no block seen)
                # what came before it was reasoning; later it is a stray tag and is dropped.
                self.saw_stray_close = True
                head = self._buf[:i_close]
                if not self._emitted and not out and not self._reasoning:
                    self._reasoning.append(head)
                else:
                    out.append(head)
                self._buf = self._buf[i_close + len(CLOSE):]
                continue
            if i_open >= 0:
                out.append(self._buf[:i_open])
                self._buf = self._buf[i_open + len(OPEN):]
                self._inside = True
                self._at_start = False
                continue
            keep = _partial_suffix(self._buf, (OPEN, CLOSE))
            out.append(self._buf[: len(self._buf) - keep])
            self._buf = self._buf[len(self._buf) - keep:]
            break
        text = "".join(out)
        if text:
            self._emitted = True
        return text

    def finish(self) -> str:
        """Flush what was held back; after this, ``unclosed`` says whether a think block was left open."""
        rest, self._buf = self._buf, ""
        if self._inside:
            self._reasoning.append(rest)
            return ""
        return rest


class StopFilter:
    """Incremental stop sequences: ``feed`` answer text, get the part before any stop string."""

    def __init__(self, stops: tuple[str, ...] | list[str]) -> None:
        self.stops = tuple(s for s in stops if s)
        self.stopped = False
        self._buf = ""

    def feed(self, chunk: str) -> str:
        if self.stopped:
            return ""
        if not self.stops:
            return chunk
        self._buf += chunk
        hits = [i for i in (self._buf.find(s) for s in self.stops) if i >= 0]
        if hits:
            out, self._buf = self._buf[: min(hits)], ""
            self.stopped = True
            return out
        keep = _partial_suffix(self._buf, self.stops)
        out, self._buf = self._buf[: len(self._buf) - keep], self._buf[len(self._buf) - keep:]
        return out

    def finish(self) -> str:
        rest, self._buf = ("" if self.stopped else self._buf), ""
        return rest


def apply_stop(text: str, stops: tuple[str, ...] | list[str]) -> tuple[str, bool]:
    """Cut ``text`` at the earliest stop string; returns (text, whether a stop was found)."""
    f = StopFilter(stops)
    out = f.feed(text) + f.finish()
    return out, f.stopped


class AnswerStream:
    """Raw model output in, answer out: think removal, then leading whitespace, then stop strings.

    ``feed(text, reasoning)`` takes a chunk of content and of server-separated reasoning (either may be
    empty) and returns the answer text that is now final; :meth:`answer` gives the complete result after
    :meth:`finish`.  :func:`split_reasoning` is this applied to a whole output at once.
    """

    def __init__(self, *, think: bool = False, stops: tuple[str, ...] | list[str] = ()) -> None:
        self._think = ThinkStripper(think=think)
        self._stop = StopFilter(stops)
        self._server_reasoning: list[str] = []
        self._content: list[str] = []
        self._answer: list[str] = []
        self._lead = True  # strip whitespace between the reasoning and the answer

    @property
    def stopped(self) -> bool:
        return self._stop.stopped

    def _after_think(self, text: str) -> str:
        if self._lead and text:
            if self._server_reasoning or self._think.reasoning:
                text = text.lstrip()
            if text:
                self._lead = False
        out = self._stop.feed(text) if text else ""
        self._answer.append(out)
        return out

    def feed(self, text: str | None = "", reasoning: str | None = "") -> str:
        if reasoning:
            self._server_reasoning.append(reasoning)
        if not text:
            return ""
        self._content.append(text)
        return self._after_think(self._think.feed(text))

    def finish(self) -> str:
        out = self._after_think(self._think.finish())
        rest = self._stop.finish()
        self._answer.append(rest)
        return out + rest

    def answer(self, finish_reason: str | None = None) -> Answer:
        server = "".join(self._server_reasoning).strip()
        reasoning = "\n".join(r for r in (server, self._think.reasoning) if r)
        no_content = not "".join(self._content).strip()
        unclosed = self._think.unclosed or (bool(server) and no_content and finish_reason == "length")
        if unclosed:
            return Answer(text="", reasoning=reasoning, unclosed=True)
        return Answer(text="".join(self._answer), reasoning=reasoning, stopped=self._stop.stopped)


def split_reasoning(text: str | None, *, reasoning_content: str | None = None, think: bool = False,
                    finish_reason: str | None = None, stops: tuple[str, ...] | list[str] = ()) -> Answer:
    """The answer in a complete model output: reasoning removed, then stop strings applied.

    ``reasoning_content`` is the server's separated reasoning, if any.  When the server put everything in
    ``reasoning_content`` and stopped on the token limit with no content, the reasoning never closed.
    """
    stream = AnswerStream(think=think, stops=stops)
    stream.feed(text, reasoning_content)
    stream.finish()
    return stream.answer(finish_reason)
