"""The sandbox launcher: a stand-alone script (standard library only) run as ``python -I -B _launcher.py``.

It is trusted code that starts with the caller's privileges (root, for full isolation) and builds the jail
for one untrusted program:

``L`` (this process, own session, dies with the runner)
    joins fresh cgroups (pids, memory) when it can, unshares the mount, PID, network, IPC and UTS
    namespaces, forks ``C`` and reports to the runner on the status pipe.
``C`` (PID 1 of the new PID namespace)
    builds a new root on a tmpfs from read-only bind mounts of the system directories and the
    interpreter, a synthetic ``/etc``, a few ``/dev`` nodes, a fresh ``/proc`` and two size-limited
    tmpfs (``/tmp`` and the working directory ``/work``), ``chroot``\\ s into it, forks ``G`` and reaps.
    When ``G`` ends, ``C`` exits and the kernel kills every process left in the namespace.
``G``
    drops to a per-run unprivileged uid/gid with no supplementary groups and ``no_new_privs``, sets the
    resource limits, closes every inherited descriptor but stdout/stderr (files of the runner) and
    ``exec``\\ s the interpreter on the program with a minimal environment.

Usage: ``_launcher.py STATUS_FD STDOUT_FD STDERR_FD``; the JSON configuration arrives on stdin.  The
last line written to STATUS_FD is a JSON report.  Nothing here trusts what ``G`` prints.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import sys
import time

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]


def _enc(s: str | None) -> bytes | None:
    return None if s is None else s.encode()


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(src: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_libc.mount(_enc(src), _enc(target), _enc(fstype), flags, _enc(data)), f"mount {target}")


def _prctl(option: int, arg: int) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(arg), 0, 0, 0), f"prctl {option}")


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


# --------------------------------------------------------------------------------------------------
# cgroups (best effort: v1 pids + memory, or v2 with both controllers)
# --------------------------------------------------------------------------------------------------


def _own_cgroup(controller: str) -> str | None:
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if controller in ctrls.split(","):
                return path
    return None


def _cgroup_setup(name: str, pids_max: int, memory_bytes: int) -> tuple[list[tuple[str, str]], list[str]]:
    """Create and join cgroups; returns ([(kind, dir)], warnings)."""
    made: list[tuple[str, str]] = []
    warnings: list[str] = []
    v1 = {"pids": "/sys/fs/cgroup/pids", "memory": "/sys/fs/cgroup/memory"}
    if all(os.path.isdir(p) for p in v1.values()):
        for ctrl, root in v1.items():
            own = _own_cgroup(ctrl)
            if own is None:
                warnings.append(f"cgroup v1 {ctrl}: not found in /proc/self/cgroup")
                continue
            d = os.path.join(root + own, name)
            try:
                os.mkdir(d)
                if ctrl == "pids":
                    _write(os.path.join(d, "pids.max"), str(pids_max))
                else:
                    _write(os.path.join(d, "memory.limit_in_bytes"), str(memory_bytes))
                    try:
                        _write(os.path.join(d, "memory.memsw.limit_in_bytes"), str(memory_bytes))
                    except OSError:
                        pass  # no swap accounting: swap is not limited separately
                _write(os.path.join(d, "cgroup.procs"), str(os.getpid()))
                made.append((ctrl, d))
            except OSError as e:
                warnings.append(f"cgroup v1 {ctrl}: {e}")
                try:
                    os.rmdir(d)
                except OSError:
                    pass
        return made, warnings
    unified = "/sys/fs/cgroup"
    if os.path.exists(os.path.join(unified, "cgroup.controllers")):
        own = _own_cgroup("") or "/"
        d = os.path.join(unified + own, name)
        try:
            os.mkdir(d)
            _write(os.path.join(d, "pids.max"), str(pids_max))
            _write(os.path.join(d, "memory.max"), str(memory_bytes))
            try:
                _write(os.path.join(d, "memory.swap.max"), "0")
            except OSError:
                pass
            _write(os.path.join(d, "cgroup.procs"), str(os.getpid()))
            made.append(("v2", d))
        except OSError as e:
            warnings.append(f"cgroup v2: {e}")
            try:
                os.rmdir(d)
            except OSError:
                pass
    else:
        warnings.append("no usable cgroup hierarchy: total memory and process count rely on rlimits only")
    return made, warnings


def _cgroup_teardown(made: list[tuple[str, str]]) -> dict[str, int]:
    """Leave the cgroups, read what happened in them and remove them."""
    stats: dict[str, int] = {}
    for kind, d in made:
        try:
            if kind == "memory":
                with open(os.path.join(d, "memory.oom_control")) as f:
                    for line in f:
                        k, _, v = line.partition(" ")
                        if k == "oom_kill":
                            stats["oom_kill"] = int(v)
                with open(os.path.join(d, "memory.failcnt")) as f:
                    stats["memory_failcnt"] = int(f.read().strip() or 0)
                with open(os.path.join(d, "memory.max_usage_in_bytes")) as f:
                    stats["memory_peak_bytes"] = int(f.read().strip() or 0)
            elif kind == "pids":
                ev = os.path.join(d, "pids.events")
                if os.path.exists(ev):
                    with open(ev) as f:
                        stats["pids_max_hit"] = int(f.read().split()[-1])
            elif kind == "v2":
                with open(os.path.join(d, "memory.events")) as f:
                    for line in f:
                        k, _, v = line.partition(" ")
                        if k == "oom_kill":
                            stats["oom_kill"] = int(v)
        except (OSError, ValueError, IndexError):
            pass
        try:
            _write(os.path.join(os.path.dirname(d), "cgroup.procs"), str(os.getpid()))
        except OSError:
            pass
        for _ in range(200):  # the namespace's processes may take a moment to be reaped
            try:
                os.rmdir(d)
                break
            except OSError:
                time.sleep(0.01)
    return stats


# --------------------------------------------------------------------------------------------------
# The jail (in C, inside the new mount and PID namespaces)
# --------------------------------------------------------------------------------------------------

_SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin")
_DEV_NODES = ("null", "zero", "random", "urandom")


def _bind_ro(src: str, target: str) -> None:
    _mount(src, target, None, MS_BIND | MS_REC)
    _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _build_root(cfg: dict, root: str) -> None:
    uid, gid = cfg["uid"], cfg["gid"]
    lim = cfg["limits"]
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=755")
    covered: list[str] = []
    for d in (*_SYSTEM_DIRS, *cfg["ro_paths"]):
        if any(d == c or d.startswith(c + "/") for c in covered) or not os.path.lexists(d):
            continue
        target = root + d
        if os.path.islink(d) and os.path.dirname(d) == "/":
            os.symlink(os.readlink(d), target)  # merged /usr: /bin -> usr/bin
            continue
        if not os.path.isdir(d):
            continue
        os.makedirs(target, exist_ok=True)
        _bind_ro(d, target)
        covered.append(d)
    # a synthetic /etc: nothing of the host's configuration, users or secrets
    os.makedirs(root + "/etc")
    _write(root + "/etc/passwd", f"root:x:0:0::/:/bin/false\nsandbox:x:{uid}:{gid}::/work:/bin/false\n")
    _write(root + "/etc/group", f"root:x:0:\nsandbox:x:{gid}:\n")
    _write(root + "/etc/hosts", "127.0.0.1 localhost\n")
    if os.path.exists("/etc/ld.so.cache"):
        _write(root + "/etc/ld.so.cache", "")
        _mount("/etc/ld.so.cache", root + "/etc/ld.so.cache", None, MS_BIND)
        _mount(None, root + "/etc/ld.so.cache", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.makedirs(root + "/dev")
    for n in _DEV_NODES:
        if os.path.exists("/dev/" + n):
            _write(root + "/dev/" + n, "")
            _mount("/dev/" + n, root + "/dev/" + n, None, MS_BIND)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, root + "/dev/" + name)
    os.makedirs(root + "/proc")
    _mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    size = int(lim["tmpfs_bytes"])
    os.makedirs(root + "/tmp")
    _mount("tmpfs", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode=1777")
    os.makedirs(root + "/work")
    _mount("tmpfs", root + "/work", "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode=700,uid={uid},gid={gid}")
    _write_files(cfg, root + "/work")
    # the root itself read-only: only /tmp and /work are writable, and only by the sandbox user
    _mount(None, root, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4m,mode=755")
    os.chroot(root)
    os.chdir("/work")


def _write_files(cfg: dict, workdir: str) -> None:
    for rel, text in cfg["files"].items():
        path = os.path.join(workdir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        if os.geteuid() == 0:
            os.chown(path, cfg["uid"], cfg["gid"])


def _set_limits(lim: dict) -> None:
    cpu = int(lim["cpu_s"])
    pairs = {
        resource.RLIMIT_CPU: (cpu, cpu + 1),
        resource.RLIMIT_AS: (int(lim["memory_bytes"]),) * 2,
        resource.RLIMIT_FSIZE: (int(lim["file_bytes"]),) * 2,
        resource.RLIMIT_NPROC: (int(lim["nproc"]),) * 2,
        resource.RLIMIT_NOFILE: (int(lim["nofile"]),) * 2,
        resource.RLIMIT_CORE: (0, 0),
    }
    for what, (soft, hard) in pairs.items():
        resource.setrlimit(what, (soft, hard))


def _exec_program(cfg: dict, out_fd: int, err_fd: int, drop: bool) -> None:
    """In G: never returns."""
    try:
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        os.closerange(3, 65536)
        _set_limits(cfg["limits"])
        if drop:
            os.setgroups([])
            os.setresgid(cfg["gid"], cfg["gid"], cfg["gid"])
            os.setresuid(cfg["uid"], cfg["uid"], cfg["uid"])
        _prctl(PR_SET_NO_NEW_PRIVS, 1)
        env = {"PATH": "/usr/bin:/bin", "HOME": os.getcwd(), "TMPDIR": "/tmp" if cfg["jail"] else os.getcwd(),
               "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONHASHSEED": "0", "PYTHONIOENCODING": "utf-8"}
        argv = [cfg["python"], "-I", "-B", *cfg["argv"]]
        os.execve(cfg["python"], argv, env)
    except BaseException as e:  # noqa: BLE001 - report and die, whatever happened
        try:
            os.write(2, f"sandbox: could not start the program: {e!r}\n".encode())
        finally:
            os._exit(127)


class _Timeout(Exception):
    pass


def _on_alarm(signum: int, frame: object) -> None:
    raise _Timeout


def _init(cfg: dict, jail: bool, report_fd: int, out_fd: int, err_fd: int) -> None:
    """C: PID 1 of the namespace (or a plain supervisor without one).  Never returns."""
    try:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        drop = os.geteuid() == 0
        if jail:
            _build_root(cfg, cfg["root_dir"])
            try:
                import socket

                socket.sethostname("sandbox")
            except OSError:
                pass
        else:
            work = cfg["work_dir"]
            _write_files(cfg, work)
            os.chdir(work)
        started = time.monotonic()
        child = os.fork()
        if child == 0:
            _exec_program(cfg, out_fd, err_fd, drop)
        signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, float(cfg["limits"]["wall_s"]))
        os.close(out_fd)
        os.close(err_fd)
        status = None
        timed_out = False
        while status is None:
            try:
                pid, st, ru = os.wait4(-1, 0)
            except ChildProcessError:
                break
            except _Timeout:
                timed_out = True
                os.kill(child, signal.SIGKILL)  # in the jail, the rest die when this process exits
                pid, st, ru = os.wait4(child, 0)
            if pid == child:
                status = (st, ru)
        signal.setitimer(signal.ITIMER_REAL, 0)
        report: dict = {"stage": "done", "timed_out": timed_out, "child_wall_s": time.monotonic() - started}
        if status is not None:
            st, ru = status
            report.update(
                exit_code=os.WEXITSTATUS(st) if os.WIFEXITED(st) else None,
                signal=os.WTERMSIG(st) if os.WIFSIGNALED(st) else None,
                cpu_s=ru.ru_utime + ru.ru_stime, max_rss_kb=ru.ru_maxrss,
            )
        os.write(report_fd, (json.dumps(report) + "\n").encode())
        os._exit(0)
    except BaseException as e:  # noqa: BLE001
        try:
            os.write(report_fd, (json.dumps({"stage": "init-error", "error": repr(e)}) + "\n").encode())
        finally:
            os._exit(70)


def _kill_uid(uid: int) -> None:
    """Without a PID namespace: kill every process of the run's private uid (kill(-1) as that uid)."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def main() -> None:
    status_fd, out_fd, err_fd = (int(a) for a in sys.argv[1:4])
    cfg = json.loads(sys.stdin.read())
    report: dict = {"isolation": {}, "warnings": []}
    iso, warnings = report["isolation"], report["warnings"]

    def emit() -> None:
        os.write(status_fd, (json.dumps(report) + "\n").encode())

    try:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        is_root = os.geteuid() == 0
        iso["user"] = is_root
        if not is_root:
            warnings.append("not root: the program runs as the caller's own user (its files are reachable)")
        lim = cfg["limits"]
        made: list[tuple[str, str]] = []
        if cfg["use_cgroups"] and is_root:
            made, w = _cgroup_setup(cfg["name"], int(lim["nproc"]) + 4, int(lim["cgroup_memory_bytes"]))
            warnings.extend(w)
        iso["cgroup"] = sorted(k for k, _ in made)
        jail = False
        if cfg["namespaces"]:
            try:
                _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS),
                       "unshare")
                jail = True
            except OSError as e:
                warnings.append(f"namespaces unavailable ({e}): NO network isolation, NO filesystem jail, "
                                f"NO PID namespace")
        else:
            warnings.append("namespaces disabled by configuration: NO network isolation, NO filesystem jail")
        iso.update(network=jail, pid=jail, mount=jail, ipc=jail)
        cfg["jail"] = jail
        r, w_ = os.pipe()
        child = os.fork()
        if child == 0:
            os.close(r)
            _init(cfg, jail, w_, out_fd, err_fd)
        os.close(w_)
        os.close(out_fd)
        os.close(err_fd)
        chunks = []
        while True:
            b = os.read(r, 65536)
            if not b:
                break
            chunks.append(b)
        _, st = os.waitpid(child, 0)
        if not jail and is_root:
            _kill_uid(cfg["uid"])
        report["cgroup_stats"] = _cgroup_teardown(made)
        text = b"".join(chunks).decode(errors="replace").strip()
        if text:
            report.update(json.loads(text.splitlines()[-1]))
        else:
            report.update(stage="init-died", init_status=st)
    except BaseException as e:  # noqa: BLE001
        report.update(stage="launcher-error", error=repr(e))
    emit()


if __name__ == "__main__":
    main()
