"""Autograding kernels run student code in a sandbox inside the course's formgrader.

Why here and not in a throwaway container per notebook: a container per run
needs the Docker API in the formgrader (root on the node) and seconds per start;
a second uid in the same container costs nothing and can be closed off with what
the kernel gives us:

- ``grader`` (uid 61000, images/formgrader) owns nothing of the course: the
  course volume is mode 0700 for the teachers' uid (gradebook, sources with the
  hidden tests, ~/.jupyter), the service token is a 0400 secret of that uid, the
  other processes' environments are closed to another uid;
- it has no network: the formgrader's start script, as root, lets packets of
  uid 61000 out only on connections others opened to it (the kernel's own
  ZeroMQ sockets, which bind and are connected to by nbgrader); new connections,
  to the exchange, the hub or the formgrader's own server on loopback, are refused;
- it writes only in its own run folder: /tmp and the other world-writable
  folders are closed to it, its HOME is the run folder (no config of a later
  process can be planted);
- limits: address space, CPU seconds, processes, file size; one run at a time,
  and every process it left is ended when its kernel ends.

The teacher's side (nbgrader, uid 1000) starts ``sudo -u grader grading-kernel``
(the only sudo rule) with a tar of the submission folder and the connection file
on stdin; nothing else crosses. The kernel's outputs come back over the kernel
protocol, and nbgrader (uid 1000) writes the graded notebook and the gradebook:
student code never writes a result.

This module is both halves: ``SandboxedExecute`` / ``configure_autograde`` for
nbgrader, and ``main`` for the launcher (run as the grader uid, stdlib only).
"""

from __future__ import annotations

import fcntl
import json
import os
import resource
import shutil
import signal
import sys
import tarfile
import tempfile

SANDBOX_USER = "grader"
LAUNCHER = "/usr/local/bin/grading-kernel"
RUN_BASE = "/var/lib/astrohub-grading"
KERNEL_PYTHON = "/opt/venv/bin/python"
# Per grading kernel. Address space: the science stack imported takes ~1.2 GB of
# it (pyarrow reserves much it never touches); 3 GB leaves room for the data of
# an assignment. CPU: nbgrader's cell timeout (Execute.timeout) ends a long
# cell; this ends a kernel whose cells together spin longer.
LIMITS = {
    resource.RLIMIT_AS: 3 * 1024**3,
    resource.RLIMIT_CPU: 600,
    resource.RLIMIT_NPROC: 64,
    resource.RLIMIT_FSIZE: 256 * 1024**2,
    resource.RLIMIT_NOFILE: 1024,
    resource.RLIMIT_CORE: 0,
}
CONNECTION = "connection.json"
WORK = "work"


# -- the teacher's side (nbgrader) ----------------------------------------------

def submission_tar(folder: str, connection_file: str):
    """The folder (regular files and folders only) and the connection file as a tar."""
    out = tempfile.TemporaryFile()
    with tarfile.open(fileobj=out, mode="w") as tar:
        tar.add(connection_file, arcname=CONNECTION)
        for dirpath, dirnames, filenames in os.walk(folder):
            rel = os.path.relpath(dirpath, folder)
            dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
            for name in filenames:
                path = os.path.join(dirpath, name)
                if os.path.isfile(path) and not os.path.islink(path):
                    tar.add(path, arcname=os.path.normpath(os.path.join(WORK, rel, name)), recursive=False)
    out.seek(0)
    return out


def _kernel_manager_class():
    from jupyter_client.manager import AsyncKernelManager

    class SandboxedKernelManager(AsyncKernelManager):
        """Starts the kernel through the launcher, as the grader uid, in a copy of the folder."""

        async def _async_pre_start_kernel(self, **kw):
            _, kw = await super()._async_pre_start_kernel(**kw)
            folder = kw.get("cwd") or os.getcwd()
            kw["stdin"] = submission_tar(folder, self.connection_file)
            # sudo keeps the caller's folder, which the grader uid cannot enter.
            kw["cwd"] = "/"
            kw["env"] = {"PATH": "/usr/bin:/bin"}
            return ["/usr/bin/sudo", "-n", "-u", SANDBOX_USER, LAUNCHER], kw

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            try:
                await super()._async_launch_kernel(kernel_cmd, **kw)
            finally:
                kw["stdin"].close()

    return SandboxedKernelManager


def _execute_class():
    from nbgrader.preprocessors import Execute

    class SandboxedExecute(Execute):
        """nbgrader's Execute, its kernels started in the sandbox."""

        def __init__(self, *args, **kwargs):
            kwargs["kernel_manager_class"] = _kernel_manager_class()
            super().__init__(*args, **kwargs)

    return SandboxedExecute


def configure_autograde(c) -> None:
    """Autograde executes student notebooks only in the sandbox (formgrader's nbgrader config)."""
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute

    sandboxed = _execute_class()
    default = Autograde.class_traits()["autograde_preprocessors"].default()
    c.Autograde.autograde_preprocessors = [sandboxed if p is Execute else p for p in default]


# -- the launcher (as the grader uid, through sudo) -------------------------------

def _extract(stream, run: str) -> None:
    """Unpack the tar from the teacher's side: regular files and folders inside ``run`` only."""
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            target = os.path.realpath(os.path.join(run, member.name))
            if not target.startswith(run + os.sep) or not (member.isfile() or member.isdir()):
                raise SystemExit(f"grading-kernel: refused tar member {member.name!r}")
            if member.isdir():
                os.makedirs(target, mode=0o700, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
            with open(target, "wb") as f:
                shutil.copyfileobj(tar.extractfile(member), f)


def _end_leftovers() -> None:
    """End every other process of this uid (what a student's code left behind)."""
    try:
        os.kill(-1, signal.SIGKILL)  # never the caller itself
    except ProcessLookupError:
        pass


def _die_with_parent(sig: int) -> None:
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, sig)  # PR_SET_PDEATHSIG


def kernel_env(run: str) -> dict[str, str]:
    return {
        "PATH": "/opt/venv/bin:/usr/bin:/bin",
        "HOME": run,
        "TMPDIR": os.path.join(run, "tmp"),
        "LANG": "C.UTF-8",
        # The project's packages (kcdc) as in the students' servers.
        "PYTHONPATH": "/opt/astrohub/src",
        # glibc reserves 64 MB of address space per thread arena: keep it inside RLIMIT_AS.
        "MALLOC_ARENA_MAX": "2",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        # ipykernel: interrupts (SIGINT) work, and the kernel ends when the launcher does.
        "JPY_PARENT_PID": str(os.getpid()),
    }


def main() -> int:
    os.umask(0o077)
    lock = open(os.path.join(RUN_BASE, "lock"), "a")
    fcntl.flock(lock, fcntl.LOCK_EX)  # one run at a time: the leftovers' sweep ends only its own
    _end_leftovers()
    run = tempfile.mkdtemp(prefix="run-", dir=RUN_BASE)
    try:
        _extract(sys.stdin.buffer, run)
        os.makedirs(os.path.join(run, "tmp"), exist_ok=True)
        work = os.path.join(run, WORK)
        os.makedirs(work, exist_ok=True)
        connection = os.path.join(run, CONNECTION)
        json.load(open(connection))  # fail here, clearly, not in the kernel
        _die_with_parent(signal.SIGTERM)  # sudo killed: clean up
        pid = os.fork()
        if pid == 0:
            _die_with_parent(signal.SIGKILL)
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            for limit, value in LIMITS.items():
                resource.setrlimit(limit, (value, value))
            os.chdir(work)
            os.execve(KERNEL_PYTHON, [KERNEL_PYTHON, "-m", "ipykernel_launcher", "-f", connection],
                      kernel_env(run))

        def forward(signum, _frame):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
            signal.signal(s, forward)
        while True:
            try:
                _, status = os.waitpid(pid, 0)
                break
            except InterruptedError:
                continue
        return os.waitstatus_to_exitcode(status) if status else 0
    finally:
        _end_leftovers()
        shutil.rmtree(run, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
