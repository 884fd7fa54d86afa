"""Run untrusted (model-written) Python in a jail and report what happened.

Every run is a fresh process tree started through :mod:`._launcher` with:

* **its own namespaces** (mount, PID, network, IPC, UTS): no network interface but a loopback that is
  down, so every ``connect`` fails (``ENETUNREACH``); the program sees only its own processes, and when
  the run ends the namespace's PID 1 exits and the kernel kills everything that is left (fork bombs,
  daemons, ``setsid`` escapes);
* **a new root**: read-only bind mounts of ``/usr``, ``/lib*`` and the interpreter's prefix, a synthetic
  ``/etc`` (no host users, no ``shadow``), four ``/dev`` nodes, a fresh ``/proc``, and two size-limited
  tmpfs: ``/tmp`` and the working directory ``/work`` (also ``HOME``).  The project tree, the ledger,
  ``/root``, ``/home`` and the host's ``/tmp`` do not exist in it;
* **a private unprivileged uid/gid** (random per run, no supplementary groups, ``no_new_privs``), so the
  program cannot signal the runner or another run, and per-uid limits are per run;
* **resource limits**: CPU seconds, address space, file size, process count, open files, no core dumps
  (rlimits), plus a pids and memory cgroup for the whole tree where the host allows one;
* **a wall-clock limit** enforced by the namespace's PID 1 (an interval timer) and, as a backstop, by the
  runner, which kills the launcher's process group;
* a minimal environment (``PATH``, ``HOME``, ``TMPDIR``, ``LANG``) and ``python -I -B``.

Full isolation needs root (or ``CAP_SYS_ADMIN``); that is what CI and the evaluation hosts have.  Without
it the run is refused unless ``require_isolation=False``, and then :attr:`SandboxResult.isolation` says
exactly what was *not* applied and :attr:`SandboxResult.warnings` says it loudly.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sovereval.errors import SovereValError

LAUNCHER = Path(__file__).with_name("_launcher.py")

Status = Literal["ok", "failed", "timeout", "memory", "output_limit", "process_limit", "forbidden", "killed",
                 "sandbox_error"]

#: first uid/gid of the per-run private range (far from any real account; 2**20 values)
UID_BASE = 3_000_000


class SandboxUnavailable(SovereValError, RuntimeError):
    """Full isolation was required but the host does not allow it (not root, no namespaces)."""


@dataclass(frozen=True)
class Limits:
    wall_s: float = 10.0
    cpu_s: int = 10
    memory_bytes: int = 1 << 30  # address space per process (RLIMIT_AS)
    cgroup_memory_bytes: int = 2 << 30  # the whole tree, where a memory cgroup is available
    file_bytes: int = 16 << 20  # largest file the program may write (stdout/stderr included)
    tmpfs_bytes: int = 64 << 20  # size of /work and of /tmp each
    nproc: int = 32  # processes + threads of the run's private uid
    nofile: int = 64
    output_bytes: int = 1 << 20  # how much of stdout/stderr each is read back

    def as_dict(self) -> dict[str, float | int]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class Isolation:
    """What was actually applied to a run (all True / a cgroup on a properly configured host)."""

    network: bool = False
    pid: bool = False
    mount: bool = False
    user: bool = False  # ran as a private unprivileged uid
    cgroup: tuple[str, ...] = ()

    @property
    def full(self) -> bool:
        return self.network and self.pid and self.mount and self.user


@dataclass(frozen=True)
class SandboxResult:
    status: Status
    exit_code: int | None
    signal: int | None
    stdout: str
    stderr: str
    wall_s: float
    cpu_s: float | None = None
    max_rss_kb: int | None = None
    isolation: Isolation = field(default_factory=Isolation)
    warnings: tuple[str, ...] = ()
    detail: str = ""
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _read_head(path: Path, limit: int) -> tuple[str, bool]:
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            data = f.read(limit)
    except OSError:
        return "", False
    return data.decode("utf-8", errors="replace"), size > limit


def _last_exception(stderr: str) -> str:
    """The final ``Type: message`` line of a Python traceback, or ''."""
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    if not lines or "Traceback (most recent call last)" not in stderr:
        return ""
    return lines[-1].strip()


_FORBIDDEN_MARKS = ("PermissionError", "[Errno 1]", "[Errno 13]", "[Errno 30]", "[Errno 101]",
                    "Network is unreachable", "Operation not permitted", "Permission denied",
                    "Read-only file system", "[Errno -3]", "[Errno -2]", "Temporary failure in name resolution",
                    "Name or service not known")


def classify(report: Mapping[str, object], *, runner_timed_out: bool, stderr: str, limits: Limits,
             ) -> tuple[Status, str]:
    """Map the launcher's report (+ the program's stderr) to a status and a one-line reason."""
    stage = report.get("stage")
    if runner_timed_out:
        return "timeout", f"wall clock over {limits.wall_s}s (killed by the runner)"
    if stage != "done":
        return "sandbox_error", f"sandbox {stage}: {report.get('error', report.get('init_status'))}"
    if report.get("timed_out"):
        return "timeout", f"wall clock over {limits.wall_s}s"
    stats = report.get("cgroup_stats") or {}
    oom = isinstance(stats, Mapping) and int(stats.get("oom_kill", 0) or 0) > 0
    sig = report.get("signal")
    if isinstance(sig, int):
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and float(report.get("cpu_s") or 0) >= limits.cpu_s):
            return "timeout", f"CPU time over {limits.cpu_s}s"
        if sig == signal.SIGXFSZ:
            return "output_limit", f"wrote a file over {limits.file_bytes} bytes"
        if oom:
            return "memory", "killed by the memory cgroup (out of memory)"
        return "killed", f"killed by signal {signal.Signals(sig).name}"
    code = report.get("exit_code")
    if code == 0:
        return "ok", ""
    exc = _last_exception(stderr)
    if exc.startswith("MemoryError") or oom:
        return "memory", exc or "out of memory"
    if "[Errno 27]" in exc or "File too large" in exc:
        return "output_limit", f"{exc} (limit {limits.file_bytes} bytes)"
    if exc.startswith("BlockingIOError") and "Resource temporarily unavailable" in exc:
        return "process_limit", exc
    if any(m in exc for m in _FORBIDDEN_MARKS):
        return "forbidden", exc
    if code == 127 and "sandbox: could not start" in stderr:
        return "sandbox_error", stderr.strip().splitlines()[-1]
    return "failed", exc or f"exit code {code}"


def _interpreter() -> tuple[str, list[str]]:
    """The base interpreter (not a venv shim) and the directories it needs, to mount read-only."""
    exe = os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)
    paths = [os.path.realpath(sys.base_prefix)]
    if not exe.startswith(paths[0] + os.sep):
        paths.append(os.path.dirname(exe))
    return exe, paths


def host_supports_isolation() -> tuple[bool, str]:
    """Whether full isolation is possible here (root on Linux); the reason when not."""
    if not sys.platform.startswith("linux"):
        return False, f"namespaces need Linux, not {sys.platform}"
    if os.geteuid() != 0:
        return False, "namespaces and a private uid need root (or CAP_SYS_ADMIN + CAP_SETUID)"
    return True, ""


@dataclass(frozen=True)
class Sandbox:
    """A reusable configuration; each :meth:`run` is independent and thread-safe (runs may overlap)."""

    limits: Limits = Limits()
    require_isolation: bool = True
    namespaces: bool = True  # False only to test the degraded mode
    cgroups: bool = True

    def run_python(self, code: str, *, files: Mapping[str, str] | None = None,
                   filename: str = "main.py") -> SandboxResult:
        """Run ``code`` as ``/work/<filename>`` (with ``files`` beside it) and report."""
        all_files = dict(files or {})
        all_files[filename] = code
        return self.run(all_files, [filename])

    def run(self, files: Mapping[str, str], argv: Sequence[str]) -> SandboxResult:
        ok, why = host_supports_isolation()
        if self.require_isolation and (not ok or not self.namespaces):
            raise SandboxUnavailable(why or "namespaces disabled while isolation is required")
        for rel in files:
            if rel.startswith("/") or ".." in Path(rel).parts:
                raise ValueError(f"sandbox file names must be relative without '..': {rel!r}")
        python, ro_paths = _interpreter()
        uid = UID_BASE + secrets.randbelow(1 << 20)
        ctrl = Path(tempfile.mkdtemp(prefix="sovereval-sbx-"))
        try:
            os.chmod(ctrl, 0o711)
            (ctrl / "root").mkdir(mode=0o755)
            work = ctrl / "work"
            work.mkdir(mode=0o700)
            if os.geteuid() == 0:
                os.chown(work, uid, uid)
            cfg = {
                "name": f"sovereval-sbx-{uuid.uuid4().hex[:16]}", "uid": uid, "gid": uid,
                "python": python, "ro_paths": ro_paths, "argv": list(argv), "files": dict(files),
                "limits": self.limits.as_dict(), "namespaces": self.namespaces, "use_cgroups": self.cgroups,
                "root_dir": str(ctrl / "root"), "work_dir": str(work),
            }
            return self._launch(cfg, ctrl)
        finally:
            shutil.rmtree(ctrl, ignore_errors=True)

    def _launch(self, cfg: dict[str, object], ctrl: Path) -> SandboxResult:
        out_path, err_path = ctrl / "stdout", ctrl / "stderr"
        status_r, status_w = os.pipe()
        out_fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        err_fd = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        started = time.monotonic()
        runner_timed_out = False
        try:
            with open(ctrl / "launcher.log", "wb") as log:
                proc = subprocess.Popen(
                    [str(cfg["python"]), "-I", "-B", str(LAUNCHER), str(status_w), str(out_fd), str(err_fd)],
                    stdin=subprocess.PIPE, stdout=log, stderr=log, pass_fds=(status_w, out_fd, err_fd),
                    start_new_session=True, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, cwd="/",
                )
            os.close(status_w)
            status_w = -1
            os.close(out_fd)
            os.close(err_fd)
            out_fd = err_fd = -1
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(cfg).encode())
            proc.stdin.close()
            try:
                proc.wait(timeout=self.limits.wall_s + 5.0)
            except subprocess.TimeoutExpired:
                runner_timed_out = True
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
            raw = b""
            os.set_blocking(status_r, False)
            try:
                while chunk := os.read(status_r, 65536):
                    raw += chunk
            except BlockingIOError:
                pass
        finally:
            for fd in (status_r, status_w, out_fd, err_fd):
                if fd >= 0:
                    os.close(fd)
        wall = time.monotonic() - started
        if runner_timed_out:
            if not cfg.get("namespaces"):
                _kill_uid(int(cfg["uid"]))  # type: ignore[arg-type]
            _remove_cgroups(str(cfg["name"]))  # the killed launcher could not remove them
        lines = raw.decode(errors="replace").strip().splitlines()
        try:
            report: dict[str, object] = json.loads(lines[-1]) if lines else {"stage": "no-report"}
        except json.JSONDecodeError:
            report = {"stage": "bad-report", "error": lines[-1][:200]}
        if report.get("stage") in (None, "no-report", "launcher-error"):
            log_text, _ = _read_head(ctrl / "launcher.log", 4000)
            if log_text:
                report["error"] = f"{report.get('error', '')} {log_text.strip()[-500:]}".strip()
        stdout, t1 = _read_head(out_path, self.limits.output_bytes)
        stderr, t2 = _read_head(err_path, self.limits.output_bytes)
        status, detail = classify(report, runner_timed_out=runner_timed_out, stderr=stderr, limits=self.limits)
        iso = report.get("isolation") or {}
        assert isinstance(iso, dict)
        isolation = Isolation(network=bool(iso.get("network")), pid=bool(iso.get("pid")),
                              mount=bool(iso.get("mount")), user=bool(iso.get("user")),
                              cgroup=tuple(iso.get("cgroup") or ()))
        warnings = tuple(str(w) for w in (report.get("warnings") or ()))  # type: ignore[union-attr]
        cpu = report.get("cpu_s")
        rss = report.get("max_rss_kb")
        return SandboxResult(
            status=status, exit_code=report.get("exit_code"), signal=report.get("signal"),  # type: ignore[arg-type]
            stdout=stdout, stderr=stderr, wall_s=wall,
            cpu_s=float(cpu) if isinstance(cpu, int | float) else None,
            max_rss_kb=int(rss) if isinstance(rss, int) else None,
            isolation=isolation, warnings=warnings, detail=detail, truncated=t1 or t2,
        )


def _remove_cgroups(name: str) -> None:
    """Remove a run's cgroups (v1 pids/memory or v2) once its processes are gone; best effort."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return
    dirs = []
    for line in lines:
        _, ctrls, path = line.split(":", 2)
        for ctrl in ctrls.split(",") if ctrls else [""]:
            base = f"/sys/fs/cgroup/{ctrl}" if ctrl in ("pids", "memory") else "/sys/fs/cgroup" if ctrl == "" else None
            if base:
                dirs.append(Path(base + path) / name)
    for d in dirs:
        for _ in range(100):
            if not d.exists():
                break
            try:
                d.rmdir()
            except OSError:
                time.sleep(0.02)


def _kill_uid(uid: int) -> None:
    """Kill every process of a run's private uid (the degraded mode's only way to reach escapees)."""
    if os.geteuid() != 0:
        return
    subprocess.run([sys.executable, "-I", "-c", "import os, signal; os.kill(-1, signal.SIGKILL)"],
                   user=uid, group=uid, extra_groups=[], check=False, timeout=10)


def run_python(code: str, *, limits: Limits | None = None, files: Mapping[str, str] | None = None,
               require_isolation: bool = True) -> SandboxResult:
    """One-shot convenience around :class:`Sandbox`."""
    return Sandbox(limits=limits or Limits(), require_isolation=require_isolation).run_python(code, files=files)
