"""Reference registry: a folder of fingerprints plus ``registry.json`` (versioned, every file hashed)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .checkpoint import open_checkpoint
from .errors import AuditError
from .fingerprint import FINGERPRINT_VERSION, Fingerprint, build_fingerprint

MANIFEST = "registry.json"
REGISTRY_ENV = "SOVEREVAL_AUDIT_REGISTRY"
DEFAULT_REGISTRY = Path("audit-registry")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_manifest(root: Path) -> dict[str, Any]:
    p = root / MANIFEST
    if not p.is_file():
        return {"version": FINGERPRINT_VERSION, "references": {}}
    return json.loads(p.read_text())


def add_reference(root: Path, checkpoint: Path, name: str) -> dict[str, Any]:
    """Fingerprint ``checkpoint`` and register it as ``name`` (replacing an older entry)."""
    with open_checkpoint(checkpoint) as c:
        fp = build_fingerprint(c, name)
    file = root / f"{name}.npz"
    sha = fp.save(file)
    man = load_manifest(root)
    entry = {"file": file.name, "sha256": sha, "fingerprint_version": FINGERPRINT_VERSION,
             "created": datetime.now(UTC).isoformat(timespec="seconds"), "source": str(checkpoint),
             "source_files": fp.meta["source_files"], "config": fp.config, "n_params": fp.meta["n_params"]}  # fmt: skip
    man["references"][name] = entry
    man["updated"] = entry["created"]
    (root / MANIFEST).write_text(json.dumps(man, indent=1, sort_keys=True))
    return entry


def load_reference(root: Path, name: str) -> Fingerprint:
    """Load a registered fingerprint, refusing one whose file hash no longer matches the manifest."""
    man = load_manifest(root)
    e = man["references"].get(name)
    if e is None:
        raise AuditError(f"no reference {name!r} in {root / MANIFEST} (known: {', '.join(man['references'])})")
    path = root / e["file"]
    if not path.is_file():
        raise AuditError(f"{path}: listed in {root / MANIFEST} but missing; rebuild the reference")
    if _sha(path) != e["sha256"]:
        raise AuditError(f"{path}: sha256 differs from the registry manifest; rebuild it")
    if e.get("fingerprint_version") != FINGERPRINT_VERSION:
        raise AuditError(f"reference {name!r} in {root / MANIFEST} is fingerprint version "
                         f"{e.get('fingerprint_version')!r}, this sovereval reads {FINGERPRINT_VERSION}: rebuild it with "
                         f"`sovereval audit fingerprint build {e.get('source', 'CHECKPOINT')} --name {name} "
                         f"--registry {root}`")
    return Fingerprint.load(path)


def resolve_reference(spec: str, registry: Path | None) -> tuple[Fingerprint, dict[str, Any]]:
    """A reference given as a registry name, a fingerprint ``.npz`` or a checkpoint path.

    A name that is not an existing path is looked up in ``registry`` (default: ``./audit-registry`` when
    it holds a manifest)."""
    p = Path(spec)
    if not p.exists():
        root = registry if registry is not None else DEFAULT_REGISTRY
        if not (root / MANIFEST).is_file():
            raise AuditError(
                f"reference {spec!r}: no such file or directory, and no registry to look the name up in "
                f"({root / MANIFEST} does not exist; give --registry DIR or ${REGISTRY_ENV}, or build one with "
                f"`sovereval audit fingerprint build CHECKPOINT --name NAME --registry DIR`)"
            )
        fp = load_reference(root, spec)
        return fp, {"reference": spec, "fingerprint_sha256": load_manifest(root)["references"][spec]["sha256"]}
    if p.suffix == ".npz":
        return Fingerprint.load(p), {"reference": spec, "fingerprint_sha256": _sha(p)}
    with open_checkpoint(p) as c:
        fp = build_fingerprint(c, p.stem)
    return fp, {"reference": spec, "source_files": fp.meta["source_files"]}
