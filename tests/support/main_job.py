"""The main job (examples/quickstart/run_local.py) run as a user runs it: its output read as it comes, and its
question answered through a terminal (a pty) when the test asks for one."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

RUN_LOCAL = Path(__file__).resolve().parents[2] / "examples" / "quickstart" / "run_local.py"
QUESTION = "Do you want to perform this update? [y/N] "


class MainJob:
    """`python run_local.py <args>`; stdin is a terminal when `terminal`, else /dev/null (no one to ask)."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, terminal: bool = False):
        self._master: int | None = None
        stdin: int = subprocess.DEVNULL
        if terminal:
            self._master, stdin = pty.openpty()
        self._stderr = tempfile.TemporaryFile()
        self._stderr_text = ""
        # A process group of its own, as a shell gives a job: interrupt() is the terminal's Ctrl-C.
        self.process = subprocess.Popen([sys.executable, str(RUN_LOCAL), *args], stdin=stdin,
                                        stdout=subprocess.PIPE, stderr=self._stderr, env=env,
                                        start_new_session=True)
        if terminal:
            os.close(stdin)
        self.text = ""  # everything it printed so far
        self._seen = 0  # where the next expect() looks from
        self._ended = False
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        with self.process.stdout:
            while chunk := os.read(self.process.stdout.fileno(), 65536):
                with self._changed:
                    self.text += chunk.decode(errors="replace")
                    self._changed.notify_all()
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def expect(self, needle: str, timeout: float = 240) -> str:
        """Wait until `needle` is printed (after what earlier calls found); return everything printed so far, at the
        moment it came: what follows it had not been printed yet."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while (found := self.text.find(needle, self._seen)) < 0:
                left = deadline - time.monotonic()
                if self._ended or left <= 0:
                    raise AssertionError(f"{needle!r} never printed ({'it exited' if self._ended else 'timeout'}):\n"
                                         f"{self.text}\n{self.stderr()}")
                self._changed.wait(left)
            self._seen = found + len(needle)
            return self.text

    def answer(self, line: str) -> None:
        """Type `line` and Enter at the terminal."""
        assert self._master is not None, "started without a terminal"
        os.write(self._master, f"{line}\n".encode())

    def interrupt(self) -> None:
        """Ctrl-C at the terminal: SIGINT to every process of the job's group."""
        os.killpg(self.process.pid, signal.SIGINT)

    def stderr(self) -> str:
        if self._stderr.closed:
            return self._stderr_text
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def finish(self, timeout: float = 300) -> int:
        try:
            self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self._reader.join(timeout=10)
            if self._master is not None:
                os.close(self._master)
                self._master = None
            self._stderr_text = self.stderr()
            self._stderr.close()
        return self.process.returncode

    @property
    def stdout(self) -> str:
        return self.text
