"""A headless Chromium driven through Debian's ``chromedriver`` over the W3C WebDriver protocol (plain HTTP, so
no selenium dependency): navigate, find, type, click, read the page, take screenshots."""

from __future__ import annotations

import base64
import shutil
import subprocess
import time
from pathlib import Path

import requests

from support.airflow_stack import free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROMEDRIVER = shutil.which("chromedriver")
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


def missing() -> str | None:
    """Why a browser test cannot run here, or None."""
    if not CHROMIUM or not CHROMEDRIVER:
        return "chromium and chromedriver are not installed (apt-get install -y chromium chromium-driver)"
    return None


class Browser:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [CHROMEDRIVER, f"--port={self.port}"],
            stdout=(self.workdir / "chromedriver.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{self.base}/status", timeout=2).json()["value"]["ready"]:
                    break
            except (requests.RequestException, ValueError, KeyError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("chromedriver did not start")
            time.sleep(0.2)
        caps = {
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": CHROMIUM,
                        "args": [
                            "--headless=new",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--disable-dev-shm-usage",
                            "--window-size=1400,2400",
                            f"--user-data-dir={self.workdir / 'profile'}",
                        ],
                    },
                }
            }
        }
        resp = requests.post(f"{self.base}/session", json=caps, timeout=60)
        resp.raise_for_status()
        self.session = resp.json()["value"]["sessionId"]

    def _cmd(self, method: str, path: str, body: dict | None = None) -> object:
        resp = requests.request(method, f"{self.base}/session/{self.session}{path}", json=body, timeout=60)
        value = resp.json().get("value")
        if resp.status_code >= 400:
            raise RuntimeError(f"webdriver {method} {path}: {value}")
        return value

    def get(self, url: str) -> None:
        self._cmd("POST", "/url", {"url": url})

    @property
    def url(self) -> str:
        return str(self._cmd("GET", "/url"))

    @property
    def source(self) -> str:
        return str(self._cmd("GET", "/source"))

    def find(self, css: str, timeout_s: float = 20) -> str:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return self._cmd("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.25)

    def type(self, css: str, text: str) -> None:
        self._cmd("POST", f"/element/{self.find(css)}/value", {"text": text})

    def click(self, css: str) -> None:
        self._cmd("POST", f"/element/{self.find(css)}/click", {})

    def wait_for(self, predicate, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"browser stayed at {self.url}")
            time.sleep(0.25)

    def screenshot(self, name: str) -> Path:
        path = self.workdir / f"{name}.png"
        path.write_bytes(base64.b64decode(str(self._cmd("GET", "/screenshot"))))
        return path

    def quit(self) -> None:
        try:
            requests.delete(f"{self.base}/session/{self.session}", timeout=30)
        except requests.RequestException:
            pass
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
