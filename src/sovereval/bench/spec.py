"""Benchmarks as short typed declarations.

A :class:`BenchmarkDecl` says *what* a benchmark is — where its data lives (pinned by sha256), how its
columns map onto an :class:`Item`, the prompt template it follows (pinned and hashed), few-shot, mode,
sampling and scorer — and nothing about *how* to run it.  Loading lives in :mod:`sovereval.bench.data`,
rendering in :mod:`sovereval.bench.prompts`, scoring in :mod:`sovereval.bench.scorers`.

Odd formats are handled by small named functions (row adapters, generators, scorers, episodes); a
declaration refers to them by name, so it stays plain data: it serialises to JSON, and
:attr:`BenchmarkDecl.version` (sha256 over the whole declaration, template included) identifies it in run
manifests.  The names resolve in the catalog (:func:`sovereval.bench.catalog.build`), assembled from explicit
lists; the catalog also checks every declaration's names, so this module imports no scorer, episode or suite.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from sovereval.bench.types import Sampling
from sovereval.digest import content_digest
from sovereval.program.spec import Frozen, Id

Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Language = Literal["ko", "en"]
Category = Literal[
    "math", "knowledge", "reasoning", "long-text", "reliability", "safety", "instruction-following", "agent"
]
Format = Literal["jsonl", "json", "csv", "tsv", "parquet"]
#: ``episode``: several dependent requests per item (turns, judge, agent), see :mod:`sovereval.bench.session`
Mode = Literal["generate", "loglik", "episode"]
#: how the raw answer column becomes ``Item.answer``:
#: ``index0``/``index1`` (0- or 1-based option number), ``letter`` (A, B, ...), ``choice_text`` (the option's
#: text), ``bool`` (true/false -> 1/0, i.e. an index into two options ordered no/yes), ``text`` (kept as a
#: string: numbers, LaTeX, short answers), ``indices`` (a list of 0-based indices: several true options)
AnswerFormat = Literal["index0", "index1", "letter", "choice_text", "bool", "text", "indices"]


# --------------------------------------------------------------------------------------------------
# Named functions a declaration refers to (listed by their modules, resolved by the catalog)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowContext:
    """What a row adapter may know about where a record came from."""

    path: str  # relative to the data root (or the hub repository)
    line: int  # line (JSONL, CSV/TSV: where the record ends) or record number (JSON, Parquet), 1-based


#: ``(row: dict, ctx: RowContext) -> dict``: reshapes one raw record of an odd format
RowAdapterFn = Callable[[dict[str, Any], RowContext], dict[str, Any]]
#: ``(seed: int, n: int, **params) -> list[dict]``: produces raw records deterministically
GeneratorFn = Callable[..., list[dict[str, Any]]]


@dataclass(frozen=True)
class RowAdapterInfo:
    """A row adapter under the name ``FieldMap.adapter`` gives (e.g. :mod:`sovereval.bench.adapters`)."""

    name: str
    fn: RowAdapterFn

    def __call__(self, row: dict[str, Any], ctx: RowContext) -> dict[str, Any]:
        return self.fn(row, ctx)


@dataclass(frozen=True)
class GeneratorInfo:
    """A record generator under the name ``Generated.generator`` gives (e.g. :mod:`sovereval.bench.generated`)."""

    name: str
    fn: GeneratorFn

    def __call__(self, seed: int, n: int, **params: Any) -> list[dict[str, Any]]:
        return self.fn(seed, n, **params)


# --------------------------------------------------------------------------------------------------
# Items
# --------------------------------------------------------------------------------------------------


class Item(Frozen):
    """One benchmark question, as every scorer and template sees it.

    ``answer`` is an option index (MCQ), a tuple of indices (several true options, e.g. TruthfulQA MC2)
    or a string (numbers, LaTeX, short text).  ``cluster`` groups items that share material (e.g. one
    passage with several questions) so that error bars can resample them together; ``None`` means the
    item is independent.
    """

    id: str = Field(min_length=1)
    fields: dict[str, Any] = Field(default_factory=dict)
    answer: int | str | tuple[int, ...] | None = None
    choices: tuple[str, ...] = ()
    cluster: str | None = None


# --------------------------------------------------------------------------------------------------
# Data sources
# --------------------------------------------------------------------------------------------------


class FileRef(Frozen):
    path: str = Field(min_length=1)
    #: sha256 of the file as stored (compressed bytes for .gz); None only for hub files not yet pinned
    sha256: Sha256 | None = None

    @field_validator("path")
    @classmethod
    def _relative(cls, v: str) -> str:
        if v.startswith(("/", "\\")) or ".." in v.replace("\\", "/").split("/"):
            raise ValueError(f"path {v!r} must be relative to the data root, without '..'")
        return v


class _FileSource(Frozen):
    files: tuple[FileRef, ...] = Field(min_length=1)  # read in this order
    format: Format
    #: None: gzip when the path ends in .gz
    compression: Literal["gzip", "none"] | None = None
    #: JSON only: the key holding the list of records (None: the document is the list)
    json_records: str | None = None
    #: CSV/TSV: 'minimal' honours "..." quoting (RFC 4180), 'none' reads every character literally
    csv_quoting: Literal["minimal", "none"] = "minimal"


class LocalFiles(_FileSource):
    """Files under a data root (e.g. ``../shared/benchmarks``); every sha256 is checked on every load."""

    kind: Literal["local"] = "local"

    @model_validator(mode="after")
    def _pinned(self) -> LocalFiles:
        unpinned = [f.path for f in self.files if f.sha256 is None]
        if unpinned:
            raise ValueError(f"local files must be pinned by sha256: {unpinned}")
        return self


class HubFiles(_FileSource):
    """Files of a Hugging Face dataset repository at a pinned commit.

    Read from the local Hugging Face cache; downloaded (with ``huggingface_hub``) only when online.
    """

    kind: Literal["hf"] = "hf"
    repo: str = Field(pattern=r"^[A-Za-z0-9_.\-]+/[A-Za-z0-9_.\-]+$")
    revision: str = Field(pattern=r"^[0-9a-f]{40}$")  # a commit, never a branch name


class Generated(Frozen):
    """Records produced by a named generator (see :class:`GeneratorInfo`), deterministic from ``seed``."""

    kind: Literal["generated"] = "generated"
    generator: str
    seed: int = 0
    n: int = Field(gt=0)
    params: dict[str, Any] = Field(default_factory=dict)


Source = Annotated[LocalFiles | HubFiles | Generated, Field(discriminator="kind")]
FileSource = Annotated[LocalFiles | HubFiles, Field(discriminator="kind")]


def local(*files: tuple[str, str], format: Format, **kw: Any) -> LocalFiles:
    """``local(("gsm8k/test.jsonl", "3730d3..."), format="jsonl")`` — a short form for declarations."""
    return LocalFiles(files=tuple(FileRef(path=p, sha256=s) for p, s in files), format=format, **kw)


# --------------------------------------------------------------------------------------------------
# Field mapping
# --------------------------------------------------------------------------------------------------


class FieldMap(Frozen):
    """Which raw column becomes which part of an :class:`Item`.

    Options come from exactly one of ``choices`` (one column per option, in label order), ``choice_list``
    (one column holding a list) or ``fixed_choices`` (the same verbalised options for every item, e.g.
    ``("아니오", "예")``).  ``keep`` copies further columns into ``Item.fields`` for templates and
    breakdowns.  ``id``: the dataset's own id column; without one, ids are a hash of the record's content.
    """

    adapter: str | None = None
    id: str | None = None
    #: the id column is unique only within a file: ids become ``<file stem>/<id>`` (CLIcK reuses ids)
    id_per_file: bool = False
    question: str | None = "question"
    passage: str | None = None
    choices: tuple[str, ...] = ()
    choice_list: str | None = None
    fixed_choices: tuple[str, ...] = ()
    answer: str | None = "answer"
    answer_format: AnswerFormat = "text"
    #: records with the same non-empty value in this column share a cluster (e.g. a shared passage);
    #: a value held by one record only leaves that item independent (cluster None)
    cluster: str | None = None
    keep: tuple[str, ...] = ()
    #: which of question / passage / choices lose surrounding whitespace (lm-eval's ``question.strip()``)
    strip: tuple[Literal["question", "passage", "choices"], ...] = ()

    @model_validator(mode="after")
    def _check(self) -> FieldMap:
        given = [n for n, v in (("choices", self.choices), ("choice_list", self.choice_list),
                                ("fixed_choices", self.fixed_choices)) if v]
        if len(given) > 1:
            raise ValueError(f"give options in one way only, not {given}")
        needs_options = self.answer_format in ("index0", "index1", "letter", "choice_text", "bool")
        if needs_options and not given and self.adapter is None:
            raise ValueError(f"answer_format {self.answer_format!r} needs options (choices, choice_list or "
                             f"fixed_choices)")
        if self.id_per_file and self.id is None:
            raise ValueError("id_per_file needs an id column")
        if self.answer_format == "bool" and self.fixed_choices and len(self.fixed_choices) != 2:
            raise ValueError("answer_format 'bool' needs exactly two options, ordered (no, yes)")
        return self


# --------------------------------------------------------------------------------------------------
# Prompt template
# --------------------------------------------------------------------------------------------------


class Template(Frozen):
    """A pinned prompt format.  Placeholders use ``str.format`` syntax (write ``{{`` for a literal brace).

    The rendered text is ``preamble + example_sep.join(shots + [query])`` where each shot is
    ``query + target`` of a few-shot item.  In ``loglik`` mode the continuations are ``target`` rendered
    for every option — so ``target`` carries the leading-space convention (``" {label}"`` -> ``" A"``), as
    lm-eval's ``target_delimiter`` does.

    Placeholders: every key of ``Item.fields`` (``question``, ``passage``, kept columns, adapter fields),
    ``choices`` (the option block: ``choice_line`` per option joined by ``choice_sep``), ``labels`` (the
    labels in use joined by ", "), ``answer`` (the item's answer as text); in ``target`` also ``label`` and
    ``choice`` (the option being scored, or the gold one in a few-shot example).
    """

    #: the original this reproduces, and any deliberate deviation
    follows: str = Field(min_length=1)
    system: str | None = None
    preamble: str = ""
    query: str = Field(min_length=1)
    #: used instead of ``query`` when the item's passage is empty (formats that drop the passage line)
    query_no_passage: str | None = None
    target: str = " {label}"
    example_sep: str = "\n\n"
    choice_line: str = "{label}. {choice}"
    choice_sep: str = "\n"
    labels: tuple[str, ...] = ("A", "B", "C", "D", "E", "F", "G", "H", "I", "J")
    #: generate mode: True sends the text as one user message (chat); False as a raw completion prompt
    chat: bool = True

    @model_validator(mode="after")
    def _check(self) -> Template:
        for name in ("preamble", "query", "query_no_passage", "target", "choice_line", "system"):
            text = getattr(self, name)
            if text is None:
                continue
            try:
                fields = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
            except ValueError as e:
                raise ValueError(f"template {name}: {e} (write '{{{{' and '}}}}' for literal braces)") from e
            positional = [f for f in fields if f == "" or f.split(".")[0].split("[")[0].isdigit()]
            if positional:
                raise ValueError(f"template {name}: positional field {{{positional[0]}}}; name the field, or "
                                 f"write '{{{{' and '}}}}' for literal braces")
        if self.system is not None and not self.chat:
            raise ValueError("a system message needs chat = true")
        if len(set(self.labels)) != len(self.labels):
            raise ValueError("labels must be distinct")
        return self

    @property
    def sha256(self) -> str:
        return content_digest(self.model_dump(mode="json"), ascii=False)


# --------------------------------------------------------------------------------------------------
# Few-shot, scorer, limit
# --------------------------------------------------------------------------------------------------


class FewShot(Frozen):
    """Few-shot exemplars: ``k`` of them, chosen deterministically.

    ``source`` None draws from the benchmark's own items, never the item being asked nor one sharing its
    cluster.  ``first_n`` takes the pool in file order (lm-eval's MMLU sampler); ``random`` draws with a
    generator seeded by ``(seed, item id)``, so the choice for an item does not depend on the order in
    which items are rendered.  ``match`` keeps only exemplars whose field of that name equals the item's
    (e.g. the same MMLU subject).
    """

    k: int = Field(0, ge=0)
    source: FileSource | None = None
    fields: FieldMap | None = None  # the source's column mapping, when it differs from the benchmark's
    split: str = "dev"
    selection: Literal["first_n", "random"] = "random"
    seed: int = 1234
    match: str | None = None


class ScorerRef(Frozen):
    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class Limit(Frozen):
    """A deterministic, seeded subset for demos: the ``n`` items with the smallest hash of (seed, id)."""

    n: int = Field(gt=0)
    seed: int = 0


# --------------------------------------------------------------------------------------------------
# The declaration
# --------------------------------------------------------------------------------------------------


class BenchmarkDecl(Frozen):
    """One benchmark, declared.  For example (see catalog.py for the real suites)::

        BenchmarkDecl(
            id="arc-easy", name="ARC-Easy", language="en", category="reasoning",
            source=local(("arc/arc_easy.jsonl", "d2d12e59..."), format="jsonl"),
            fields=FieldMap(question="query", choice_list="choices", answer="gold", answer_format="index0"),
            template=Template(follows="lm-eval arc_easy", query="{question}\\nAnswer:", target=" {choice}"),
            mode="loglik", scorer=ScorerRef(name="mcq_loglik", params={"metric": "acc_norm"}),
        )

    ``mode`` must match what the scorer reads (``loglik`` -> a Loglik response, ``generate`` -> a
    Generation; ``episode`` -> ``scorer`` names an episode).  Names (scorer, episode, row adapter,
    generator) are checked against the catalog: every catalogued declaration when the catalog is built,
    any other by :meth:`sovereval.bench.catalog.Catalog.check` (which ``evaluate`` and ``rescore`` call).
    """

    id: Id
    name: str
    language: Language
    category: Category
    source: Source
    split: str = "test"
    fields: FieldMap = FieldMap()
    template: Template
    fewshot: FewShot = FewShot()
    mode: Mode
    generation: Sampling = Sampling()
    scorer: ScorerRef
    #: the programme sub-block this benchmark feeds (free text id, e.g. "domestic")
    subblock: str | None = None
    limit: Limit | None = None
    license: str = ""
    citation: str = ""
    note: str = ""

    @model_validator(mode="after")
    def _check(self) -> BenchmarkDecl:
        if isinstance(self.source, Generated) and self.fewshot.k and self.fewshot.source is not None:
            raise ValueError("a generated benchmark draws few-shot exemplars from its own items")
        return self

    @property
    def template_sha256(self) -> str:
        return self.template.sha256

    @property
    def version(self) -> str:
        """sha256 over the whole declaration (template, data hashes, sampling, scorer) for run manifests."""
        return content_digest(self.model_dump(mode="json"), ascii=False)

    def with_(self, **changes: Any) -> BenchmarkDecl:
        """A validated copy with some attributes replaced (e.g. ``decl.with_(limit=Limit(n=50))``)."""
        data = self.model_dump()
        for key, value in changes.items():
            data[key] = value.model_dump() if isinstance(value, Frozen) else value
        return type(self).model_validate(data)
