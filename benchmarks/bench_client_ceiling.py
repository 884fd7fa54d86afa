"""Client ceiling: requests/s of sovereval's runner + OpenAI backend (durable SQLite ledger) versus lm-eval
and Inspect, all against the same instantly answering OpenAI-compatible stub server.

What runs (all in this one script run, so every ratio compares numbers taken minutes apart):

* **Stub server** (a separate process, raw asyncio protocol on uvloop): answers every
  ``POST /v1/chat/completions`` at once with a fixed chat completion, ``GET /v1/models`` with one model.
  It records the wall-clock time of the first request and of the last answer, so each client's
  *request phase* (first request → last answer) is measured by the server, the same way for every tool.
* **Stub ceiling**: the stub's own throughput, driven by a raw-socket keep-alive load generator (no HTTP
  library) and by a minimal aiohttp loop; both must be far above every client measured after them.
* **sovereval**: ``run_jobs(OpenAIBackend, jobs, Ledger(Store("sqlite:///<file>")))`` in a fresh process,
  fresh ledger file (SQLite WAL, ``synchronous=NORMAL``), default ``RunConfig`` except the concurrency,
  then the responses are read back from the ledger and exact-match scored (what ``rescore`` does).
* **lm-eval** (``local-chat-completions``, ``num_concurrent`` = each value of ``--concurrency``) on a custom
  generation task (JSONL + YAML in a temp dir, ``--include_path``), offline (``HF_*_OFFLINE=1``).
* **Inspect** (``openai-api/local/stub-model`` with ``LOCAL_BASE_URL``/``LOCAL_API_KEY``; ``--max-connections``
  = each value of ``--concurrency``) on a task file with the same N samples, ``generate()`` + ``match()``.

Every tool runs as its own command in a fresh working directory; the wall time covers the whole command
(start-up, request phase, scoring, and whatever it writes to disk by default; the bytes written are
reported).  The best concurrency of each tool is compared.  lm-eval and Inspect are installed into
separate venvs under ``--venvs`` (default ``.bench-venvs/``, git-ignored) with ``python -m venv`` + pip
on first use; later runs reuse them.

Usage: .venv/bin/python benchmarks/bench_client_ceiling.py [--n 2000] [--concurrency 16,64,128]
       [--repeats 1] [--skip lm-eval,inspect] [--venvs .bench-venvs]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

ROOT = Path(__file__).resolve().parents[1]
MODEL_ID = "stub-model"
ANSWER = "42"
GOAL = 3.0

# ---------------------------------------------------------------------------------------------------
# The stub server (runs in its own process: `python bench_client_ceiling.py --_stub PORT`)
# ---------------------------------------------------------------------------------------------------


def _http(status: str, body: bytes, ctype: bytes = b"application/json") -> bytes:
    return (b"HTTP/1.1 " + status.encode() + b"\r\nContent-Type: " + ctype + b"\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n\r\n" + body)


def _stub_bodies() -> dict[str, bytes]:
    chat = {"id": "chatcmpl-stub", "object": "chat.completion", "created": 1_700_000_000, "model": MODEL_ID,
            "system_fingerprint": None,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER},
                         "logprobs": None, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 16, "completion_tokens": 1, "total_tokens": 17}}
    compl = {"id": "cmpl-stub", "object": "text_completion", "created": 1_700_000_000, "model": MODEL_ID,
             "choices": [{"index": 0, "text": ANSWER, "logprobs": None, "finish_reason": "stop"}],
             "usage": {"prompt_tokens": 16, "completion_tokens": 1, "total_tokens": 17}}
    models = {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "stub"}]}
    return {"chat": _http("200 OK", json.dumps(chat).encode()),
            "completions": _http("200 OK", json.dumps(compl).encode()),
            "models": _http("200 OK", json.dumps(models).encode()),
            "health": _http("200 OK", b'{"status":"ok"}'),
            "404": _http("404 Not Found", b'{"error":{"message":"not found"}}')}


def serve_stub(port: int) -> None:
    """A minimal HTTP/1.1 keep-alive server: fixed answers, no JSON parsing, no framework."""
    bodies = _stub_bodies()
    stats = {"count": 0, "first": 0.0, "last": 0.0, "other": 0}
    now = time.time

    class Proto(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.t: asyncio.Transport = transport  # type: ignore[assignment]
            self.buf = bytearray()
            with contextlib.suppress(OSError):
                transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def data_received(self, data: bytes) -> None:
            buf = self.buf
            buf += data
            while True:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = bytes(buf[:end]).lower()
                start = end + 4
                if b"transfer-encoding: chunked" in head:
                    pos = start
                    while True:  # skip the chunked body; wait for more data if it is incomplete
                        nl = buf.find(b"\r\n", pos)
                        if nl < 0:
                            return
                        size = int(bytes(buf[pos:nl]).split(b";")[0], 16)
                        if len(buf) < nl + 2 + size + 2:
                            return
                        pos = nl + 2 + size + 2
                        if size == 0:
                            break
                    consumed = pos
                else:
                    i = head.find(b"\r\ncontent-length:")
                    n = int(head[i + 17: head.find(b"\r\n", i + 2) if head.find(b"\r\n", i + 2) > 0 else None]) \
                        if i >= 0 else 0
                    if len(buf) < start + n:
                        return
                    consumed = start + n
                line = head[: head.find(b"\r\n")] if b"\r\n" in head else head
                del buf[:consumed]
                method, _, rest = line.partition(b" ")
                path = rest.partition(b" ")[0].split(b"?")[0]
                if method == b"post" and path.endswith(b"/chat/completions"):
                    out = bodies["chat"]
                elif method == b"post" and path.endswith(b"/completions"):
                    out = bodies["completions"]
                elif path.endswith(b"/models"):
                    out = bodies["models"]
                elif path == b"/health":
                    out = bodies["health"]
                elif path == b"/_stats":
                    out = _http("200 OK", json.dumps(stats).encode())
                elif path == b"/_reset":
                    stats.update(count=0, first=0.0, last=0.0, other=0)
                    out = bodies["health"]
                else:
                    stats["other"] += 1
                    out = bodies["404"]
                if out is bodies["chat"] or out is bodies["completions"]:
                    t = now()
                    if not stats["count"]:
                        stats["first"] = t
                    stats["count"] += 1
                    stats["last"] = t
                self.t.write(out)
                if b"connection: close" in head or line.endswith(b"http/1.0"):
                    self.t.close()
                    return

    try:
        import uvloop  # type: ignore[import-not-found]
        uvloop.install()
    except ImportError:
        pass

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Proto, "127.0.0.1", port, backlog=4096, reuse_address=True)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        async with server:
            await stop.wait()

    asyncio.run(main())


class Stub:
    def __init__(self) -> None:
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self.proc = subprocess.Popen([sys.executable, __file__, "--_stub", str(self.port)],
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                self.get("/health")
                return self
            time.sleep(0.05)
        raise RuntimeError("stub server did not start")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def get(self, path: str) -> dict[str, Any]:
        import urllib.request
        with urllib.request.urlopen(self.base + path, timeout=5) as r:
            return json.loads(r.read())

    def reset(self) -> None:
        self.get("/_reset")

    def stats(self) -> dict[str, Any]:
        return self.get("/_stats")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------------------------------------------
# Stub ceiling: raw-socket and minimal-aiohttp load generators
# ---------------------------------------------------------------------------------------------------


def _chat_body(i: int, max_tokens: int) -> dict[str, Any]:
    return {"model": MODEL_ID, "messages": [{"role": "user", "content": question(i)}],
            "max_tokens": max_tokens, "temperature": 0.0}


def question(i: int) -> str:
    return f"Question {i}: what is {i} plus {i + 1}? Answer with the number only."


async def raw_socket_load(port: int, n: int, conc: int) -> float:
    """Keep-alive connections, one request in flight each, prebuilt request bytes; returns seconds."""
    body = json.dumps(_chat_body(0, 16)).encode()
    req = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    left = n

    async def conn() -> None:
        nonlocal left
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while left > 0:
            left -= 1
            writer.write(req)
            head = await reader.readuntil(b"\r\n\r\n")
            i = head.lower().find(b"content-length:")
            await reader.readexactly(int(head[i + 15: head.find(b"\r\n", i)]))
        writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(conn() for _ in range(conc)))
    return time.perf_counter() - t0


async def aiohttp_load(base: str, n: int, conc: int) -> float:
    import aiohttp
    left = n
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=conc)) as s:
        async def worker() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                i = left
                async with s.post(base + "/v1/chat/completions", json=_chat_body(i, 16)) as r:
                    data = await r.json()
                    assert data["choices"][0]["message"]["content"] == ANSWER
        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(conc)))
        return time.perf_counter() - t0


def _in_new_loop(coro: Any) -> Any:
    try:
        import uvloop  # type: ignore[import-not-found]
        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)


# ---------------------------------------------------------------------------------------------------
# sovereval driver (runs in its own process: `python bench_client_ceiling.py --_sovereval ...`)
# ---------------------------------------------------------------------------------------------------


def sovereval_driver(base: str, n: int, conc: int, db: str, max_tokens: int) -> None:
    sys.path.insert(0, str(ROOT / "src"))
    from sovereval.bench.backends.openai import OpenAIBackend
    from sovereval.bench.runner import Job, RunConfig, run_jobs
    from sovereval.bench.types import GenerationRequest, Message, Sampling, request_key
    from sovereval.store import Store
    from sovereval.store.ledger import Ledger

    async def go() -> dict[str, Any]:
        ledger = Ledger(Store(f"sqlite:///{db}"))
        backend = await OpenAIBackend.connect(base + "/v1", revision="bench")
        sampling = Sampling(max_tokens=max_tokens, temperature=0.0, stop=("\n",))
        keys: list[str] = []

        def jobs() -> Any:
            for i in range(n):
                req = GenerationRequest(messages=(Message(role="user", content=question(i)),), sampling=sampling)
                key = request_key(backend.identity, backend.endpoint, req)
                keys.append(key)
                yield Job(key, req)

        run_id = ledger.start_run(benchmark_id="bench-ceiling", decl_version="1", model_key=backend.identity.key,
                                  model_name=MODEL_ID, endpoint=backend.endpoint, epoch=0, n_items=n,
                                  manifest={"n": n}, actor="bench")
        try:
            stats = await run_jobs(backend, jobs(), ledger, run_id=run_id, total=n,
                                   config=RunConfig(concurrency=conc), description="sovereval")
        finally:
            await backend.aclose()
        ledger.end_run(run_id, completed=stats.completed, cached=stats.cached, failed=stats.failed,
                       duration_s=stats.duration_s, actor="bench")
        responses = ledger.responses(keys)
        correct = sum(1 for i, k in enumerate(keys) if responses[k]["text"].strip() == str(2 * i + 1))
        return {"completed": stats.completed, "failed": stats.failed, "run_s": stats.duration_s,
                "scored": len(responses), "accuracy": correct / n}

    out = asyncio.run(go())
    print("SOVEREVAL_RESULT " + json.dumps(out))


# ---------------------------------------------------------------------------------------------------
# lm-eval and Inspect: venvs, task files, commands
# ---------------------------------------------------------------------------------------------------


def ensure_venv(root: Path, name: str, specs: list[str], console: Any) -> Path:
    """A venv at root/name with ``specs`` installed (pip); reused while the stamp matches."""
    d = root / name
    stamp = d / ".bench-installed"
    want = "\n".join(specs)
    if stamp.is_file() and stamp.read_text() == want:
        return d
    t0 = time.perf_counter()
    console.print(f"[bold]installing {' '.join(specs)} into {d} (first use; about a minute)…")
    if not (d / "bin" / "python").exists():
        base = getattr(sys, "_base_executable", None) or shutil.which("python3") or sys.executable
        subprocess.run([base, "-m", "venv", str(d)], check=True)
    pip = [str(d / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, *specs], check=True)
    stamp.write_text(want)
    console.print(f"  done in {time.perf_counter() - t0:.0f} s")
    return d


def pkg_version(venv: Path, dist: str) -> str:
    r = subprocess.run([str(venv / "bin" / "python"), "-c",
                        f"import importlib.metadata as m; print(m.version({dist!r}))"],
                       check=False, capture_output=True, text=True)
    return r.stdout.strip() or "?"


def write_items(d: Path, n: int) -> Path:
    path = d / "items.jsonl"
    with path.open("w") as f:
        for i in range(n):
            f.write(json.dumps({"id": f"q{i}", "question": question(i), "answer": str(2 * i + 1)}) + "\n")
    return path


def write_lmeval_task(d: Path, items: Path, task: str, max_tokens: int) -> Path:
    tdir = d / f"lmeval_{task}"
    tdir.mkdir(parents=True, exist_ok=True)
    (tdir / f"{task}.yaml").write_text(textwrap.dedent(f"""\
        task: {task}
        dataset_path: json
        dataset_kwargs:
          data_files:
            test: {items}
        test_split: test
        output_type: generate_until
        doc_to_text: "{{{{question}}}}"
        doc_to_target: "{{{{answer}}}}"
        generation_kwargs:
          until: ["\\n"]
          max_gen_toks: {max_tokens}
          do_sample: false
          temperature: 0.0
        metric_list:
          - metric: exact_match
            aggregation: mean
            higher_is_better: true
        metadata:
          version: 1.0
        """))
    return tdir


def write_inspect_task(d: Path, items: Path, name: str) -> Path:
    path = d / f"inspect_{name}.py"
    path.write_text(textwrap.dedent(f"""\
        from inspect_ai import Task, task
        from inspect_ai.dataset import FieldSpec, json_dataset
        from inspect_ai.scorer import match
        from inspect_ai.solver import generate


        @task
        def {name}():
            return Task(dataset=json_dataset({str(items)!r}, FieldSpec(input="question", target="answer", id="id")),
                        solver=[generate()], scorer=match(numeric=True))
        """))
    return path


def dir_bytes(*paths: Path) -> int:
    total = 0
    for p in paths:
        if p.is_file():
            total += p.stat().st_size
        elif p.is_dir():
            for f in p.rglob("*"):
                with contextlib.suppress(OSError):
                    if f.is_file() and not f.is_symlink():
                        total += f.stat().st_size
    return total


def file_list(d: Path, limit: int = 6) -> str:
    names = sorted(str(f.relative_to(d)) for f in d.rglob("*") if f.is_file())
    return ", ".join(names[:limit]) + (f", … ({len(names)} files)" if len(names) > limit else "")


@dataclass
class Result:
    tool: str
    conc: int
    n: int
    wall_s: float
    served: int
    phase_s: float
    ok: bool
    note: str = ""
    disk_bytes: int = 0
    disk_what: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.n / self.wall_s if self.ok and self.wall_s else 0.0

    @property
    def phase_rps(self) -> float:
        return self.served / self.phase_s if self.ok and self.phase_s else 0.0


def run_cmd(stub: Stub, tool: str, conc: int, n: int, cmd: list[str], cwd: Path, env: dict[str, str],
            timeout: float, check_out: Any = None) -> Result:
    stub.reset()
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
        out, rc = p.stdout + p.stderr, p.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = f"{e.stdout or ''}{e.stderr or ''}\n(timed out after {timeout:.0f} s)", -1
    wall = time.perf_counter() - t0
    s = stub.stats()
    served, phase = int(s["count"]), float(s["last"] - s["first"])
    ok = rc == 0 and served >= n
    note = ""
    if not ok:
        tail = "\n".join(line for line in out.strip().splitlines()[-8:])
        note = f"exit {rc}, stub served {served}/{n}; " + tail[-600:]
    r = Result(tool, conc, n, wall, served, phase, ok, note)
    if check_out is not None and ok:
        check_out(r, out)
    (cwd.parent / f"{cwd.name}.out.txt").write_text(out)  # outside cwd: not counted as written by the tool
    return r


# ---------------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------------


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="requests (items) per run")
    ap.add_argument("--concurrency", default="16,64,128",
                    help="values tried for each tool (sovereval concurrency, lm-eval num_concurrent, "
                         "Inspect --max-connections); the best is compared")
    ap.add_argument("--repeats", type=int, default=1, help="runs per (tool, concurrency); the best counts")
    ap.add_argument("--max-tokens", type=int, default=16)
    ap.add_argument("--skip", default="", help="comma-separated: lm-eval, inspect")
    ap.add_argument("--venvs", type=Path, default=ROOT / ".bench-venvs")
    ap.add_argument("--lm-eval-spec", default="lm-eval[api]")
    ap.add_argument("--inspect-spec", default="inspect-ai openai")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per tool run")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir with each run's files")
    ap.add_argument("--_stub", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--_sovereval", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._stub:
        serve_stub(args._stub)
        return 0
    if args._sovereval:
        base, n, conc, db, mt = args._sovereval
        sovereval_driver(base, int(n), int(conc), db, int(mt))
        return 0

    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(140, shutil.get_terminal_size().columns))
    concs = [int(c) for c in args.concurrency.split(",") if c.strip()]
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    n = args.n
    load_before = loadavg()
    started = dt.datetime.now()
    console.print(f"[bold]client ceiling[/] n={n}, concurrency {concs}, load average before: {load_before}")

    venvs: dict[str, Path] = {}
    versions: dict[str, str] = {}
    unavailable: dict[str, str] = {}
    for tool, spec, dist in (("lm-eval", args.lm_eval_spec, "lm_eval"), ("inspect", args.inspect_spec, "inspect_ai")):
        if tool in skip:
            unavailable[tool] = "skipped (--skip)"
            continue
        try:
            venvs[tool] = ensure_venv(args.venvs, tool if tool != "inspect" else "inspect-ai", spec.split(), console)
            versions[tool] = pkg_version(venvs[tool], dist)
        except (subprocess.CalledProcessError, OSError) as e:
            unavailable[tool] = f"could not install {spec!r}: {e}"

    tmp = Path(tempfile.mkdtemp(prefix="bench-ceiling-"))
    items = write_items(tmp, n)
    (tmp / "warm").mkdir()
    small = write_items(tmp / "warm", 50)
    lm_task = write_lmeval_task(tmp, items, "ceiling_gen", args.max_tokens)
    inspect_task = write_inspect_task(tmp, items, "ceiling_gen")
    inspect_warm = write_inspect_task(tmp / "warm", small, "ceiling_warm")
    homes = {t: tmp / f"{t}-home" for t in ("lm-eval", "inspect")}
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "HF_", "INSPECT_"))}
    offline = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "PYTHONDONTWRITEBYTECODE": "1"}
    results: list[Result] = []
    ceiling: dict[str, float] = {}

    with Stub() as stub:
        # -- the stub's own ceiling -------------------------------------------------------------------
        m = max(n, 5000)
        for c in (16, 64):
            stub.reset()
            secs = _in_new_loop(raw_socket_load(stub.port, m, c))
            ceiling[f"raw sockets, {c} conns"] = m / secs
            stub.reset()
            secs = _in_new_loop(aiohttp_load(stub.base, m, c))
            ceiling[f"minimal aiohttp loop, {c} conns"] = m / secs
        for k, v in ceiling.items():
            console.print(f"  stub ceiling ({k}): {v:,.0f} req/s")

        def sovereval_cmd(conc: int, d: Path, count: int) -> tuple[list[str], dict[str, str]]:
            return ([sys.executable, __file__, "--_sovereval", stub.base, str(count), str(conc),
                     str(d / "ledger.db"), str(args.max_tokens)], {**base_env, **offline})

        def lmeval_cmd(conc: int, d: Path, count: int) -> tuple[list[str], dict[str, str]]:
            home = homes["lm-eval"]
            env = {**base_env, **offline, "HF_HOME": str(home / "hf"), "XDG_CACHE_HOME": str(home / "cache"),
                   "XDG_DATA_HOME": str(home / "data"), "OPENAI_API_KEY": "none"}
            cmd = [str(venvs["lm-eval"] / "bin" / "lm_eval"), "--model", "local-chat-completions", "--model_args",
                   (f"model={MODEL_ID},base_url={stub.base}/v1/chat/completions,num_concurrent={conc},"
                    "max_retries=3,tokenized_requests=False,tokenizer_backend=None"),
                   "--include_path", str(lm_task), "--tasks", "ceiling_gen", "--apply_chat_template"]
            return cmd, env

        def inspect_cmd(conc: int, d: Path, count: int) -> tuple[list[str], dict[str, str]]:
            home = homes["inspect"]
            env = {**base_env, **offline, "LOCAL_BASE_URL": f"{stub.base}/v1", "LOCAL_API_KEY": "none",
                   "XDG_CACHE_HOME": str(home / "cache"), "XDG_DATA_HOME": str(home / "data"),
                   "XDG_CONFIG_HOME": str(home / "config")}
            task = inspect_warm if count != n else inspect_task
            cmd = [str(venvs["inspect"] / "bin" / "inspect"), "eval", f"{task}@{task.stem.removeprefix('inspect_')}",
                   "--model", f"openai-api/local/{MODEL_ID}", "--max-connections", str(conc),
                   "--max-tokens", str(args.max_tokens), "--temperature", "0"]
            return cmd, env

        tools: dict[str, Any] = {"sovereval": sovereval_cmd}
        if "lm-eval" in venvs:
            tools["lm-eval"] = lmeval_cmd
        if "inspect" in venvs:
            tools["inspect"] = inspect_cmd

        def check_sovereval(r: Result, out: str) -> None:
            line = next((ln for ln in out.splitlines() if ln.startswith("SOVEREVAL_RESULT ")), None)
            if line is None:
                r.ok, r.note = False, "no result line"
                return
            got = json.loads(line.split(" ", 1)[1])
            r.extra = got
            if got["completed"] != r.n or got["failed"]:
                r.ok, r.note = False, f"completed {got['completed']}, failed {got['failed']}"

        def measure(tool: str, conc: int, count: int, warm: bool = False) -> Result:
            d = tmp / "runs" / f"{tool}-c{conc}-{len(results)}{'-warm' if warm else ''}"
            d.mkdir(parents=True)
            cmd, env = tools[tool](conc, d, count)
            home = homes.get(tool)
            before = dir_bytes(home) if home else 0
            r = run_cmd(stub, tool, conc, count, cmd, d, env, args.timeout,
                        check_sovereval if tool == "sovereval" else None)
            written = dir_bytes(d) + ((dir_bytes(home) - before) if home else 0)
            r.disk_bytes = written
            r.disk_what = file_list(d)
            return r

        # -- warm-up (page cache, .pyc, lm-eval's datasets cache of the task file) -----------------------
        for tool in tools:
            count = n if tool == "lm-eval" else 50
            r = measure(tool, concs[0], count, warm=True)
            console.print(f"  warm-up {tool}: {'ok' if r.ok else 'FAILED'} in {r.wall_s:.1f} s"
                          + ("" if r.ok else f"\n{r.note}"))
            if not r.ok and tool != "sovereval":
                unavailable[tool] = f"warm-up failed: {r.note}"
        for tool in list(tools):
            if tool in unavailable:
                del tools[tool]
        if "lm-eval" in tools:
            hf = homes["lm-eval"] / "hf"
            console.print(f"  lm-eval datasets cache after warm-up: {dir_bytes(hf) / 1e3:.0f} kB in {hf}")

        # -- measured runs, tools interleaved, order rotated per round ------------------------------------
        order = list(tools)
        k = 0
        for rep in range(args.repeats):
            for conc in concs:
                for tool in order[k % len(order):] + order[: k % len(order)]:
                    r = measure(tool, conc, n)
                    results.append(r)
                    console.print(f"  [{rep + 1}/{args.repeats}] {tool:<9} c={conc:<4} "
                                  + (f"{r.rps:8,.0f} req/s whole command ({r.wall_s:6.2f} s), "
                                     f"request phase {r.phase_rps:8,.0f} req/s ({r.phase_s:5.2f} s)"
                                     if r.ok else f"FAILED: {r.note}"))
                k += 1
    load_after = loadavg()

    # -- report ---------------------------------------------------------------------------------------------
    best: dict[str, Result] = {}
    best_phase: dict[str, Result] = {}
    for r in results:
        if r.ok and (r.tool not in best or r.rps > best[r.tool].rps):
            best[r.tool] = r
        if r.ok and (r.tool not in best_phase or r.phase_rps > best_phase[r.tool].phase_rps):
            best_phase[r.tool] = r
    others = [t for t in best if t != "sovereval"]
    rival = max(others, key=lambda t: best[t].rps) if others else None
    rival_phase = max(others, key=lambda t: best_phase[t].phase_rps) if others else None

    table = Table(title=f"Client ceiling, {n} chat requests against an instantly answering stub")
    for col in ("tool", "concurrency", "whole command s", "req/s (whole)", "request phase s", "req/s (phase)",
                "written to disk"):
        table.add_column(col, justify="left" if col in ("tool", "written to disk") else "right")
    for r in sorted(results, key=lambda r: (r.tool, r.conc)):
        table.add_row(r.tool, str(r.conc), f"{r.wall_s:.2f}", f"{r.rps:,.0f}" if r.ok else "failed",
                      f"{r.phase_s:.2f}", f"{r.phase_rps:,.0f}" if r.ok else "-",
                      f"{r.disk_bytes / 1e6:.2f} MB")
    console.print(table)

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.1f}×" if b else "n/a"

    lines = []
    now = started.strftime("%Y-%m-%d")
    lines.append(f"## Client ceiling (benchmarks/bench_client_ceiling.py) — {now}, {platform.machine()}, "
                 f"{os.cpu_count()} cores, Python {platform.python_version()}")
    lines.append("")
    vers = ", ".join(f"{t} {v}" for t, v in versions.items())
    lines.append(f"`.venv/bin/python benchmarks/bench_client_ceiling.py --n {n} --concurrency {args.concurrency}"
                 f" --repeats {args.repeats}` ({vers}; each in its own venv under `.bench-venvs/`). "
                 f"{n} short chat requests (max_tokens {args.max_tokens}) per run against a stub server in its own "
                 f"process that answers at once; every tool runs as a fresh command in an empty directory; "
                 f"one run per (tool, concurrency) per repeat, tools interleaved; best concurrency compared. "
                 f"1-min load average {load_before} before, {load_after} after.")
    lines.append("")
    fastest = max((r.phase_rps for r in results if r.ok), default=0.0)
    raw = max(v for k, v in ceiling.items() if k.startswith("raw"))
    lines.append("Stub ceiling (the server alone, driven from this process on the same 2 cores): " + "; ".join(
        f"{k} {v:,.0f} req/s" for k, v in ceiling.items())
        + (f" — {raw / fastest:.0f}× the fastest client's request phase ({fastest:,.0f} req/s), so the stub "
           "is not what limits any client." if fastest else "."))
    lines.append("")
    lines.append("| tool | concurrency | whole command s | req/s (whole command) | request phase s | "
                 "req/s (request phase) | written to disk |")
    lines.append("|---|---:|---:|---:|---:|---:|---|")
    for r in sorted(results, key=lambda r: (r.tool, r.conc)):
        lines.append(f"| {r.tool} | {r.conc} | {r.wall_s:.2f} | {f'{r.rps:,.0f}' if r.ok else 'failed'} | "
                     f"{r.phase_s:.2f} | {f'{r.phase_rps:,.0f}' if r.ok else '-'} | "
                     f"{r.disk_bytes / 1e6:.2f} MB ({r.disk_what or 'nothing in cwd'}) |")
    lines.append("")
    if "sovereval" in best and rival:
        s, o = best["sovereval"], best[rival]
        met = s.rps >= GOAL * o.rps
        lines.append(f"**Whole command: sovereval {s.rps:,.0f} req/s (c={s.conc}) vs the better of the others, "
                     f"{rival} {o.rps:,.0f} req/s (c={o.conc}): {ratio(s.rps, o.rps)}** "
                     f"(goal ≥ {GOAL:g}×: {'met' if met else 'NOT met'}).")
        for t in others:
            if t != rival:
                lines.append(f"vs {t} {best[t].rps:,.0f} req/s (c={best[t].conc}): {ratio(s.rps, best[t].rps)}.")
        assert rival_phase is not None
        sp, op = best_phase["sovereval"], best_phase[rival_phase]
        lines.append(f"Request phase only (first request to last answer, timed by the stub): sovereval "
                     f"{sp.phase_rps:,.0f} req/s (c={sp.conc}) vs {rival_phase} {op.phase_rps:,.0f} req/s "
                     f"(c={op.conc}): {ratio(sp.phase_rps, op.phase_rps)}"
                     + ("".join(f"; vs {t} {best_phase[t].phase_rps:,.0f}: "
                                f"{ratio(sp.phase_rps, best_phase[t].phase_rps)}"
                                for t in others if t != rival_phase)) + ".")
    for t, why in unavailable.items():
        lines.append(f"- {t}: not measured — {why}")
    md = "\n".join(lines)
    console.print("\n[bold]Markdown for BENCHMARKS.md:[/]\n")
    print(md)
    if args.keep:
        console.print(f"\nrun files kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
