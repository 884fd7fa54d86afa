"""Start and stop a local llama.cpp ``llama-server`` (built with llama-cpp-python from the same compile).

For tests, the demo and benchmarks: the server listens on 127.0.0.1 on a free port, with ``-np`` parallel
slots (continuous batching) and ``--threads-http`` at least the client's concurrency (its default,
max(np+2, cores-1), stalls extra keep-alive connections for seconds).  :class:`LlamaServer` is a context
manager; it waits for ``/health`` and on exit terminates the process (SIGTERM, then SIGKILL).

The process gets ``OMP_WAIT_POLICY=PASSIVE`` unless set: spinning OpenMP workers on shared cores cost
10x (see :mod:`sovereval.bench.backends.llama`).

The binary is the ``llama-server`` built with llama-cpp-python from the same llama.cpp compile
(:func:`sovereval.bench.llama_runtime.server_binary`); ``$SOVEREVAL_LLAMA_SERVER`` overrides it.  A server
that dies by a signal (e.g. SIGILL from a build this CPU refuses) is reported with its cause.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Self

from sovereval.bench.llama_runtime import (
    LlamaRuntimeError,
    build_record,
    explain_signal,
    server_binary,
    server_env,
)
from sovereval.errors import SovereValError

__all__ = ["LlamaServer", "ServerError", "find_free_port", "server_binary"]


class ServerError(SovereValError, RuntimeError):
    pass


def find_free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class LlamaServer:
    """``with LlamaServer(path, parallel=4) as srv: ... srv.base_url ...``"""

    def __init__(self, model_path: str | Path, *, parallel: int = 4, ctx_size: int | None = None,
                 threads: int | None = None, concurrency: int = 32, alias: str | None = None,
                 host: str = "127.0.0.1", port: int | None = None, jinja: bool = True,
                 extra_args: tuple[str, ...] = (), startup_timeout_s: float = 120.0,
                 log_path: str | Path | None = None) -> None:
        self.model_path = Path(model_path)
        self.parallel = parallel
        self.ctx_size = ctx_size or 2048 * parallel  # llama-server splits -c across the slots
        self.threads = threads or max(1, min(os.cpu_count() or 1, 16))
        self.threads_http = max(concurrency, parallel + 2)
        self.alias = alias or self.model_path.stem
        self.host = host
        self.port = port
        self.jinja = jinja
        self.extra_args = tuple(extra_args)
        self.startup_timeout_s = startup_timeout_s
        self.log_path = Path(log_path) if log_path else None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def command(self) -> list[str]:
        try:
            binary = server_binary()
        except LlamaRuntimeError as e:
            raise ServerError(str(e)) from e
        cmd = [str(binary), "-m", str(self.model_path), "--host", self.host, "--port", str(self.port),
               "-np", str(self.parallel), "-c", str(self.ctx_size), "-t", str(self.threads),
               "-tb", str(self.threads), "--threads-http", str(self.threads_http), "--alias", self.alias]
        if self.jinja:
            cmd.append("--jinja")
        return cmd + list(self.extra_args)

    def _log_tail(self, n: int = 3000) -> str:
        if self._log is None:
            return ""
        try:
            self._log.flush()
            return Path(self._log.name).read_bytes()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def start(self) -> Self:
        if self._proc is not None:
            return self
        if not self.model_path.is_file():
            raise ServerError(f"model file {self.model_path} not found")
        fixed_port = self.port is not None
        for _attempt in range(1 if fixed_port else 3):
            if not fixed_port:
                self.port = find_free_port(self.host)
            if self.log_path is not None:
                self.log_path.parent.mkdir(parents=True, exist_ok=True)
                self._log = self.log_path.open("wb")
            else:
                self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - kept open for the process lifetime
                    prefix="llama-server-", suffix=".log", delete=False)
            env = server_env()
            self._proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=self._log,
                                          stderr=subprocess.STDOUT, start_new_session=True, env=env)
            if self._wait_ready():
                return self
            tail = self._log_tail()
            code = self._proc.poll() if self._proc is not None else None
            if code is not None and code < 0:
                self.stop()
                raise ServerError(explain_signal(-code, f"llama-server start-up on {self.model_path.name}",
                                                 build_record()) + f"\n{tail}")
            self.stop()
            if "bind" not in tail.lower() and "address" not in tail.lower():
                break  # not a port clash: retrying will not help
        raise ServerError(f"llama-server did not become ready on {self.url}:\n{tail}")

    def _wait_ready(self) -> bool:
        assert self._proc is not None
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as resp:
                    if resp.status == 200 and json.loads(resp.read() or b"{}").get("status", "ok") == "ok":
                        return True
            except (urllib.error.URLError, OSError, ValueError):
                pass
            time.sleep(0.1)
        return False

    def stop(self, timeout_s: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout_s)
        if self._log is not None:
            self._log.close()
            if self.log_path is None:
                with contextlib.suppress(OSError):
                    os.unlink(self._log.name)
            self._log = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
