"""Runs the compatibility suite: `python -m keapcompat [-k SUBSTRING] [--keep]` from compat/.

Starts keapsake (binary from $KEAPSAKE_BIN, else ../target/debug/keapsake), registers the apps,
installs the wire guard/recorder, runs every test in compat/tests, prints one line per test, details
of each failure (traceback plus the HTTP exchanges the test made), and ends with exactly
`compat: N passed, M failed`. Exit status 0 only when nothing failed and something passed.
"""

import argparse
import os
import sys
import time
import traceback
import unittest

from . import context, patches, wire
from .server import Keapsake

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Result(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.passed = []
        self.failed = []  # (test, kind, text, exchanges)
        self._mark = 0
        self._t0 = 0.0

    def startTest(self, test):
        super().startTest(test)
        self._mark = wire.mark()
        self._t0 = time.monotonic()

    def _line(self, status, test):
        ms = (time.monotonic() - self._t0) * 1000
        print(f"{status:4} {test.id().removeprefix('tests.')}  ({ms:.0f} ms)", flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed.append(test)
        self._line("ok", test)

    def _fail(self, test, err, kind):
        text = "".join(traceback.format_exception(*err))
        self.failed.append((test, kind, text, wire.since(self._mark)))
        self._line("FAIL", test)
        first = str(err[1]).strip().splitlines()
        print(f"       {err[0].__name__}: {first[0] if first else ''}"[:300], flush=True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._fail(test, err, "failure")

    def addError(self, test, err):
        super().addError(test, err)
        self._fail(test, err, "error")

    def addSkip(self, test, reason):
        # The suite does not skip: anything not exercised counts as a failure.
        super().addSkip(test, reason)
        self.failed.append((test, "skipped", reason, []))
        self._line("FAIL", test)
        print(f"       skipped (counted as failed): {reason}", flush=True)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.passed.append(test)
        self._line("ok", test)

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.failed.append((test, "unexpected success", "", []))
        self._line("FAIL", test)


def _filter(suite, needle):
    out = unittest.TestSuite()
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            out.addTests(_filter(t, needle))
        elif needle in t.id():
            out.addTest(t)
    return out


def main():
    ap = argparse.ArgumentParser(prog="compat/run")
    ap.add_argument("-k", dest="needle", default="", help="only tests whose id contains this")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (database, server log)")
    args = ap.parse_args()

    binary = os.environ.get("KEAPSAKE_BIN") or os.path.join(HERE, "..", "target", "debug", "keapsake")
    server = Keapsake(os.path.abspath(binary))
    passed = failed = 0
    try:
        # One app per client library, so their grants never meet. keap-python uses the published
        # demo app (secret checked by hash); infusionsoft-python a freshly registered one.
        context.apps["keap-python"] = server.demo_app()
        context.apps["infusionsoft-python"] = server.add_app(
            "infusionsoft-python compat", "http://127.0.0.1:8765/infusionsoft-python/callback")
        server.start()
        context.server = server
        print(f"keapsake {server.base} (database {server.database})", flush=True)
        wire.install(server.base)

        loader = unittest.TestLoader()
        suite = loader.discover(os.path.join(HERE, "tests"), top_level_dir=HERE)
        if args.needle:
            suite = _filter(suite, args.needle)
        result = Result()
        suite.run(result)
        passed, failed = len(result.passed), len(result.failed)

        if patches.applied:
            print("\nbase-URL patches applied:")
            for name, old, new in patches.applied:
                print(f"  {name}: {old} -> {new}")
        if wire.rerouted:
            print("requests rerouted from Keap origins (URL literals in library code):")
            for origin, n in sorted(wire.rerouted.items()):
                print(f"  {origin}: {n}")

        for test, kind, text, exchanges in result.failed:
            print(f"\n=== {kind.upper()}: {test.id().removeprefix('tests.')}")
            print(text.rstrip())
            if exchanges:
                print("  HTTP exchanges of this test:")
                for ex in exchanges[-12:]:
                    print(ex)
        if result.failed:
            print(f"\n--- server log (last lines, {server.log_path}) ---")
            print(server.log_tail(25).rstrip())
    except Exception:  # noqa: BLE001 - setup failure: report and count it
        traceback.print_exc()
        print(f"\n--- server log ---\n{server.log_tail(25).rstrip()}")
        failed += 1
    finally:
        wire.uninstall()
        server.stop(keep=args.keep)
        if args.keep:
            print(f"kept {server.tmp}")

    print(f"compat: {passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
