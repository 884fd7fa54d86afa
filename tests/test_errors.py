"""One error base: every exception class sovereval defines derives from :class:`SovereValError`, keeps its
standard base (``except ValueError`` still catches a ``DataError``), and reads as before."""

from __future__ import annotations

import copy
import importlib
import pkgutil

import pytest

import sovereval
from sovereval.errors import SovereValError, locate

# Exception classes that do not derive from SovereValError, each with its reason.  Keep it short.
ALLOWED = {
    # a stand-alone script run as `python -I -B _launcher.py` inside the sandbox: standard library only
    "sovereval.bench.sandbox._launcher._Timeout",
}

# run by Alembic only (env.py needs alembic's migration context)
SKIP_MODULES = ("sovereval.store.migrations",)


def _exception_classes() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}

    def visit(owner: object, modname: str) -> None:
        for value in list(vars(owner).values()):
            if isinstance(value, type) and value.__module__ == modname:
                if issubclass(value, BaseException):
                    found[f"{modname}.{value.__qualname__}"] = value
                if value is not owner:
                    visit(value, modname)  # classes nested in classes

    for info in pkgutil.walk_packages(sovereval.__path__, "sovereval."):
        if info.name.startswith(SKIP_MODULES):
            continue
        module = importlib.import_module(info.name)
        visit(module, info.name)
    return found


def test_every_exception_class_derives_from_the_base() -> None:
    found = _exception_classes()
    assert "sovereval.program.load.SpecError" in found and "sovereval.bench.types.BackendError" in found
    outside = sorted(name for name, cls in found.items() if not issubclass(cls, SovereValError))
    assert outside == sorted(n for n in ALLOWED if n in found), (
        "derive these from sovereval.errors.SovereValError (keeping a standard base as the second base), "
        f"or add them to ALLOWED with a reason: {sorted(set(outside) - ALLOWED)}")
    stale = sorted(n for n in ALLOWED if n not in found or issubclass(found[n], SovereValError))
    assert not stale, f"no longer needed in ALLOWED: {stale}"


def test_standard_bases_are_kept() -> None:
    from sovereval.bench.bfcl.convert import Unsupported
    from sovereval.bench.bfcl.decode import DecodeError
    from sovereval.bench.dataroot import ChecksumError, DataError
    from sovereval.bench.evaluate import IncompleteRun
    from sovereval.bench.models import ModelNotFound
    from sovereval.bench.prompts import PromptError
    from sovereval.bench.sandbox.core import SandboxUnavailable
    from sovereval.bench.session import NotInLedger

    for cls, std in ((PromptError, ValueError), (DataError, ValueError), (ChecksumError, ValueError),
                     (DecodeError, ValueError), (Unsupported, ValueError), (SandboxUnavailable, RuntimeError),
                     (IncompleteRun, RuntimeError), (NotInLedger, LookupError), (ModelNotFound, LookupError)):
        assert issubclass(cls, SovereValError) and issubclass(cls, std), cls
    with pytest.raises(ValueError, match="x"):
        raise DataError("x")


def test_messages_unchanged_without_location() -> None:
    from sovereval.bench.types import BackendError
    from sovereval.store.store import ConflictError, StoreError

    assert str(SovereValError("plain message")) == "plain message"
    assert str(StoreError("unknown programme 'p'")) == "unknown programme 'p'"
    e = BackendError("HTTP 503", kind="server", status=503)
    assert str(e) == "HTTP 503" and e.retryable and e.file is None and e.context is None
    assert str(ConflictError("p", "s", ["a"])).startswith("1 value(s) already recorded for program 'p' stage 's'")


def test_location_prefix() -> None:
    assert str(SovereValError("must be positive", file="x.toml", line=12, field="stages[0].points")) == (
        "x.toml:12: [stages[0].points] must be positive")
    assert str(SovereValError("no [[stages]]", file="x.toml")) == "x.toml: no [[stages]]"
    assert str(SovereValError("unknown team 'zeta'", field="team")) == "[team] unknown team 'zeta'"
    e = SovereValError("m", context={"run": 3})
    assert str(e) == "m" and e.context == {"run": 3}  # context is carried, never printed
    assert locate("m") == "m"
    back = copy.deepcopy(SovereValError("m", file="f.csv", line=2))  # rebuilt through __reduce__, as across processes
    assert str(back) == "f.csv:2: m"


def test_spec_and_data_errors_keep_their_formats() -> None:
    from sovereval.bench.dataroot import DataError
    from sovereval.program.load import SpecError

    assert str(SpecError(file="p.toml", message="bad", line=3, field="stages")) == "p.toml:3: [stages] bad"
    assert str(SpecError(file="p.toml", message="bad")) == "p.toml: bad"
    assert SpecError(file="p.toml", message="bad").context is None
    d = DataError("missing", file="x.jsonl", line=2, field="gold")
    assert str(d) == "x.jsonl:2: field 'gold': missing"  # its own words, not prefixed a second time
    assert (d.file, d.line, d.field) == ("x.jsonl", 2, "gold")
    assert str(DataError("empty")) == "empty"
