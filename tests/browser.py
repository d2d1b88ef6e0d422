"""A headless Chromium driven over the DevTools protocol, for checking the HTML report
as a reader sees it. Needs the ``chromium`` binary and ``websocket-client``."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request


def available() -> bool:
    try:
        import websocket  # noqa: F401
    except ImportError:
        return False
    return shutil.which("chromium") is not None


class Browser:
    """One headless page: ``open(path)``, ``js(expression) -> value``, ``close()``."""

    def __init__(self):
        import websocket

        self._profile = tempfile.mkdtemp(prefix="dagbench-chromium-")
        self._proc = subprocess.Popen(
            ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-port=0",
             "--remote-allow-origins=*",  # newer Chromium refuses DevTools websockets from elsewhere
             f"--user-data-dir={self._profile}", "--window-size=1400,1000", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(self._profile, "DevToolsActivePort")
        for _ in range(300):  # Chromium writes its port here once it listens
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            time.sleep(0.1)
        else:
            self.close()
            raise RuntimeError("chromium did not start")
        port = open(port_file).read().split()[0]
        pages = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json"))
        url = next(p["webSocketDebuggerUrl"] for p in pages if p["type"] == "page")
        self._ws = websocket.create_connection(url, timeout=60)
        self._id = 0

    def call(self, method: str, **params):
        self._id += 1
        self._ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            msg = json.loads(self._ws.recv())
            if msg.get("id") == self._id:
                return msg.get("result", {})

    def open(self, path, wait_s: float = 3.0) -> None:
        self.call("Page.navigate", url=f"file://{os.path.abspath(path)}")
        time.sleep(wait_s)

    def js(self, expression: str):
        res = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return res.get("result", {}).get("value")

    def close(self) -> None:
        if getattr(self, "_ws", None) is not None:
            self._ws.close()
        self._proc.kill()
        self._proc.wait()
        shutil.rmtree(self._profile, ignore_errors=True)
