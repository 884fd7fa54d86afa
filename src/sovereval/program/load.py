"""Load programmes and inputs from TOML/JSON/CSV with errors that name file, line, field and a fix.

tomllib reports syntax errors with positions but knows nothing about the meaning of fields; pydantic
knows the field path (``stages[0].blocks[1].points``) but not the line.  :func:`key_lines` maps every
table header and key of a TOML text to its line so a validation error can point at the source.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from sovereval.errors import SovereValError, locate
from sovereval.program.records import BenchmarkResult, Inputs
from sovereval.program.spec import Program

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class SpecError(SovereValError):
    """A bad input file: where, what and how to fix it."""

    file: str = dataclasses.field()  # a required field: SovereValError's class-level None is no default
    message: str
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        return locate(self.message, self.file, self.line, self.field)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------------
# TOML key -> line map
# --------------------------------------------------------------------------------------------------

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'.]+)\s*=")


def _split_dotted(name: str) -> list[str]:
    return [p.strip().strip("\"'") for p in name.split(".")]


def key_lines(text: str) -> dict[tuple[Any, ...], int]:
    """Map paths like ('stages', 0, 'blocks', 1, 'points') to 1-based line numbers."""
    lines: dict[tuple[Any, ...], int] = {}
    counters: dict[tuple[Any, ...], int] = {}
    current: tuple[Any, ...] = ()
    for no, raw in enumerate(text.splitlines(), start=1):
        m = _HEADER.match(raw)
        if m and not raw.lstrip().startswith("#"):
            parts = _split_dotted(m.group(2))
            # resolve every prefix to the latest element of arrays-of-tables
            path: tuple[Any, ...] = ()
            for i, p in enumerate(parts):
                path = path + (p,)
                last = i == len(parts) - 1
                if last and m.group(1) == "[[":
                    idx = counters.get(path, -1) + 1
                    counters[path] = idx
                    # a new element resets counters of its children
                    for k in [k for k in counters if len(k) > len(path) and k[: len(path)] == path]:
                        del counters[k]
                    path = path + (idx,)
                elif path in counters:
                    path = path + (counters[path],)
            current = path
            lines.setdefault(current, no)
            continue
        k = _KEY.match(raw)
        if k and not raw.lstrip().startswith("#"):
            full = current + tuple(_split_dotted(k.group(1)))
            lines.setdefault(full, no)
    return lines


def _locate(loc: Iterable[Any], lines: dict[tuple[Any, ...], int]) -> int | None:
    path = tuple(loc)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return None


def _field(loc: Iterable[Any]) -> str:
    out = ""
    for p in loc:
        out += f"[{p}]" if isinstance(p, int) else (("." if out else "") + str(p))
    return out


def _clean_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    # pydantic inserts discriminator tags ('absolute_scale') and 'function-after[...]' into loc paths
    return tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p in _TAGS)))


_TAGS = {"absolute_scale", "ratio_to_target_capped", "relative_to_best", "rank_points"}


def validation_error(file: str, text: str | None, err: ValidationError) -> SpecError:
    first = err.errors()[0]
    loc = _clean_loc(tuple(first["loc"]))
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "union_tag_invalid":
        msg = f"unknown normaliser kind; use one of: absolute_scale, ratio_to_target_capped, relative_to_best, rank_points ({msg})"
    elif first["type"] == "extra_forbidden":
        msg = f"unknown field {loc[-1]!r}; check the spelling against the documented fields"
    elif first["type"] == "missing":
        msg = f"required field {loc[-1]!r} is missing"
    n_more = len(err.errors()) - 1
    if n_more:
        msg += f" (and {n_more} more problem{'s' if n_more > 1 else ''})"
    line = _locate(loc, key_lines(text)) if text is not None else None
    return SpecError(file=file, line=line, field=_field(loc) or None, message=msg)


def _parse_toml(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(str(path), "file not found") from None
    except UnicodeDecodeError as e:
        raise SpecError(str(path), f"not UTF-8 text ({e.reason} at byte {e.start})") from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(e))
        line = int(m.group(1)) if m else None
        raise SpecError(str(path), f"invalid TOML: {str(e).split(' (at line')[0]}", line=line) from None


def _validate(model: type[M], data: Any, file: str, text: str | None) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise validation_error(file, text, e) from None


# --------------------------------------------------------------------------------------------------
# Public loaders
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    program: Program
    text: str
    sha256: str
    path: str


def load_program(path: str | Path) -> Loaded:
    path = Path(path)
    text, data = _parse_toml(path)
    return Loaded(_validate(Program, data, str(path), text), text, sha256_text(text), str(path))


def program_from_text(text: str, name: str = "<program>") -> Program:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SpecError(name, f"invalid TOML: {e}") from None
    return _validate(Program, data, name, text)


def load_inputs(path: str | Path) -> Inputs:
    """Inputs bundle from TOML or JSON; ``items_csv`` entries pull item-level scores from CSV files."""
    path = Path(path)
    text: str | None
    if path.suffix.lower() == ".json":
        try:
            text = path.read_text(encoding="utf-8")
            data = json.loads(text)
        except FileNotFoundError:
            raise SpecError(str(path), "file not found") from None
        except json.JSONDecodeError as e:
            raise SpecError(str(path), f"invalid JSON: {e.msg}", line=e.lineno) from None
        text = None
    else:
        text, data = _parse_toml(path)
    if isinstance(data, dict) and "items_csv" in data:
        extra = [read_item_csv(path.parent / p) for p in data.pop("items_csv")]
        data["benchmarks"] = list(data.get("benchmarks", [])) + [r for rs in extra for r in rs]
    return _validate(Inputs, data, str(path), text)


ITEM_CSV_COLUMNS = ("team", "benchmark", "item", "score")


def read_item_csv(path: Path) -> list[dict[str, Any]]:
    """Item-level scores: columns team, benchmark, item, score (0..1), optional cluster."""
    if not path.is_file():
        raise SpecError(str(path), "file not found")
    groups: dict[tuple[str, str], dict[str, list[Any]]] = {}
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        cols = reader.fieldnames or []
        missing = [c for c in ITEM_CSV_COLUMNS if c not in cols]
        if missing:
            raise SpecError(str(path), f"missing column(s) {missing}; need {list(ITEM_CSV_COLUMNS)} (+ optional cluster)", line=1)
        has_cluster = "cluster" in cols
        for lineno, row in enumerate(reader, start=2):
            try:
                score = float(row["score"])
            except (TypeError, ValueError):
                raise SpecError(str(path), f"score {row['score']!r} is not a number", line=lineno, field="score") from None
            g = groups.setdefault((row["team"], row["benchmark"]), {"item_ids": [], "scores": [], "clusters": []})
            g["item_ids"].append(row["item"])
            g["scores"].append(score)
            if has_cluster:
                g["clusters"].append(row["cluster"])
    out = []
    for (team, bench), g in groups.items():
        rec: dict[str, Any] = {"team": team, "benchmark": bench, "item_ids": g["item_ids"], "scores": g["scores"]}
        if g["clusters"]:
            rec["clusters"] = g["clusters"]
        try:
            BenchmarkResult.model_validate(rec)
        except ValidationError as e:
            raise validation_error(str(path), None, e) from None
        out.append(rec)
    return out
