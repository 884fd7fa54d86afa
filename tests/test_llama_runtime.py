"""The llama.cpp start-up check: a build this CPU refuses becomes one clear message, never a crash of the caller."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from sovereval.bench import llama_runtime
from sovereval.bench.llama_runtime import LlamaRuntimeError, check, ensure_runtime, explain_signal

SIGILL_CHILD = "import os, signal; os.kill(os.getpid(), signal.SIGILL)"


def test_a_child_killed_by_sigill_is_reported_with_cause_build_and_rebuild(tmp_path: Path) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    with pytest.raises(LlamaRuntimeError) as e:
        check(model, code=SIGILL_CHILD)
    msg = str(e.value)
    assert "SIGILL" in msg and "m.gguf" in msg
    assert "instruction" in msg and "AMX" in msg  # the cause
    assert "install-llama.sh" in msg  # how to rebuild
    assert "CPU:" in msg


def test_other_signals_and_failures_are_named(tmp_path: Path) -> None:
    with pytest.raises(LlamaRuntimeError, match="SIGSEGV.*memory fault"):
        check(tmp_path / "m.gguf", code="import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")
    with pytest.raises(LlamaRuntimeError, match=r"exit 3\):\nbad model"):
        check(tmp_path / "m.gguf", code="import sys; print('bad model', file=sys.stderr); sys.exit(3)")


def test_the_message_names_the_recorded_build_flags() -> None:
    record = {"isa": "x86-64-v3", "cmake_args": ["-DGGML_NATIVE=OFF", "-DGGML_AVX2=ON"],
              "rebuild": "rm -rf W && scripts/install-llama.sh python"}
    msg = explain_signal(signal.SIGILL, "a test", record)
    assert "built for x86-64-v3 with -DGGML_NATIVE=OFF -DGGML_AVX2=ON" in msg
    assert msg.endswith("rm -rf W && scripts/install-llama.sh python")
    assert "no build record" in explain_signal(signal.SIGILL, "a test", None)


def test_a_failed_check_is_remembered_per_process(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls = []

    def fake(model_path: object = None, **_: object) -> str:
        calls.append(model_path)
        raise LlamaRuntimeError("boom")

    monkeypatch.setattr(llama_runtime, "check", fake)
    monkeypatch.setattr(llama_runtime, "_checked", {})
    for _ in range(3):
        with pytest.raises(LlamaRuntimeError, match="boom"):
            ensure_runtime(tmp_path / "m.gguf")
    assert len(calls) == 1


def test_the_embedded_backend_raises_instead_of_crashing(smollm2: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """The probe child dies by SIGILL: loading the model is a client error naming it; this process lives on."""
    from sovereval.bench.backends.llama import LlamaBackend
    from sovereval.bench.types import BackendError, GenerationRequest

    monkeypatch.setattr(llama_runtime, "_PROBE", SIGILL_CHILD)
    monkeypatch.setattr(llama_runtime, "_checked", {})

    async def go() -> None:
        b = LlamaBackend(smollm2)  # type: ignore[arg-type]
        try:
            await b.generate(GenerationRequest(prompt="Hi", sampling={"max_tokens": 2}))  # type: ignore[arg-type]
        finally:
            await b.aclose()

    with pytest.raises(BackendError, match="SIGILL") as e:
        asyncio.run(go())
    assert e.value.kind == "client"


def test_a_server_killed_by_a_signal_is_reported(smollm2: object, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from sovereval.bench.servers import LlamaServer, ServerError

    fake = tmp_path / "llama-server"
    fake.write_text("#!/bin/sh\nkill -ILL $$\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("SOVEREVAL_LLAMA_SERVER", str(fake))
    with pytest.raises(ServerError, match="SIGILL during llama-server start-up"):
        LlamaServer(smollm2.path, startup_timeout_s=10).start()  # type: ignore[attr-defined]


def test_the_real_check_passes_here(smollm2: object) -> None:
    """The set-up's check on the installed build: a generation in a child, and llama-server from the same compile."""
    env = {k: v for k, v in os.environ.items() if k != "SOVEREVAL_LLAMA_SERVER"}
    proc = subprocess.run([sys.executable, "-m", "sovereval.bench.llama_runtime", "check"], capture_output=True,
                          text=True, check=False, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "start-up check ok" in proc.stdout and "llama-server version" in proc.stdout.lower(), proc.stdout
    record = llama_runtime.build_record()
    assert record is not None and "-DGGML_NATIVE=OFF" in record["cmake_args"]
    assert not any(a.startswith("-DGGML_AMX") and a.endswith("=ON") for a in record["cmake_args"])


def _where(isa: str) -> dict[str, str]:
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "SOVEREVAL_LLAMA_ISA": isa, "SOVEREVAL_WHEEL_CACHE": "/nonexistent/cache"}
    out = subprocess.run(["bash", str(root / "scripts" / "install-llama.sh"), "where"], capture_output=True,
                         text=True, check=True, env=env, cwd=root).stdout
    first, second = out.splitlines()[:2]
    fields = dict(kv.split("=", 1) for kv in first.split())
    fields["cmake_args"] = second.removeprefix("cmake_args=")
    return fields


@pytest.mark.skipif(os.uname().machine not in ("x86_64", "amd64"), reason="x86-64 ISA levels")
def test_the_wheel_cache_is_keyed_by_the_build_flags_and_a_native_wheel_by_the_cpu() -> None:
    """A wheel in the cache can only be one built with this environment's flags: the folder names the ISA
    level and a hash of the flags (and, for -march=native, of this CPU), never pip's own wheel cache."""
    v3, v4, native = _where("x86-64-v3"), _where("x86-64-v4"), _where("native")
    assert len({v3["wheel_dir"], v4["wheel_dir"], native["wheel_dir"]}) == 3
    assert v3["wheel_dir"].startswith("/nonexistent/cache/llama-cpp-python-") and "-x86-64-v3-" in v3["wheel_dir"]
    for w in (v3, v4):
        assert "-DGGML_NATIVE=OFF" in w["cmake_args"] and "-DGGML_AMX_TILE=OFF" in w["cmake_args"]
        assert "AMX_TILE=ON" not in w["cmake_args"] and "AMX_INT8=ON" not in w["cmake_args"]
    assert "-DGGML_AVX512=OFF" in v3["cmake_args"] and "-DGGML_AVX512=ON" in v4["cmake_args"]
    assert "-DGGML_NATIVE=ON" in native["cmake_args"]
    assert _where("x86-64-v3") == v3  # deterministic
    script = (Path(__file__).resolve().parents[1] / "scripts" / "install-llama.sh").read_text()
    assert "--no-cache-dir" in script and "/proc/cpuinfo" in script  # pip's cache unused; native key names the CPU
