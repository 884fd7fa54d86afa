"""The one base of every error sovereval raises on purpose: ``except SovereValError`` catches them all.

Each project exception derives from :class:`SovereValError` and, where it had one, keeps its standard
base as a second base (``class DataError(SovereValError, ValueError)``), so ``except ValueError`` goes on
working.  An error may say where it comes from: ``file`` (and ``line``), ``field`` (a dotted path such as
``stages[0].blocks[1].points``) and ``context`` (free-form details for logs and tools, never printed);
its text is then prefixed the way :class:`sovereval.program.load.SpecError` has always written it::

    programs/x.toml:12: [stages[0].points] must be positive
    programs/x.toml: no [[stages]]
    [team] unknown team 'zeta'

Without them the text is exactly the message.  This module imports nothing from sovereval.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def locate(message: str, file: str | None = None, line: int | None = None, field: str | None = None) -> str:
    """``message`` prefixed by ``file[:line]:`` and `` [field]`` where given; unchanged without them."""
    fld = f"[{field}]" if field else ""
    if file:
        where = file + (f":{line}" if line else "")
        return f"{where}:{' ' + fld if fld else ''} {message}"
    return f"{fld} {message}" if fld else message


class SovereValError(Exception):
    """Base class of sovereval's exceptions.

    ``SovereValError(*args, file=None, line=None, field=None, context=None)``; the positional arguments
    are those of :class:`Exception` (normally one message).
    """

    file: str | None = None
    line: int | None = None
    field: str | None = None
    context: Mapping[str, Any] | None = None

    def __init__(self, *args: object, file: str | None = None, line: int | None = None,
                 field: str | None = None, context: Mapping[str, Any] | None = None) -> None:
        super().__init__(*args)
        # only what is given: what a subclass set before calling here (DataError) stays
        for name, value in (("file", file), ("line", line), ("field", field), ("context", context)):
            if value is not None:
                setattr(self, name, value)

    def __str__(self) -> str:
        return locate(super().__str__(), self.file, self.line, self.field)
