"""Schemathesis against Linde's own OpenAPI document, over HTTP, on both engines.

Two runs per engine: as an admin on both, as a planner on PostGIS and with no token
on SpatiaLite, each a fixed number of examples per operation (``--max-examples``),
never a time budget: the run is judged by what it covered and checked, the same on a
slow machine as on a fast one. Every operation of the document (but ``DELETE``) must
be exercised in the fuzzing phase, every operation that takes input with at least
its full number of fuzzing examples, and the core checks must have run on each. The
coverage phase (every parameter's boundary and out-of-schema values, about 5,000
cases) is deterministic and the same whoever calls, so the admin's run does it, on
every operation; the planner's and the anonymous runs fuzz and walk the stateful
links with their own rights, which is where who calls changes the answers (repeating
the coverage phase for them was 10,000 of the 18,000 cases of an engine's run). Who
may do what is decided by the same Python on either engine, so each of those two
runs on one engine (a third run per engine was 31 s of the suite). The coverage
phase's negative cases (3,900 values outside the schema: wrong types, lengths,
formats, missing parameters) are refused by the same request parsing on either
engine, before any SQL, so they run on SpatiaLite only; its positive cases (boundary
values the schema allows, which reach the database) run on both. The fuzzing and
stateful phases send both kinds on both engines. Every check Schemathesis has must
pass (no 5xx, every status and content type documented, every body matching its
schema, schema-violating input refused, the ``Allow`` of a 405 right, a route
needing a token refusing a request without one), except two:

* ``positive_data_acceptance``: Linde refuses some schema-valid requests on purpose,
  by rules a JSON schema does not state (an edit without ``If-Match`` is 428; a
  meeting needs a place and attendees; a claim must be a valid polygon);
* ``max_response_time`` (10 s unless set): a wall-clock bound, so it failed a PDF
  render that took 18 s while both engines' runs shared two busy cores. No test
  depends on the machine's speed; the renderer bounds its own work
  (``test_renderer``), and speed is measured in ``bench/``.

``DELETE /users/{name}/tokens`` is left out: the stateful phase learns user names
from answers and would revoke the fuzzing admin's own token, after which every
request is a 401 (``test_security`` and ``test_access`` cover that route).
The run's figures are printed (``pytest -s``) for the hardening note.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import METRO_2020, Database

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
#: fuzzing examples per operation, per caller (Schemathesis' --max-examples)
EXAMPLES = {"admin": 20, "planner": 10, "anonymous": 5}
#: who calls on each engine (the module's docstring says why)
CALLERS = {"postgis": ("admin", "planner"), "spatialite": ("admin", "anonymous")}
#: Schemathesis' phases per caller (the module's docstring says why)
PHASES = {
    "admin": ("examples", "coverage", "fuzzing", "stateful"),
    "planner": ("fuzzing", "stateful"),
    "anonymous": ("fuzzing", "stateful"),
}
#: the coverage phase's generation mode per engine (the module's docstring says why),
#: and the kinds of case each one sends
COVERAGE_MODE = {"spatialite": "all", "postgis": "positive"}
COVERAGE_KINDS = {"all": {"positive", "negative"}, "positive": {"positive"}}
#: every check Schemathesis 4 has but the two the module's docstring leaves out
#: (``max_response_time`` is not a choice of ``--exclude-checks``: ``--checks all`` runs it)
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "use_after_free",
    "ensure_resource_availability",
    "ignored_auth",
    "object_level_authorization",
)
#: checks that must have run on every operation's answers, whoever calls
CORE_CHECKS = {
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
}
METHODS = {"get", "put", "post", "patch", "head", "options"}  # DELETE is left out (above)

pytestmark = pytest.mark.fuzz


@pytest.fixture(scope="module")
def fuzzed(engine_kind: str, seeded_database: Any) -> Database:
    """A database of its own: the stateful phase writes claims, disputes, users."""
    database: Database = seeded_database(
        engine_kind,
        "fuzz",
        metro_zones=(METRO_2020,),
        rivers=False,
        roles=("planner", "admin"),
        failed_signins_per_minute=0,
        failed_signins_per_name_per_minute=0,
    )
    return database


@dataclass
class Coverage:
    """What one Schemathesis run did, read from its NDJSON event report."""

    cases: dict[tuple[str, str], int] = field(default_factory=Counter)  # (operation, phase)
    modes: dict[tuple[str, str], int] = field(default_factory=Counter)  # (phase, mode)
    checks: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    failed: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, ndjson: Path) -> Coverage:
        found = cls()
        with ndjson.open(encoding="utf-8") as lines:
            for line in lines:
                event = json.loads(line).get("ScenarioFinished")
                if event is None:
                    continue
                recorder = event["recorder"]
                operation = recorder["label"]
                found.cases[(operation, event["phase"])] += len(recorder.get("cases", {}))
                for case in recorder.get("cases", {}).values():
                    generation = (case["value"].get("meta") or {}).get("generation") or {}
                    found.modes[(event["phase"], str(generation.get("mode")))] += 1
                for checks in recorder.get("checks", {}).values():
                    for check in checks:
                        found.checks[operation][check["name"]] += 1
                        if check["status"] == "failure":
                            found.failed.append(f"{operation}: {check['name']}")
        return found

    def total(self) -> int:
        return sum(self.cases.values())


def _operations(base_url: str) -> dict[str, bool]:
    """Every operation the OpenAPI document declares but DELETE, and whether it takes input."""
    document = httpx.get(f"{base_url}/openapi.json", timeout=30).json()
    found = {}
    for path, item in document["paths"].items():
        shared = bool(item.get("parameters"))
        for method, operation in item.items():
            if method in METHODS:
                takes_input = shared or bool(
                    operation.get("parameters") or operation.get("requestBody")
                )
                found[f"{method.upper()} {path}"] = takes_input
    return found


def _run(database: Database, caller: str, tmp: Path) -> tuple[Coverage, str]:
    if not SCHEMATHESIS.exists() and shutil.which("schemathesis") is None:
        pytest.fail("schemathesis is missing: scripts/setup.sh --test installs it")
    report = tmp / f"{caller}.ndjson"
    # A conditional write (If-Match) is judged before its content (RFC 9110, 13.2.2): a
    # stale or foreign ETag is a 412 whatever the body holds, so 412 rejects bad data too.
    config = tmp / "schemathesis.toml"
    config.write_text(
        "[checks.negative_data_rejection]\n"
        'expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "412",'
        ' "413", "415", "422", "428", "429"]\n'
        "[phases.coverage.generation]\n"
        f'mode = "{COVERAGE_MODE[database.kind]}"\n'
    )
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(config),
        "run",
        f"{database.base_url}/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--exclude-method",
        "DELETE",
        "--max-examples",
        str(EXAMPLES[caller]),
        "--workers",
        "1",  # Hypothesis' lambda-source cache is not thread-safe (runtime errors)
        "--seed",
        "20261123",
        "--suppress-health-check",
        "all",
        "--request-timeout",
        "60",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
    ]
    if caller != "admin":
        command += ["--phases", ",".join(PHASES[caller])]
    if caller != "anonymous":
        command += ["-H", f"Authorization: Bearer {database.tokens[caller]}"]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=tmp,
        check=False,
    )
    output = done.stdout + done.stderr
    assert report.exists(), output[-3000:]
    return Coverage.read(report), output if done.returncode else ""


def test_fuzzing_finds_nothing(fuzzed: Database, tmp_path: Path) -> None:
    operations = _operations(fuzzed.base_url)
    assert len(operations) > 40, sorted(operations)  # the document itself was read
    total = 0
    failures: list[str] = []
    for caller in CALLERS[fuzzed.kind]:
        examples = EXAMPLES[caller]
        run, failed = _run(fuzzed, caller, tmp_path)
        print(
            f"\nschemathesis on {fuzzed.kind} as {caller}: {run.total()} test cases, "
            f"{sum(sum(c.values()) for c in run.checks.values())} checks, "
            f"{len(operations)} operations, {examples} fuzzing examples each"
        )
        total += run.total()
        if failed or run.failed:
            summary = failed[failed.find("=== FAILURES") :] if "=== FAILURES" in failed else failed
            failures.append(f"--- as {caller}: {run.failed[:20]}\n{summary[-6000:]}")
        # what fell short is gathered with the failures: Hypothesis stops fuzzing an
        # operation at its first failure, so a short count is shown beside its cause
        short: list[str] = []
        for operation, takes_input in operations.items():
            if "coverage" in PHASES[caller] and run.cases[(operation, "coverage")] < 1:
                short.append(f"{caller}: {operation} not covered")
            fuzzed_cases = run.cases[(operation, "fuzzing")]
            if fuzzed_cases < (examples if takes_input else 1):
                short.append(
                    f"{caller}: {operation} fuzzed with {fuzzed_cases} examples, not {examples}"
                )
            missing = CORE_CHECKS - set(run.checks[operation])
            if missing:
                short.append(f"{caller}: {operation} never checked for {sorted(missing)}")
        if caller == "admin" and run.cases[("Stateful tests", "stateful")] < 1:
            short.append("admin: no stateful run")
        if caller == "admin":
            modes = {mode for (phase, mode), n in run.modes.items() if phase == "coverage" and n}
            if modes != COVERAGE_KINDS[COVERAGE_MODE[fuzzed.kind]]:
                short.append(f"admin: coverage phase ran {sorted(modes)} cases")
        failures.extend(short)
    print(f"schemathesis on {fuzzed.kind}: {total} test cases in all")
    assert failures == [], "\n".join(failures)
