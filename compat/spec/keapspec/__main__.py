"""Conformance run: keapsake against Keap's REST v1 OpenAPI document (`compat/spec/run`).

1. Starts keapsake (`serve --demo`, fresh SQLite database, free port) and mints a token.
2. Seeds records through the v1 API (`seed.py`).
3. Decides which of the document's operations keapsake implements: an authenticated request that
   does not answer 501, 405 or 404 `{"message":"Not Found"}` (no route).
4. Copies the document with only those operations, the server URL of the running keapsake, and
   exactly the deviations of compat/SPEC-DEVIATIONS.md applied (`deviations.py`).
5. Generates requests per operation with schemathesis strategies (positive and negative data),
   path ids drawn mostly from the seeded pools, sends each and runs the checks
   not_a_server_error, status_code_conformance, content_type_conformance and
   response_schema_conformance on every response.
6. Prints failures (grouped), the per-operation status table, the request count, the status
   distribution and the 5xx count, and ends with `spec: N passed, M failed` (operations; a run
   below the minimum request count, or whose server died, counts one more failure).
"""

import argparse
import collections
import gzip
import hashlib
import json
import os
import random
import re
import sys
import time
import traceback

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis import checks as st_checks
from schemathesis.specs.openapi import checks as oa_checks

from . import deviations, fixups, selftest
from .rules import EXTRA_CHECKS, ExtraCheckFailed
from .seed import seed

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # compat/spec
COMPAT = os.path.dirname(HERE)
sys.path.insert(0, COMPAT)
from keapcompat.server import DEMO_ACCOUNT, DEMO_CLIENT_ID, DEMO_USER, Keapsake  # noqa: E402

# Keap's v1 document, byte-identical to shared/keap/openapi-v1.json (see README.md), gzipped.
VENDORED = os.path.join(HERE, "openapi-v1.json.gz")
SPEC_SHA256 = "b5f6daae3de9a4e974b6e6421b5ad94b589d1c30963c87ae15ff646ffb37ffb8"

CHECKS = [
    st_checks.not_a_server_error,
    oa_checks.status_code_conformance,
    oa_checks.content_type_conformance,
    oa_checks.response_schema_conformance,
]




def load_spec():
    """Keap's document: $KEAP_OPENAPI_V1 if set, else the vendored copy; checked by SHA-256."""
    path = os.environ.get("KEAP_OPENAPI_V1") or VENDORED
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".gz"):
        data = gzip.decompress(data)
    digest = hashlib.sha256(data).hexdigest()
    if digest != SPEC_SHA256:
        raise RuntimeError(f"{path}: SHA-256 {digest}, expected {SPEC_SHA256} (Keap REST API 1.70.0.872719)")
    return json.loads(data), path


def probe_implemented(spec, base, token):
    """(implemented, excluded): operations keapsake routes, and why each other one is left out."""
    # A new connection for every probe, so no probe depends on how the previous answer left the
    # connection (v1 routes drain unread bodies since rest/v1/body.rs; unknown paths, which most
    # probes of unimplemented operations are, answer from outside that layer).
    headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
    implemented, excluded = [], []
    for path, method, _ in deviations.operations(spec):
        url = base + re.sub(r"\{[^}]+\}", "1", path)
        r = requests.request(method, url, json={} if method in ("post", "put", "patch") else None,
                             headers=headers, timeout=30)
        if r.status_code == 501:
            excluded.append((method, path, "501"))
        elif r.status_code == 405:
            excluded.append((method, path, "405"))
        elif r.status_code == 404 and r.headers.get("content-type", "").startswith("application/json") \
                and r.json() == {"message": "Not Found"}:
            excluded.append((method, path, "404 no route"))
        else:
            implemented.append((method, path))
    return implemented, excluded


def filtered(spec, implemented, base):
    """The document with only the implemented operations and keapsake's server URL."""
    keep = collections.defaultdict(set)
    for method, path in implemented:
        keep[path].add(method)
    out = dict(spec)
    out["servers"] = [{"url": base}]
    out["paths"] = {}
    for path, item in spec["paths"].items():
        if path in keep:
            out["paths"][path] = {k: v for k, v in item.items()
                                  if k not in deviations.METHODS or k in keep[path]}
    return out


class Stats:
    def __init__(self):
        self.by_op = collections.defaultdict(collections.Counter)  # label -> status -> n
        self.modes = collections.Counter()
        self.failures = collections.defaultdict(list)  # label -> [(check, title, detail, exchange)]
        self.bad_requests = collections.defaultdict(collections.Counter)  # label -> (mode, message) -> n
        self.bad_examples = {}  # (label, mode, message) -> first exchange

    @property
    def total(self):
        return sum(sum(c.values()) for c in self.by_op.values())


def short(text, n):
    text = text if isinstance(text, str) else repr(text)
    return text if len(text) <= n else text[: n - 1] + "…"


def exchange(case, response):
    req = response.request
    body = req.body.decode("utf-8", "replace") if isinstance(req.body, bytes) else (req.body or "")
    url = re.sub(r"access_token=[^&]*", "access_token=…", req.url)
    return (f"    > {req.method} {url}\n" + (f"    > {short(body, 600)}\n" if body else "")
            + f"    < {response.status_code} {response.headers.get('content-type', [''])[0] if isinstance(response.headers.get('content-type'), list) else response.headers.get('content-type', '')}\n"
            + f"    < {short(response.content.decode('utf-8', 'replace'), 600)}")


def run_operation(op, mode, n, seed_value, ctx, stats, deadline):
    """Generates up to n cases for op in mode, sends and checks each. Returns requests made."""
    label = op.label
    made = [0]
    strategy = fixups.strategy(op, mode, ctx)
    if strategy is None:
        return 0

    @hypothesis.seed(seed_value)
    @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
    @hypothesis.given(data=st.data())
    def test(data):
        if time.monotonic() > deadline:
            return
        case = data.draw(strategy)
        fixups.fix_case(case, mode, ctx, data)
        made[0] += 1
        stats.modes[mode.value] += 1
        auth = fixups.auth(ctx, data)
        try:
            response = case.call(timeout=30, **auth)
        except requests.RequestException as exc:
            stats.by_op[label]["error"] += 1
            stats.failures[label].append(("transport", type(exc).__name__, str(exc), ""))
            return
        status = response.status_code
        stats.by_op[label][status] += 1
        if status == 400:
            try:
                key = (mode.value, json.loads(response.content).get("message"))
            except (ValueError, AttributeError):
                key = (mode.value, short(response.content, 80))
            stats.bad_requests[label][key] += 1
            stats.bad_examples.setdefault((label,) + key, exchange(case, response))
        for extra in EXTRA_CHECKS:
            try:
                extra(response)
            except ExtraCheckFailed as exc:
                stats.failures[label].append((extra.__name__, exc.title, str(exc), exchange(case, response)))
        for check in CHECKS:
            try:
                case.validate_response(response, checks=[check], headers=auth.get("headers"))
            except BaseExceptionGroup as group:  # FailureGroup
                for exc in group.exceptions:
                    stats.failures[label].append((check.__name__, getattr(exc, "title", type(exc).__name__),
                                                  str(exc), exchange(case, response)))
            except Exception as exc:  # noqa: BLE001 - a single failure
                stats.failures[label].append((check.__name__, getattr(exc, "title", type(exc).__name__),
                                              str(exc), exchange(case, response)))

    try:
        test()
    except hypothesis.errors.Unsatisfiable:
        pass
    except Exception as exc:  # noqa: BLE001
        if "negative" in str(exc).lower() and mode is GenerationMode.NEGATIVE:
            return made[0]
        stats.failures[label].append(("generation", type(exc).__name__, short(traceback.format_exc(), 1500), ""))
    return made[0]


def main():
    ap = argparse.ArgumentParser(prog="compat/spec/run")
    ap.add_argument("--requests", type=int, default=2400, help="generated requests to aim for (default 2400)")
    ap.add_argument("--min-requests", type=int, default=2000, help="fewer generated requests fail the run")
    ap.add_argument("--negative", type=float, default=0.2, help="share of negative (invalid) cases")
    ap.add_argument("--seed", type=int, default=20261129)
    ap.add_argument("--time-budget", type=float, default=240.0, help="seconds for the generated requests")
    ap.add_argument("-k", dest="needle", default="", help="only operations whose label contains this")
    ap.add_argument("--database", metavar="URL", help="run keapsake on this database (e.g. an empty postgres:// "
                    "database) instead of a fresh SQLite file")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (database, server log)")
    ap.add_argument("--show-400", action="store_true", help="print one exchange for each distinct 400")
    ap.add_argument("--write-spec", metavar="FILE", help="write the filtered, deviation-applied document here")
    args = ap.parse_args()
    if args.needle:
        args.min_requests = 0

    binary = os.environ.get("KEAPSAKE_BIN") or os.path.join(COMPAT, "..", "target", "debug", "keapsake")
    server = Keapsake(os.path.abspath(binary))
    if args.database:
        server.database = args.database
    stats = Stats()
    passed = failed = 0
    extra_failures = []
    t0 = time.monotonic()
    try:
        raw, spec_path = load_spec()
        server.start()
        token = json.loads(server.cli("token", "mint", "--app", DEMO_CLIENT_ID, "--user", DEMO_USER,
                                      "--account", DEMO_ACCOUNT, "--json"))["access_token"]
        base = server.base + "/crm/rest"
        print(f"keapsake {server.base} (database {server.database}); schemathesis {schemathesis.__version__}, "
              f"hypothesis {hypothesis.__version__}; seed {args.seed}; document {os.path.relpath(spec_path)}", flush=True)

        # Probe first: its writes (DELETE .../1 among them) must not touch the seeded records.
        implemented, excluded = probe_implemented(raw, base, token)
        why = collections.Counter(reason for _, _, reason in excluded)
        print(f"operations in the document: {len(implemented) + len(excluded)}; implemented: {len(implemented)}; "
              f"left out: " + ", ".join(f"{n} answering {r}" for r, n in sorted(why.items())), flush=True)

        pools = seed(base, token)
        print(f"seeded through the API ({pools.pop('_seed_requests')} requests): "
              + ", ".join(f"{k} {len(v)}" for k, v in pools.items()), flush=True)

        spec, log = deviations.apply(filtered(raw, implemented, base))
        print("deviations applied (compat/SPEC-DEVIATIONS.md):")
        for line in log:
            print(f"  {line}")
        if args.write_spec:
            with open(args.write_spec, "w") as f:
                json.dump(spec, f, indent=1)

        schema = schemathesis.openapi.from_dict(spec)
        schema.config.update(base_url=base)
        checks_ok = selftest.run(schema)
        bad = [d for d, ok in checks_ok if not ok]
        print(f"validator self-test: {len(checks_ok) - len(bad)} of {len(checks_ok)} fabricated responses judged "
              f"as they must be", flush=True)
        for d in bad:
            extra_failures.append(f"validator self-test: {d} (it did not)")
        ops = [r.ok() for r in schema.get_all_operations()]
        ops = [op for op in ops if args.needle in op.label]
        # DELETEs last: they consume the disposable pools and unlink tags.
        ops.sort(key=lambda op: op.method.upper() == "DELETE")
        ctx = fixups.Context(pools=pools, token=token, rng=random.Random(args.seed))

        deadline = time.monotonic() + args.time_budget
        per_op = max(4, args.requests // max(1, len(ops)))
        n_neg = round(per_op * args.negative)
        n_pos = per_op - n_neg
        exhausted = set()
        for i, op in enumerate(ops):
            made = run_operation(op, GenerationMode.POSITIVE, n_pos, args.seed + i, ctx, stats, deadline)
            if made < n_pos:
                exhausted.add(op.label)
            run_operation(op, GenerationMode.NEGATIVE, n_neg, args.seed + 1000 + i, ctx, stats, deadline)
        # Top up from operations whose inputs were not exhausted, until the target is reached.
        round_no = 1
        while stats.total < args.requests and time.monotonic() < deadline and round_no < 20:
            open_ops = [op for op in ops if op.label not in exhausted and op.method.upper() != "DELETE"]
            if not open_ops:
                break
            need = args.requests - stats.total
            each = max(2, need // len(open_ops) + 1)
            for i, op in enumerate(open_ops):
                if stats.total >= args.requests:
                    break
                run_operation(op, GenerationMode.POSITIVE, each, args.seed + 10000 * round_no + i, ctx, stats,
                              deadline)
            round_no += 1

        alive = server.proc.poll() is None
        if not alive:
            extra_failures.append(f"keapsake exited during the run (status {server.proc.returncode})")

        # --- report ------------------------------------------------------------------------------
        print(f"\n{'operation':58} {'requests':>8}  statuses")
        for op in ops:
            c = stats.by_op.get(op.label, collections.Counter())
            mark = "FAIL" if stats.failures.get(op.label) else "ok"
            dist = " ".join(f"{k}:{v}" for k, v in sorted(c.items(), key=lambda kv: str(kv[0])))
            print(f"{mark:4} {op.label:53} {sum(c.values()):8}  {dist}")
        for op in ops:
            fails = stats.failures.get(op.label)
            if fails:
                failed += 1
            else:
                passed += 1
        for label, fails in stats.failures.items():
            groups = collections.OrderedDict()
            for check, title, detail, ex in fails:
                key = (check, title, detail.strip().splitlines()[0] if detail.strip() else "")
                groups.setdefault(key, [0, detail, ex])[0] += 1
            print(f"\n=== FAIL {label}: {len(fails)} check failures, {len(groups)} distinct")
            for (check, title, first), (n, detail, ex) in groups.items():
                print(f"  [{check}] {title} (x{n})")
                for line in short(detail.strip(), 1200).splitlines()[:24]:
                    print(f"      {line}")
                if ex:
                    print(ex)
        print("\n400 answers by operation (mode, message): count")
        for label, msgs in sorted(stats.bad_requests.items()):
            top = ", ".join(f"{m[0][:3]} {short(m[1], 70)!r}: {n}" for m, n in msgs.most_common(4))
            print(f"  {label}: {top}")
            if args.show_400:
                for (mode, msg), n in msgs.most_common():
                    print(f"    --- {mode} {msg!r} x{n}\n{stats.bad_examples[(label, mode, msg)]}")
        if not args.needle and stats.total < args.min_requests:
            extra_failures.append(f"only {stats.total} generated requests (minimum {args.min_requests})")
    except Exception:  # noqa: BLE001 - setup failure: report and count it
        traceback.print_exc()
        extra_failures.append("setup failed")
    finally:
        log_tail = server.log_tail(30) if server.proc else ""
        server.stop(keep=args.keep)
        if args.keep:
            print(f"kept {server.tmp}")

    dist = collections.Counter()
    for c in stats.by_op.values():
        dist.update(c)
    n5xx = sum(v for k, v in dist.items() if isinstance(k, int) and k >= 500)
    for msg in extra_failures:
        print(f"FAIL: {msg}")
        failed += 1
    if failed and log_tail:
        print(f"\n--- server log (last lines) ---\n{log_tail.rstrip()}")
    print(f"\nrequests: {stats.total} generated ({stats.modes['positive']} positive, {stats.modes['negative']} "
          f"negative) in {time.monotonic() - t0:.0f} s")
    print("status distribution: " + ", ".join(f"{k}: {v}" for k, v in sorted(dist.items(), key=lambda kv: str(kv[0]))))
    print(f"5xx responses: {n5xx}")
    print(f"spec: {passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
