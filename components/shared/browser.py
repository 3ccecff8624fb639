"""Headless Chromium driven over the DevTools protocol, for what looks at real pages: the
browser export's measurement (`export-web`) and the tests of the MLflow UI.

Chromium's `--remote-debugging-pipe` speaks the protocol over two file descriptors (3 in,
4 out, one JSON message per NUL-terminated chunk), so no websocket client and no port are
needed; playwright or selenium would bring their own browser download, which this
machine cannot fetch. A page is opened in a fresh profile, and `wait_for_text` waits for
what its scripts render instead of guessing a time budget.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from components.shared.processes import stop_process


class BrowserError(RuntimeError):
    pass


def chromium() -> str:
    """The Chromium to drive: Debian's `chromium` (apt-get install chromium), or another
    Chromium-based browser on PATH."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise BrowserError("no Chromium on PATH: apt-get install chromium (.ci/run does)")


class Browser:
    """One headless Chromium with one page; use as a context manager."""

    def __init__(self, width: int = 1400, height: int = 900) -> None:
        self._size = (width, height)
        self._profile = tempfile.TemporaryDirectory(prefix="chromium-")
        self._next_id = 0
        self._buffer = b""

    def __enter__(self) -> Browser:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire_fds() -> None:  # in the child: its fds 3 and 4 become the pipe's ends
            # Moved above 4 first, so neither end is overwritten by the other's dup2.
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_browser_r, from_browser_w)]
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        self._proc = subprocess.Popen(
            [
                chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--remote-debugging-pipe",
                f"--user-data-dir={self._profile.name}",
                f"--window-size={self._size[0]},{self._size[1]}",
                # Nothing but this machine's servers, so a page cannot reach the internet.
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            ],
            preexec_fn=wire_fds,  # noqa: PLW1509 - dup2 only, before exec
            pass_fds=(3, 4),  # kept open in the child after wire_fds
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        os.close(to_browser_r)
        os.close(from_browser_w)
        target = self._call("Target.createTarget", url="about:blank")["targetId"]
        self._session = self._call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        self.call("Page.enable")
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=self._size[0], height=self._size[1], deviceScaleFactor=1, mobile=False,
        )  # fmt: skip
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._call("Browser.close")
            self._proc.wait(timeout=20)
        except (BrowserError, OSError, subprocess.TimeoutExpired):
            stop_process(self._proc)
        # Chromium's helpers (zygote, renderers) share its session: none may outlive it,
        # or write into the profile while it is deleted.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        for fd in (self._to_browser, self._from_browser):
            os.close(fd)
        self._profile.cleanup()

    def _send(self, method: str, params: dict, session: str | None) -> int:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        return self._next_id

    def _receive(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or self._proc.poll() is not None:
                raise BrowserError("Chromium stopped answering")
            if not select.select([self._from_browser], [], [], min(left, 1.0))[0]:
                continue
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserError("Chromium closed its pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def _call(self, method: str, session: str | None = None, **params: Any) -> dict:
        wanted = self._send(method, params, session)
        while True:
            message = self._receive(timeout=60)
            if message.get("id") != wanted:
                continue  # an event, or the answer to an earlier call
            if "error" in message:
                raise BrowserError(f"{method}: {message['error']}")
            return message.get("result", {})

    def call(self, method: str, **params: Any) -> dict:
        """A DevTools command to the page."""
        return self._call(method, self._session, **params)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url: str, local_storage: dict[str, str] | None = None) -> None:
        """Navigate to `url`; with `local_storage`, set those keys on its origin first
        (what a returning user's browser remembers, e.g. dismissed pop-ups)."""
        if local_storage:
            origin = "/".join(url.split("/", 3)[:3])
            self.call("Page.navigate", url=origin + "/")
            self.wait_for("document.readyState === 'complete'", timeout=30)
            for key, value in local_storage.items():
                self.evaluate(f"localStorage.setItem({json.dumps(key)}, {json.dumps(value)})")
        self.call("Page.navigate", url=url)

    def wait_for(self, condition: str, timeout: float = 60) -> None:
        """Until the JavaScript `condition` is true on the page."""
        deadline = time.monotonic() + timeout
        while not self.evaluate(f"Boolean({condition})"):
            if time.monotonic() > deadline:
                raise BrowserError(f"after {timeout:.0f} s, still not true: {condition}")
            time.sleep(0.25)

    def wait_for_text(self, *texts: str, timeout: float = 60) -> str:
        """Until the page's visible text holds every one of `texts`; returns that text."""
        checks = " && ".join(f"t.includes({json.dumps(t)})" for t in texts)
        self.wait_for(f"(t => {checks})(document.body ? document.body.innerText : '')", timeout)
        return self.evaluate("document.body.innerText")

    def screenshot(self, path: Path, full_page: bool = False) -> Path:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
        data = self.call("Page.captureScreenshot", **params)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path
