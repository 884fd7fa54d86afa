"""The llama.cpp build of this environment: how it was built, where its ``llama-server`` is, and a start-up check.

llama.cpp is compiled once by ``scripts/install-llama.sh`` from the source llama-cpp-python vendors: the
in-process library (``llama_cpp/lib``) and ``llama-server`` (``<site-packages>/bin``) come from the same
compile, for a named ISA level (default ``x86-64-v3``: AVX2/FMA/F16C, no AVX-512, no AMX), recorded in
``<venv>/llama-build.json``.

A native build (llama.cpp's default ``-march=native``) on a VM whose CPU advertises AMX or AVX-512 that the
hypervisor does not enable dies with SIGILL at its first matrix product, and takes the whole process with
it: a demo, a stage run, a web session, a test run.  So before the first model is loaded in a process,
:func:`ensure_runtime` runs one tiny generation in a **child** process; if that child dies by a signal the
caller gets one :class:`LlamaRuntimeError` naming the signal, the likely cause, the build flags and the
command that rebuilds, instead of a crash.  ``python -m sovereval.bench.llama_runtime check`` runs the same
check (the set-up does, after building).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import sysconfig
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sovereval.errors import SovereValError

__all__ = ["LlamaRuntimeError", "build_record", "check", "ensure_runtime", "explain_signal", "server_binary"]

RECORD_NAME = "llama-build.json"
REBUILD = "scripts/install-llama.sh python  (SOVEREVAL_LLAMA_ISA=x86-64-v3 is the portable default)"

# One tiny generation: a prompt of a few tokens (a batched matrix product, where AMX/AVX-512 kernels run)
# and two generated tokens (the one-row path).
_PROBE = """
import os, sys
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
from llama_cpp import Llama
llm = Llama(model_path=sys.argv[1], n_ctx=128, n_batch=32, n_threads=1, verbose=False)
out = llm.create_completion("The capital of France is Paris. The capital of Korea is", max_tokens=2, temperature=0.0)
print("ok", repr(out["choices"][0]["text"]))
"""


class LlamaRuntimeError(SovereValError, RuntimeError):
    """llama.cpp cannot run here (it died by a signal, or failed) — the message says why and how to rebuild."""


def build_record(prefix: str | Path | None = None) -> dict[str, Any] | None:
    """The flags ``scripts/install-llama.sh`` recorded for this environment's build, or ``None``."""
    path = Path(prefix or sys.prefix) / RECORD_NAME
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def server_binary() -> Path:
    """``$SOVEREVAL_LLAMA_SERVER``, else the ``llama-server`` built with llama-cpp-python (``<site-packages>/bin``)."""
    override = os.environ.get("SOVEREVAL_LLAMA_SERVER")
    if override:
        return Path(override)
    path = Path(sysconfig.get_paths()["purelib"]) / "bin" / "llama-server"
    if not path.is_file():
        raise LlamaRuntimeError(f"llama-server not found at {path}: run {REBUILD}")
    return path


def server_env() -> dict[str, str]:
    """Environment for ``llama-server``: passive OpenMP waits (its libraries are found through its RUNPATH,
    ``$ORIGIN/../lib``, so an overriding binary never picks up these)."""
    return {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}


def _cpu_features() -> tuple[str, list[str]]:
    name, flags = "unknown CPU", []
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key in ("model name", "CPU part") and name == "unknown CPU":
                name = value.strip()
            elif key in ("flags", "Features") and not flags:
                flags = value.split()
    except OSError:
        pass
    wanted = [f for f in flags if f.startswith(("amx", "avx512")) or f in ("avx_vnni", "avx2")]
    return name, wanted


def explain_signal(signum: int, what: str, record: dict[str, Any] | None = None) -> str:
    """The message for llama.cpp dying by ``signum`` while doing ``what``."""
    try:
        sig = signal.Signals(signum).name
    except ValueError:
        sig = f"signal {signum}"
    cpu, feats = _cpu_features()
    if signum == signal.SIGILL:
        cause = ("the llama.cpp build uses a CPU instruction this machine refuses: typically a native "
                 "(-march=native) build on a VM whose CPU advertises AMX or AVX-512 that the hypervisor does "
                 "not enable, or a wheel built on another CPU")
    elif signum in (signal.SIGSEGV, signal.SIGBUS):
        cause = "a memory fault inside llama.cpp (a broken build or model file, or too little memory)"
    else:
        cause = "llama.cpp was killed"
    if record:
        built = f"built for {record.get('isa')} with {' '.join(record.get('cmake_args', []))}"
        rebuild = record.get("rebuild") or REBUILD
    else:
        built = ("no build record (llama-build.json) in this environment: probably installed by pip with "
                 "llama.cpp's default native flags")
        rebuild = f"pip uninstall -y llama-cpp-python && {REBUILD}"
    return (f"llama.cpp died with {sig} during {what}. Cause: {cause}. Build: {built}. "
            f"CPU: {cpu}; advertises {', '.join(feats) or 'none of AVX2/AVX-512/AMX'}. "
            f"Rebuild for a portable baseline: {rebuild}")


def check(model_path: str | Path | None = None, *, code: str | None = None, timeout_s: float = 300.0) -> str:
    """Run one tiny generation on ``model_path`` (default: SmolLM2, else the model given) in a child process.

    Returns the child's report; raises :class:`LlamaRuntimeError` when it dies by a signal or fails.
    ``code`` is the child's program (``sys.argv[1]`` is the model path); tests replace it to inject a crash."""
    if model_path is None:
        from sovereval.bench.models import resolve_model

        model_path = resolve_model("smollm2-135m-instruct").path
    what = f"a tiny generation on {Path(model_path).name} in a child process (the start-up check)"
    try:
        proc = subprocess.run([sys.executable, "-c", code or _PROBE, str(model_path)], capture_output=True, text=True, check=False,
                              timeout=timeout_s, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise LlamaRuntimeError(f"llama.cpp did not finish {what} within {timeout_s:.0f} s") from e
    if proc.returncode < 0:
        raise LlamaRuntimeError(explain_signal(-proc.returncode, what, build_record()))
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip()[-1500:]
        raise LlamaRuntimeError(f"llama.cpp failed {what} (exit {proc.returncode}):\n{tail}")
    return proc.stdout.strip()


_checked: dict[str, str | LlamaRuntimeError] = {}
_lock = threading.Lock()


def ensure_runtime(model_path: str | Path | None = None) -> None:
    """:func:`check` once per process and model file (default SmolLM2); a failure is remembered and raised
    again."""
    if model_path is None:
        from sovereval.bench.models import resolve_model

        model_path = resolve_model("smollm2-135m-instruct").path
    key = str(Path(model_path).resolve())
    with _lock:
        if key not in _checked:
            try:
                _checked[key] = check(model_path)
            except LlamaRuntimeError as e:
                _checked[key] = e
        result = _checked[key]
    if isinstance(result, LlamaRuntimeError):
        raise result


def _main(argv: Sequence[str]) -> int:
    if not argv or argv[0] != "check":
        print("usage: python -m sovereval.bench.llama_runtime check [MODEL.gguf]", file=sys.stderr)
        return 2
    try:
        report = check(argv[1] if len(argv) > 1 else None)
    except LlamaRuntimeError as e:
        print(f"llama.cpp start-up check FAILED: {e}", file=sys.stderr)
        return 1
    record = build_record()
    built = f"{record.get('isa')} ({record.get('key')})" if record else "no build record"
    server = "absent"
    try:
        binary = server_binary()
        proc = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=False, env=server_env(),
                              timeout=60, stdin=subprocess.DEVNULL)
        if proc.returncode < 0:
            print(f"llama-server start-up check FAILED: "
                  f"{explain_signal(-proc.returncode, 'llama-server --version', record)}", file=sys.stderr)
            return 1
        server = (proc.stdout + proc.stderr).strip().splitlines()[0] if proc.returncode == 0 else \
            f"exit {proc.returncode}"
    except (LlamaRuntimeError, OSError, subprocess.TimeoutExpired, IndexError) as e:
        server = f"not usable: {e}"
    print(f"llama.cpp start-up check ok: build {built}; generation {report}; llama-server {server}")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
