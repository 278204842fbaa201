"""A Jupyter kernel in a sandbox, driven cell by cell with limits that always fire.

jupyter_client's asynchronous client keeps the grader's event loop running while a cell runs: a cell
that loops for ever hits its timeout (interrupted, then killed with its sandbox if it ignores that);
a kernel that dies, or a sandbox over its memory or disk limit, is noticed within a second. Output
kept is bounded (MAX_MESSAGE_BYTES a message, OutputBudget a cell and a notebook); the rest is counted
and dropped. Errors are always kept, shortened: they decide a cell's status.
"""
import asyncio
import os
import queue
import sys
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field

import zmq
import zmq.asyncio
from jupyter_client import AsyncKernelManager
from jupyter_client.kernelspec import KernelSpec
from nbformat.v4 import new_output, output_from_msg

from . import sandbox as sandbox_module

#: Seconds a kernel may take to start, and to answer an interrupt before it is killed.
STARTUP_SECONDS = 120
INTERRUPT_GRACE_SECONDS = 5

OK, ERROR, TIMEOUT, DEAD, MEMORY, DISK, STOPPED = "ok", "error", "timeout", "dead", "memory", "disk", "stopped"
#: Largest message the grader receives from a kernel (ZeroMQ's MAXMSGSIZE on the client's sockets):
#: a bigger one is dropped unread (a cell keeps at most OutputBudget.cell_bytes anyway).
MAX_MESSAGE_BYTES = 4 << 20
#: An error's value and traceback are kept up to this many characters each.
MAX_ERROR_CHARS = 4000


@dataclass
class OutputBudget:
    """How many bytes of output the grader keeps: per cell, and over one notebook (all its kernels)."""

    cell_bytes: int = 2 << 20
    notebook_bytes: int = 16 << 20
    kept: int = 0
    dropped: int = 0

    def take(self, size, cell_kept):
        """Whether an output of size bytes is kept, given cell_kept bytes kept so far in its cell."""
        if cell_kept + size > self.cell_bytes or self.kept + size > self.notebook_bytes:
            self.dropped += size
            return False
        self.kept += size
        return True


def _size(content):
    """Bytes of an output message's content (its text and data)."""
    size = len(content.get("text", "")) + len(content.get("evalue", ""))
    size += sum(len(line) for line in content.get("traceback", []) if isinstance(line, str))
    data = content.get("data", {})
    return size + sum(len(v) if isinstance(v, str) else len(str(v)) for v in data.values())


@dataclass
class CellRun:
    """What running one cell gave: status (OK, ERROR, TIMEOUT, DEAD, MEMORY or STOPPED), the
    nbformat outputs, the first error as (ename, evalue), and the seconds it took."""

    status: str
    outputs: list = field(default_factory=list)
    error: tuple = None
    seconds: float = 0.0


class _SandboxKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel command is the sandbox's, with a connection file it can read."""

    sandbox = None

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        self.sandbox.write_connection(self.connection_file)


def _drain(fd, log, limit):
    """Copy the kernel's own stdout/stderr (fd) to log, up to limit bytes; the rest is read and dropped."""
    kept = dropped = 0
    with os.fdopen(fd, "rb", buffering=0) as pipe:
        while chunk := pipe.read(1 << 16):
            room = min(len(chunk), max(limit - kept, 0))
            if room:
                log.write(chunk[:room].decode(errors="replace"))
                log.flush()
            kept, dropped = kept + room, dropped + len(chunk) - room
    if dropped:
        log.write(f"[grader] {dropped} bytes of the kernel's own output dropped\n")
        log.flush()


class SandboxKernel:
    """One kernel in one sandbox: start(), run() cells, stop()."""

    def __init__(self, sandbox, log, budget=None):
        self.sandbox, self.log = sandbox, log
        self.budget = budget if budget is not None else OutputBudget()
        self.km = self.kc = self.context = None
        self.alive = False
        self._cell_kept = 0  # bytes of output kept in the cell running
        self.cap_chars = MAX_MESSAGE_BYTES // 8  # per stream and cell, in the kernel (kitfiles.OUTPUT_CAP)

    @property
    def pid(self):
        process = getattr(self.km and self.km.provisioner, "process", None)
        return process.pid if process is not None else None

    async def start(self):
        sandbox = self.sandbox
        km = _SandboxKernelManager(transport="ipc", ip=sandbox.kernel_ip()[0])
        km.sandbox = sandbox
        km.connection_file = str(sandbox.connection / "kernel.json")
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        km._kernel_spec = KernelSpec(argv=sandbox.command(argv), display_name="graded",
                                     language="python", interrupt_mode="message")
        self.km = km
        read, write = os.pipe()
        threading.Thread(target=_drain, args=(read, self.log, sandbox.limits.log_mb << 20), daemon=True).start()
        launching = sandbox_module._reaper
        launching["launching"] += 1
        try:
            await km.start_kernel(env=sandbox.environment(), stdout=write, stderr=write,
                                  cwd=None if sandbox.use_bwrap else sandbox.workdir)
        finally:
            os.close(write)
            launching["launching"] -= 1
        if self.pid is not None:
            sandbox_module._launched.add(self.pid)
        for _ in range(STARTUP_SECONDS * 10):
            if self.pid is None or sandbox.started(self.pid):
                break
            await asyncio.sleep(0.1)
        # A context of its own, so that its sockets refuse oversized messages before reading them.
        self.context = zmq.asyncio.Context()
        self.context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        self.kc = km.client(context=self.context)
        self.kc.start_channels()
        try:
            await asyncio.wait_for(self.kc._async_wait_for_ready(timeout=STARTUP_SECONDS),
                                   STARTUP_SECONDS + 5)
        except Exception:  # noqa: BLE001 -- whatever stopped it, there is no kernel to grade with
            await self.stop()
            raise RuntimeError("the kernel did not start (see the log, --verbose)") from None
        self.alive = True

    async def stop(self):
        self.alive = False
        if self.kc is not None:
            self.kc.stop_channels()
        if self.km is not None:
            pid = self.pid
            self.sandbox.kill(pid)
            with suppress(Exception):  # already killed; only resources are left to free
                await asyncio.wait_for(self.km.shutdown_kernel(now=True), 10)
            self.sandbox.cleanup(pid)
            self.km = None
        if self.context is not None:
            self.context.destroy(linger=0)
            self.context = None

    async def run(self, code, timeout, deadline, stop_event=None):
        """Run one cell. timeout -- seconds for this cell; deadline -- time.monotonic() limit of the
        whole notebook; stop_event -- an asyncio.Event set when grading is being stopped."""
        start = time.monotonic()
        if not self.alive:
            return CellRun(DEAD)
        msg_id = self.kc.execute(code, store_history=False, allow_stdin=False, stop_on_error=False)
        outputs = []
        limit = min(start + timeout, deadline)
        dropped_before, self._cell_kept = self.budget.dropped, 0
        status = await self._collect(msg_id, limit, outputs, stop_event)
        if status == TIMEOUT:
            status = await self._interrupt(msg_id, outputs)
        dropped = self.budget.dropped - dropped_before
        if dropped:
            outputs.append(new_output("stream", name="stderr", text=(
                f"[grader] {dropped} bytes of output dropped (kept at most {self.budget.cell_bytes} "
                f"per cell, {self.budget.notebook_bytes} per notebook)\n")))
        error = next(((out.get("ename", "Error"), out.get("evalue", "")) for out in outputs
                      if out.get("output_type") == "error"), None)
        if status == OK and error is not None:
            status = ERROR
        return CellRun(status, outputs, error, time.monotonic() - start)

    async def _collect(self, msg_id, limit, outputs, stop_event=None):
        """Gather the cell's outputs until the kernel is idle again, or something stops it."""
        last_check = 0.0
        while True:
            now = time.monotonic()
            if now >= limit:
                return TIMEOUT
            if stop_event is not None and stop_event.is_set():
                await self._kill()
                return STOPPED
            if now - last_check >= 1.0:
                last_check = now
                if not await self.km.is_alive():
                    self.alive = False
                    return DEAD
                over = (MEMORY if self.sandbox.resident_mb(self.pid) > self.sandbox.limits.memory_mb
                        else DISK if self.sandbox.disk_mb() > self.sandbox.limits.tmp_mb else None)
                if over:
                    await self._kill()
                    return over
            try:
                msg = await self.kc.get_iopub_msg(timeout=min(0.5, max(limit - now, 0.01)))
            except (queue.Empty, asyncio.TimeoutError, TimeoutError):
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["header"]["msg_type"]
            if kind == "status" and msg["content"].get("execution_state") == "idle":
                return OK
            if kind == "error":  # always kept: it decides the cell's status
                content = msg["content"]
                content["evalue"] = str(content.get("evalue", ""))[:MAX_ERROR_CHARS]
                content["traceback"] = ["\n".join(map(str, content.get("traceback", [])))[-MAX_ERROR_CHARS:]]
                outputs.append(output_from_msg(msg))
            elif kind in ("stream", "display_data", "execute_result"):
                size = _size(msg["content"])
                if self.budget.take(size, self._cell_kept):
                    self._cell_kept += size
                    outputs.append(output_from_msg(msg))

    async def _interrupt(self, msg_id, outputs):
        """Interrupt a cell past its time; kill the sandbox if the kernel does not obey."""
        with suppress(Exception):  # a kernel that cannot be interrupted is killed below
            await self.km.interrupt_kernel()
        status = await self._collect(msg_id, time.monotonic() + INTERRUPT_GRACE_SECONDS, outputs)
        if status != OK:
            await self._kill()
        return TIMEOUT

    async def _kill(self):
        self.alive = False
        self.sandbox.kill(self.pid)
