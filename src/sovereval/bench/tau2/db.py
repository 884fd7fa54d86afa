"""An episode's private copy of a τ² domain database, over the shared, never-modified parsed file.

The shipped ``db.json`` is parsed once per process (after its sha256 is checked) and never written to.
Each environment sees it through :class:`Table` overlays: a record is deep-copied into the overlay the
first time a tool asks for it (:meth:`Table.get`), and every change happens on that copy; scans
(:meth:`Table.scan`) read without copying.  Two environments over the same file differ only in the
records either of them copied, so comparing their final states (τ²'s database hash match) means
comparing those records — :func:`db_diff` — which is exact and fast even for the 7 MB airline database.

Records are normalised as τ²'s pydantic models would dump them (e.g. an order's optional exchange /
return fields present as ``null``), so tool outputs and comparisons see the same shape.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from typing import Any

Record = dict[str, Any]


class Table:
    def __init__(self, name: str, base: Mapping[str, Record], normalise: Callable[[Record], Record]) -> None:
        self.name = name
        self._base = base
        self._own: dict[str, Record] = {}
        self._normalise = normalise

    def __contains__(self, key: object) -> bool:
        return key in self._own or key in self._base

    def __len__(self) -> int:
        return len(self._base) + sum(1 for k in self._own if k not in self._base)

    def keys(self) -> list[str]:
        return [*self._base, *(k for k in self._own if k not in self._base)]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def get(self, key: str) -> Record:
        """The environment's own (mutable) copy of a record; ``KeyError`` if there is none."""
        if key not in self._own:
            self._own[key] = self._normalise(copy.deepcopy(self._base[key]))
        return self._own[key]

    def view(self, key: str) -> Record:
        """The record as the environment sees it, read-only (normalised; never mutate it)."""
        return self._own[key] if key in self._own else self._normalise(dict(self._base[key]))

    def scan(self) -> Iterator[tuple[str, Record]]:
        """Every (key, record), read-only and unnormalised, in file order then creation order."""
        for k, v in self._base.items():
            yield k, self._own.get(k, v)
        for k, v in self._own.items():
            if k not in self._base:
                yield k, v

    def put(self, key: str, record: Record) -> None:
        self._own[key] = record

    @property
    def touched(self) -> set[str]:
        return set(self._own)


class DomainDB:
    """The tables of one domain (``flights``/``users``/``reservations`` or ``products``/``users``/``orders``)."""

    def __init__(self, base: Mapping[str, Mapping[str, Record]], normalisers: Mapping[str, Callable[[Record], Record]],
                 canonical: Callable[[str, Record], Any] | None = None) -> None:
        self.tables = {name: Table(name, base[name], normalisers.get(name, _same)) for name in base}
        self._canonical = canonical or (lambda table, record: record)

    def __getattr__(self, name: str) -> Table:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]  # type: ignore[no-any-return]
        raise AttributeError(name)

    def canonical(self, table: str, key: str) -> Any:
        t = self.tables[table]
        return self._canonical(table, t.view(key)) if key in t else None


def _same(record: Record) -> Record:
    return record


def db_diff(a: DomainDB, b: DomainDB, limit: int = 20) -> list[str]:
    """``table/key`` of every record that differs between two environments over the same base (first ``limit``)."""
    out: list[str] = []
    for name, ta in a.tables.items():
        tb = b.tables[name]
        for key in sorted(ta.touched | tb.touched):
            if a.canonical(name, key) != b.canonical(name, key):
                out.append(f"{name}/{key}")
                if len(out) >= limit:
                    return out
    return out
