"""Headless Chromium driven over its DevTools pipe: wait in real time for what a page does.

`--dump-dom` with `--virtual-time-budget` dumps the page once its virtual time runs out, and
virtual time does not wait for work outside the page's scripts, such as a <video> decoding
the frame a seek asked for: on a busy machine the dump came before the `seeked` event. Here
the test asks the page itself, every 0.2 s of real time, until a condition holds (or a
deadline passes), through Chromium's `--remote-debugging-pipe` (JSON messages ended by a NUL
byte on file descriptors 3 and 4 of the browser), so no port is opened.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.report.browser import chromium


class DevToolsPipe:
    """One headless Chromium and one page in it; close() ends the browser."""

    def __init__(self, profile: Path) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # above 4, so that placing one on fd 3 or 4 in the child never overwrites the other
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_browser_r, from_browser_w)]
        for fd in (to_browser_r, from_browser_w):
            os.close(fd)

        # The browser reads fd 3 and writes fd 4: bash puts the pipes there, then becomes it.
        command = [
            chromium(), "--headless", "--no-sandbox", "--disable-gpu",
            "--remote-debugging-pipe", f"--user-data-dir={profile}", "about:blank",
        ]  # fmt: skip
        self._proc = subprocess.Popen(
            ["bash", "-c", f'exec 3<&{high[0]} 4>&{high[1]} {high[0]}<&- {high[1]}>&- "$@"', "bash",
             *command],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=high,
        )  # fmt: skip
        for fd in high:
            os.close(fd)
        self._next_id = 0
        self._buffer = b""
        self._session: str | None = None

    def _send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one command (to the page once attached) and return its result."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if self._session is not None and not method.startswith(("Target.", "Browser.")):
            message["sessionId"] = self._session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self._buffer:
                chunk = os.read(self._from_browser, 1 << 16)
                if not chunk:
                    msg = f"Chromium closed its DevTools pipe during {method}"
                    raise RuntimeError(msg)
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self._next_id:  # events and other replies are skipped
                if "error" in reply:
                    msg = f"{method}: {reply['error']}"
                    raise RuntimeError(msg)
                return dict(reply.get("result", {}))

    def open(self, url: str) -> None:
        """Open `url` in a new page and attach to it."""
        target = self._send("Target.createTarget", {"url": url})["targetId"]
        attached = self._send("Target.attachToTarget", {"targetId": target, "flatten": True})
        self._session = attached["sessionId"]

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression in the page."""
        result = self._send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout_s: float = 120) -> Any:
        """Evaluate `expression` every 0.2 s until its value is truthy; that value.

        Fails the test with the page's last value after `timeout_s` seconds.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            value = self.evaluate(expression)
            if value or time.monotonic() > deadline:
                assert value, f"not true after {timeout_s:g} s: {expression} -> {value!r}"
                return value
            time.sleep(0.2)

    def close(self) -> None:
        """End the browser (by its PID if it does not close itself)."""
        with contextlib.suppress(RuntimeError, OSError):  # it may exit before it answers
            self._send("Browser.close")
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=30)
        os.close(self._to_browser)
        os.close(self._from_browser)
