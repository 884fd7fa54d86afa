"""Loading benchmark items: verified bytes -> records -> :class:`~sovereval.bench.spec.Item`.

Every file is read whole and its sha256 checked against the declaration *before* anything is parsed, so
a modified or truncated copy is refused with both hashes in the message.  Formats: JSONL, JSON (a list,
or a list under ``json_records``), CSV/TSV (the ``csv`` module, quoting per ``csv_quoting``), Parquet
(only if ``pyarrow`` is installed), each optionally gzip-compressed.  Files are read whole (the pinned
copies are at most a few MB) so that nothing unverified is ever parsed.  A malformed record is an error
naming the file, the line or row, and the field.

Item ids: the dataset's own id column when the declaration names one (duplicates are an error; with
``id_per_file`` the file name scopes it, for datasets that reuse ids across files);
otherwise ``h`` + the first 16 hex of sha256(file path, record content as stored).  Identical records in one file
(MMLU has a few) get ``~2``, ``~3``... in file order, which the pinned file hash makes stable.

Row adapters and generators are found by name in the catalog (:func:`sovereval.bench.catalog.build`).
Where data lives and its errors (:func:`find_data_root`, :class:`DataError`, :class:`ChecksumError`) are in
:mod:`sovereval.bench.dataroot`, and :class:`RowContext` in :mod:`sovereval.bench.spec`; all are still
importable from here too.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import inspect
import io
import json
import os
import random
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sovereval.bench.catalog import build
from sovereval.bench.dataroot import ChecksumError, DataError, find_data_root
from sovereval.bench.spec import (
    BenchmarkDecl,
    FieldMap,
    FileRef,
    Generated,
    HubFiles,
    Item,
    Limit,
    LocalFiles,
    RowContext,
)
from sovereval.digest import canonical_json_unicode, sha256_hex

LETTERS = "ABCDEFGHIJ"


# --------------------------------------------------------------------------------------------------
# Locating and verifying files
# --------------------------------------------------------------------------------------------------


def _hub_file(src: HubFiles, ref: FileRef) -> Path:
    home = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface"))
    cache = Path(os.environ.get("HF_HUB_CACHE", home / "hub"))
    cached = cache / f"datasets--{src.repo.replace('/', '--')}" / "snapshots" / src.revision / ref.path
    if cached.is_file():
        return cached
    where = f"hf://datasets/{src.repo}@{src.revision}/{ref.path}"
    if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1":
        raise DataError(f"not in the Hugging Face cache ({cached}) and offline mode is on", file=where)
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise DataError(f"not in the Hugging Face cache ({cached}); install huggingface_hub to download it, "
                        f"or place the file there", file=where) from None
    try:
        return Path(hf_hub_download(repo_id=src.repo, filename=ref.path, repo_type="dataset",
                                    revision=src.revision))
    except Exception as e:  # network, auth, missing revision
        raise DataError(f"download failed: {e}", file=where) from e


def _read_verified(src: LocalFiles | HubFiles, ref: FileRef, data_root: Path | None) -> bytes:
    if isinstance(src, LocalFiles):
        if data_root is None:
            raise DataError("needs a data root (pass data_root, or set $SOVEREVAL_BENCH_DATA)", file=ref.path)
        path = data_root / ref.path
        if not path.is_file():
            raise DataError(f"file not found under the data root {data_root}", file=ref.path)
    else:
        path = _hub_file(src, ref)
    raw = path.read_bytes()
    actual = hashlib.sha256(raw).hexdigest()
    if ref.sha256 is not None and actual != ref.sha256:
        raise ChecksumError(f"sha256 mismatch: expected {ref.sha256}, found {actual} ({path}); the file is not "
                            f"the pinned copy — restore it or update the declaration deliberately", file=ref.path)
    gz = src.compression == "gzip" or (src.compression is None and ref.path.endswith(".gz"))
    if gz:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise DataError(f"not valid gzip: {e}", file=ref.path) from e
    return raw


# --------------------------------------------------------------------------------------------------
# Parsing records
# --------------------------------------------------------------------------------------------------


def _text(raw: bytes, file: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise DataError(f"not UTF-8 ({e.reason} at byte {e.start})", file=file, line=line) from e


def _jsonl(raw: bytes, file: str, src: LocalFiles | HubFiles) -> Iterator[tuple[int, dict[str, Any]]]:
    # split on "\n" only: JSON strings may legally hold U+2028 and friends, which splitlines() breaks on
    for n, line in enumerate(_text(raw, file).split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"malformed JSON: {e.msg} (column {e.colno})", file=file, line=n) from e
        if not isinstance(rec, dict):
            raise DataError(f"expected a JSON object, found {type(rec).__name__}", file=file, line=n)
        yield n, rec


def _json(raw: bytes, file: str, src: LocalFiles | HubFiles) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        doc = json.loads(_text(raw, file))
    except json.JSONDecodeError as e:
        raise DataError(f"malformed JSON: {e.msg} (column {e.colno})", file=file, line=e.lineno) from e
    if src.json_records is not None:
        if not isinstance(doc, dict) or src.json_records not in doc:
            raise DataError(f"no key {src.json_records!r} holding the records", file=file)
        doc = doc[src.json_records]
    if not isinstance(doc, list):
        raise DataError(f"expected a list of records, found {type(doc).__name__}", file=file)
    for n, rec in enumerate(doc, start=1):
        if not isinstance(rec, dict):
            raise DataError(f"record {n}: expected an object, found {type(rec).__name__}", file=file)
        yield n, rec


def _delimited(delimiter: str):  # type: ignore[no-untyped-def]
    def parse(raw: bytes, file: str, src: LocalFiles | HubFiles) -> Iterator[tuple[int, dict[str, Any]]]:
        quoting = csv.QUOTE_NONE if src.csv_quoting == "none" else csv.QUOTE_MINIMAL
        reader = csv.reader(io.StringIO(_text(raw, file), newline=""), delimiter=delimiter, quoting=quoting,
                            strict=True)
        try:
            header = next(reader)
        except StopIteration:
            raise DataError("empty file (no header row)", file=file) from None
        except csv.Error as e:
            raise DataError(f"malformed header: {e}", file=file, line=1) from e
        dup = sorted({h for h in header if header.count(h) > 1})
        if dup:
            raise DataError(f"duplicate column names {dup}", file=file, line=1)
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                raise DataError(f"malformed row: {e}", file=file, line=reader.line_num) from e
            if not row or row == [""]:
                continue
            if len(row) != len(header):
                missing = header[len(row)] if len(row) < len(header) else None
                raise DataError(f"{len(row)} values for {len(header)} columns"
                                + (f" (first missing: {missing!r})" if missing else ""),
                                file=file, line=reader.line_num, field=missing)
            yield reader.line_num, dict(zip(header, row, strict=True))

    return parse


def _parquet(raw: bytes, file: str, src: LocalFiles | HubFiles) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError("reading Parquet needs pyarrow, which is not installed (pip install pyarrow)",
                        file=file) from None
    try:
        table = pq.read_table(io.BytesIO(raw))
    except Exception as e:
        raise DataError(f"not readable as Parquet: {e}", file=file) from e
    yield from enumerate(table.to_pylist(), start=1)


PARSERS = {"jsonl": _jsonl, "json": _json, "csv": _delimited(","), "tsv": _delimited("\t"), "parquet": _parquet}


# --------------------------------------------------------------------------------------------------
# Records -> items
# --------------------------------------------------------------------------------------------------


def _parse_bool(v: Any) -> int:
    if isinstance(v, bool):
        return int(v)
    s = str(v).strip().lower()
    if s in ("true", "1", "yes", "y", "t"):
        return 1
    if s in ("false", "0", "no", "n", "f"):
        return 0
    raise ValueError(f"{v!r} is not a boolean")


def _as_int(v: Any) -> int:
    if isinstance(v, bool):
        raise TypeError(f"{v!r} is not an option number")
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    s = str(v).strip()
    if not re.fullmatch(r"-?\d+", s):
        raise ValueError(f"{v!r} is not an option number")
    return int(s)


def _answer(v: Any, fm: FieldMap, choices: tuple[str, ...]) -> int | str | tuple[int, ...]:
    fmt = fm.answer_format
    if fmt == "text":
        return str(v).strip()
    if fmt == "indices":
        if not isinstance(v, list | tuple) or not v:
            raise TypeError(f"{v!r} is not a non-empty list of option indices")
        idx: int | tuple[int, ...] = tuple(_as_int(x) for x in v)
    elif fmt == "index0":
        idx = _as_int(v)
    elif fmt == "index1":
        idx = _as_int(v) - 1
    elif fmt == "letter":
        s = str(v).strip().upper()
        if len(s) != 1 or s not in LETTERS:
            raise ValueError(f"{v!r} is not an option letter")
        idx = LETTERS.index(s)
    elif fmt == "bool":
        idx = _parse_bool(v)
    else:  # choice_text
        if v not in choices:
            raise ValueError(f"{v!r} is not one of the options {list(choices)}")
        idx = choices.index(v)
    for i in idx if isinstance(idx, tuple) else (idx,):
        if not 0 <= i < len(choices):
            raise ValueError(f"{v!r} gives option {i}, outside the {len(choices)} options")
    return idx


def _scalar(v: Any) -> Any:
    if v is None or isinstance(v, str | int | float | bool):
        return v
    if isinstance(v, list | tuple):
        return [_scalar(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _scalar(x) for k, x in v.items()}
    return str(v)


def _record_to_item(rec: dict[str, Any], fm: FieldMap, file: str, line: int) -> Item:
    raw = rec  # ids hash the record as stored, before any adapter reshapes it
    if fm.adapter is not None:
        adapter = build().row_adapters[fm.adapter]
        try:
            rec = adapter(dict(rec), RowContext(path=file, line=line))
        except (KeyError, ValueError, TypeError, IndexError) as e:
            raise DataError(f"row adapter {fm.adapter!r} failed: {e}", file=file, line=line) from e

    def col(name: str) -> Any:
        if name not in rec:
            raise DataError(f"missing (columns: {sorted(rec)})", file=file, line=line, field=name)
        return rec[name]

    def text(name: str, part: str) -> str:
        v = col(name)
        s = "" if v is None else str(v)
        return s.strip() if part in fm.strip else s

    fields: dict[str, Any] = {"source_file": file}
    if fm.question is not None:
        fields["question"] = text(fm.question, "question")
    if fm.passage is not None:
        fields["passage"] = text(fm.passage, "passage")
    for k in fm.keep:
        fields[k] = _scalar(col(k))

    if fm.choices:
        choices = tuple(text(c, "choices") for c in fm.choices)
    elif fm.choice_list is not None:
        lst = col(fm.choice_list)
        if not isinstance(lst, list | tuple) or not all(isinstance(c, str) for c in lst):
            raise DataError(f"expected a list of option strings, found {lst!r:.80}", file=file, line=line,
                            field=fm.choice_list)
        choices = tuple(c.strip() if "choices" in fm.strip else c for c in lst)
    else:
        choices = fm.fixed_choices

    answer: int | str | tuple[int, ...] | None = None
    if fm.answer is not None:
        try:
            answer = _answer(col(fm.answer), fm, choices)
        except (ValueError, TypeError) as e:
            raise DataError(str(e), file=file, line=line, field=fm.answer) from e

    if fm.id is not None:
        item_id = str(col(fm.id)).strip()
        if not item_id:
            raise DataError("empty id", file=file, line=line, field=fm.id)
        if fm.id_per_file:
            item_id = f"{Path(file).name.split('.')[0]}/{item_id}"
    else:
        item_id = "h" + sha256_hex(f"{file}\n{canonical_json_unicode(_scalar(raw))}")[:16]

    cluster = None
    if fm.cluster is not None:
        cv = col(fm.cluster)
        if cv not in (None, ""):
            cluster = f"{fm.cluster}:{sha256_hex(str(cv))[:12]}"
    return Item(id=item_id, fields=fields, answer=answer, choices=choices, cluster=cluster)


def reads_data_root(src: Generated) -> bool:
    """Whether a generator builds its items from pinned benchmark files (KoBBQ orders, long context)."""
    return "data_root" in inspect.signature(build().generators[src.generator].fn).parameters


def _load_source(src: LocalFiles | HubFiles | Generated, fm: FieldMap, data_root: Path | None) -> list[Item]:
    if isinstance(src, Generated):
        gen = build().generators[src.generator]
        params = dict(src.params)
        if data_root is not None and reads_data_root(src):
            params.setdefault("data_root", data_root)
        records = [(i + 1, r) for i, r in enumerate(gen(src.seed, src.n, **params))]
        files = [(f"generated:{src.generator}", records)]
    else:
        parse = PARSERS[src.format]
        files = [(ref.path, list(parse(_read_verified(src, ref, data_root), ref.path, src))) for ref in src.files]
    items: list[Item] = []
    seen: dict[str, int] = {}
    for file, records in files:
        for line, rec in records:
            item = _record_to_item(rec, fm, file, line)
            if item.id in seen:
                if fm.id is not None:
                    raise DataError(f"duplicate id {item.id!r} (first at record {seen[item.id]})", file=file,
                                    line=line, field=fm.id)
                k = 2
                while f"{item.id}~{k}" in seen:
                    k += 1
                item = item.model_copy(update={"id": f"{item.id}~{k}"})
            seen[item.id] = line
            items.append(item)
    sizes = Counter(it.cluster for it in items if it.cluster is not None)
    return [it.model_copy(update={"cluster": None}) if it.cluster is not None and sizes[it.cluster] == 1 else it
            for it in items]


def _hash_key(seed: int, item_id: str) -> bytes:
    return hashlib.sha256(f"{seed}\x00{item_id}".encode()).digest()


def subset(items: list[Item], limit: Limit) -> list[Item]:
    """The ``limit.n`` items with the smallest hash of (seed, id), in their original order."""
    if limit.n >= len(items):
        return list(items)
    keep = {it.id for it in sorted(items, key=lambda it: _hash_key(limit.seed, it.id))[: limit.n]}
    return [it for it in items if it.id in keep]


def load_items(decl: BenchmarkDecl, data_root: str | os.PathLike[str] | None = None) -> list[Item]:
    """All items of ``decl`` (or its seeded ``limit`` subset), with every file's sha256 verified.

    ``data_root`` is the folder that local paths are relative to (``../shared/benchmarks``); generated
    and hub sources do not need it.
    """
    root = Path(data_root) if data_root is not None else None
    if root is None and isinstance(decl.source, LocalFiles | Generated):
        root = find_data_root()
    items = _load_source(decl.source, decl.fields, root)
    return subset(items, decl.limit) if decl.limit is not None else items


def load_fewshot_pool(decl: BenchmarkDecl, data_root: str | os.PathLike[str] | None = None) -> list[Item]:
    """Where few-shot exemplars come from: the declared source, or all the benchmark's own items."""
    fs = decl.fewshot
    if fs.k == 0:
        return []
    root = Path(data_root) if data_root is not None else find_data_root()
    if fs.source is None:
        return _load_source(decl.source, decl.fields, root)
    return _load_source(fs.source, fs.fields or decl.fields, root)


_PREPARED: tuple[object, str | None, bool, dict[Any, list[Item]]] | None = None  # the last pool, prepared


def _prepare(pool: list[Item], match: str | None, by_id: bool) -> dict[Any, list[Item]]:
    """The pool grouped by the ``match`` field (one group when None), sorted by id for seeded sampling."""
    global _PREPARED
    cached = _PREPARED
    if cached is not None and cached[0] is pool and cached[1] == match and cached[2] == by_id:
        return cached[3]
    groups: dict[Any, list[Item]] = {}
    for p in pool:
        groups.setdefault(p.fields.get(match) if match else None, []).append(p)
    if by_id:
        groups = {k: sorted(v, key=lambda it: it.id) for k, v in groups.items()}
    _PREPARED = (pool, match, by_id, groups)
    return groups


def select_fewshot(decl: BenchmarkDecl, item: Item, pool: list[Item]) -> list[Item]:
    """``decl.fewshot.k`` exemplars for ``item``: never the item itself nor one sharing its cluster."""
    fs = decl.fewshot
    if fs.k == 0:
        return []
    groups = _prepare(pool, fs.match, by_id=fs.selection == "random")
    source = groups.get(item.fields.get(fs.match) if fs.match else None, [])
    cands = [p for p in source if p.id != item.id and (item.cluster is None or p.cluster != item.cluster)]
    if len(cands) < fs.k:
        raise DataError(f"{decl.id}: only {len(cands)} few-shot exemplars for item {item.id!r}, {fs.k} needed"
                        + (f" (matching {fs.match}={item.fields.get(fs.match)!r})" if fs.match else ""))
    if fs.selection == "first_n":
        return cands[: fs.k]
    rng = random.Random(int.from_bytes(_hash_key(fs.seed, item.id)[:8], "big"))
    return rng.sample(cands, fs.k)
