"""A real S3-compatible server for the tests: moto's `moto_server` (from PyPI, installed into
the venv by scripts/setup.sh), started on a free loopback port and stopped by its pid, with
its request log kept so that tests can count the requests a client made."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import s3fs

KEY, SECRET = "testing", "testing"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class S3Server:
    endpoint: str
    log: Path
    process: subprocess.Popen

    def env(self, **extra: str) -> dict[str, str]:
        """The environment a Strata process reaches the server with: only the standard
        variables, as a user's shell would have them."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET, AWS_REGION="us-east-1", AWS_ENDPOINT_URL=self.endpoint)
        env.update(extra)
        return env

    def storage_options(self) -> dict:
        return {"endpoint_url": self.endpoint, "key": KEY, "secret": SECRET}

    def fs(self) -> s3fs.S3FileSystem:
        return s3fs.S3FileSystem(**self.storage_options(), skip_instance_cache=True)

    def requests(self) -> list[str]:
        """The request lines the server logged so far ("GET /bucket/key HTTP/1.1")."""
        # Werkzeug colours the lines of answers other than 200 (206, 404) with ANSI escapes.
        text = re.sub(r"\x1b\[[0-9;]*m", "", self.log.read_text(errors="replace"))
        return re.findall(r'"((?:GET|HEAD|PUT|POST|DELETE) [^"]*)"', text)

    def settled_requests(self) -> list[str]:
        """The request lines logged so far, once the server has logged every request answered
        before this call: the server logs a request after answering it, so a marker request
        is sent now and the log read until the marker's line is in it."""
        marker = f"/strata-sync-{uuid.uuid4().hex}"
        try:
            urllib.request.urlopen(self.endpoint + marker, timeout=30).close()
        except urllib.error.HTTPError:
            pass  # a 404 (no such bucket) is logged all the same
        deadline = time.monotonic() + 30
        while True:
            lines = self.requests()
            for i, line in enumerate(lines):
                if marker in line:
                    # Earlier markers are this helper's own, not the client's.
                    return [l for l in lines[:i] if "/strata-sync-" not in l]
            if time.monotonic() > deadline:
                raise AssertionError(f"the server never logged {marker}")
            time.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_s3(workdir: Path, env: dict[str, str] | None = None) -> S3Server:
    """Starts moto's server (within 60 s, or fails saying why)."""
    port = free_port()
    log = workdir / f"moto-{port}.log"
    binary = Path(sys.executable).parent / "moto_server"
    with open(log, "wb") as out:
        process = subprocess.Popen([str(binary), "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return S3Server(f"http://127.0.0.1:{port}", log, process)
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"moto_server did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)
