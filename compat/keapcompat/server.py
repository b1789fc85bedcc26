"""Start and stop the keapsake server the suite talks to.

One `keapsake serve --demo` per suite run, on a port the kernel picks (`--listen 127.0.0.1:0`; the
server prints the address it bound on its first stdout line), with a SQLite database in a fresh temp
directory. Apps the clients use are registered with `keapsake app add` before the server starts.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request

DEMO_USER = "demo@keapsake.test"
DEMO_PASSWORD = "keapsake-demo"
DEMO_ACCOUNT = "demo1"
DEMO_CLIENT_ID = "keapsake-demo-app"
DEMO_CLIENT_SECRET = "keapsake-demo-secret"
# Registered for the demo app whatever port the server runs on.
DEMO_FIXED_REDIRECT = "http://127.0.0.1:8765/callback"

_LISTENING = re.compile(r"listening on (https?://[^\s/]+)/?")


class App:
    def __init__(self, client_id, client_secret, redirect_uri):
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri


class Keapsake:
    """A running keapsake. `base` is its origin, e.g. http://127.0.0.1:40123 (no trailing slash)."""

    def __init__(self, binary):
        self.binary = binary
        self.tmp = tempfile.mkdtemp(prefix="keapsake-compat-")
        self.database = os.path.join(self.tmp, "keapsake.db")
        self.log_path = os.path.join(self.tmp, "server.log")
        self.proc = None
        self.base = None
        # Child environment without any KEAPSAKE_* the caller may have set (public URL, TTLs, ...).
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("KEAPSAKE_")}
        self.env["NO_COLOR"] = "1"

    def cli(self, *args):
        """Runs a keapsake CLI command against the suite's database and returns its stdout."""
        out = subprocess.run(
            [self.binary, *args, "--database", self.database],
            env=self.env, capture_output=True, text=True, timeout=60,
        )
        if out.returncode != 0:
            raise RuntimeError(f"keapsake {' '.join(args)} failed ({out.returncode}): {out.stderr.strip()}")
        return out.stdout

    def add_app(self, name, redirect_uri):
        """`keapsake app add --json`: a freshly registered app with a generated secret."""
        data = json.loads(self.cli("app", "add", "--name", name, "--redirect-uri", redirect_uri, "--json"))
        return App(data["client_id"], data["client_secret"], redirect_uri)

    def start(self, timeout=30):
        log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--listen", "127.0.0.1:0", "--database", self.database, "--demo",
             "--log-format", "text"],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"keapsake serve exited with {self.proc.returncode}:\n{self.log_tail()}")
            with open(self.log_path) as f:
                m = _LISTENING.search(f.read())
            if m:
                self.base = m.group(1)
                try:
                    with urllib.request.urlopen(self.base + "/healthz", timeout=2) as r:
                        if r.status == 200:
                            return self
                except OSError:
                    pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"keapsake serve did not become ready in {timeout}s:\n{self.log_tail()}")

    def demo_app(self):
        return App(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_FIXED_REDIRECT)

    def log_tail(self, lines=40):
        try:
            with open(self.log_path) as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(no server log)"

    def stop(self, keep=False):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not keep:
            shutil.rmtree(self.tmp, ignore_errors=True)
