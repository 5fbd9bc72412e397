"""Schemathesis against the engine's own OpenAPI schema, served by a real running engine.

Every operation of /openapi.json is fuzzed with the token: no 5xx, and every response conforms
to the schema (documented status code, content type, body schema, headers). CI runs a few
examples per operation; `RUNWATCH_FUZZ_EXAMPLES=500 pytest -m slow tests/security` is the long
form. Valid ids are mixed into the generated path parameters (see `_ids`): with only random
ids every request would stop at the 404 of an unknown organization.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import positive_data_acceptance
from schemathesis.core.failures import FailureGroup
from schemathesis.openapi.checks import UndefinedStatusCode

from tests.security.conftest import Seeded, assert_canary, fuzz_examples

EXAMPLES = fuzz_examples(12)
CASES: Counter[str] = Counter()
STATUSES: Counter[int] = Counter()
_LOCK = threading.Lock()

# The contract answers 400 to a made-up paging token or an unknown version id even though the
# schema cannot express "a token this server issued" or "a version of this deployment": a
# string of the right shape is schema-valid, so schemathesis would report "schema-valid request
# rejected" for every such case. That check alone is excluded; all the others run.
EXCLUDED = [positive_data_acceptance]
VERSION_ID = re.compile(r"ver-[0-9a-f]{16}")
_DEPLOYMENT = "/organizations/{organization_id}/deployments/{deployment_id}"


@pytest.fixture(scope="module")
def engine_schema(seeded: Seeded) -> Iterator[Any]:
    engine = seeded.engine
    schema = schemathesis.openapi.from_url(f"{engine.url}/openapi.json")
    valid = {
        "organization_id": engine.organization_id,
        "deployment_id": seeded.deployment_id,
        "run_id": seeded.run_id,
        "version_id": seeded.version_id,
    }

    @schema.hook
    def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
        return _ids(path_parameters, valid)

    @schema.hook
    def filter_query(context: Any, query: dict[str, Any] | None) -> bool:
        return not query or all(_survives_the_wire(value) for value in query.values())

    @schema.hook
    def flatmap_body(context: Any, body: Any) -> Any:
        # Mostly a version of this deployment, so that bodies are tested past that lookup;
        # a version id mutated out of its pattern (a negative case) is kept as it is.
        version = body.get("version_id") if isinstance(body, dict) else None
        if isinstance(version, str) and VERSION_ID.fullmatch(version):
            versions = [seeded.version_id] * 3 + [version]
            return st.sampled_from(versions).map(lambda chosen: {**body, "version_id": chosen})
        return st.just(body)

    yield schema
    assert_canary(engine.data_dir)


def _survives_the_wire(value: Any) -> bool:
    """Whether a generated query value reaches the engine as itself. null, [] and objects are
    sent as no parameter (or other parameters), and ["x"] as plain x: the engine then sees a
    valid request, and schemathesis would call its 200 "schema-violating request accepted".
    Two items or more arrive as a repeated parameter, which the engine refuses."""
    if value is None or isinstance(value, dict):
        return False
    if isinstance(value, list):
        return len(value) >= 2
    return True


def _ids(
    generated: dict[str, Any] | None, valid: dict[str, str]
) -> st.SearchStrategy[dict[str, Any] | None]:
    """Each path id either as generated or the seeded valid one; mostly valid, so that the
    query strings and bodies are tested past the id lookups."""
    if not generated:
        return st.just(generated)
    choices = {
        name: st.sampled_from([valid[name], valid[name], valid[name], value])
        if name in valid
        else st.just(value)
        for name, value in generated.items()
    }
    return st.fixed_dictionaries(choices)


schema = schemathesis.pytest.from_fixture("engine_schema")


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=EXAMPLES <= 20,
)
def test_every_operation_conforms(case: Any, seeded: Seeded) -> None:
    response = case.call_and_validate(headers=seeded.engine.headers, excluded_checks=EXCLUDED)
    with _LOCK:
        CASES[case.operation.label] += 1
        STATUSES[response.status_code] += 1


def test_fuzz_reached_every_operation_and_past_the_ids(seeded: Seeded) -> None:
    """The counts of the fuzz run in this module (printed with -s), and proof it tested more
    than 404s: every operation was called and answered 200 at least once."""
    if not CASES:
        pytest.skip("the fuzz test did not run in this process (-k or xdist split)")
    operations = httpx.get(f"{seeded.engine.url}/openapi.json").json()["paths"]
    count = sum(len(methods) for methods in operations.values())
    print(f"\nschemathesis: {sum(CASES.values())} cases over {len(CASES)} operations")
    for name, number in sorted(CASES.items()):
        print(f"  {number:6d}  {name}")
    print(f"  statuses: {dict(sorted(STATUSES.items()))}")
    assert len(CASES) == count
    assert STATUSES[200] > 0 and not any(code >= 500 for code in STATUSES)


def test_an_undocumented_status_would_be_reported(seeded: Seeded) -> None:
    """The checks are live: with the 404 taken out of the schema, a real 404 fails them."""
    engine = seeded.engine
    raw = httpx.get(f"{engine.url}/openapi.json").json()
    path = "/organizations/{organization_id}/deployments/{deployment_id}"
    del raw["paths"][path]["get"]["responses"]["404"]
    loaded = schemathesis.openapi.from_dict(raw)
    case = loaded[path]["GET"].Case(
        path_parameters={"organization_id": engine.organization_id, "deployment_id": "1"}
    )
    with pytest.raises(FailureGroup) as raised:
        case.call_and_validate(base_url=engine.url, headers=engine.headers)
    assert [type(e) for e in raised.value.exceptions] == [UndefinedStatusCode]


@pytest.mark.long
def test_stateful_sequences_follow_the_links(engine_schema: Any, seeded: Seeded) -> None:
    """Schemathesis walks the OpenAPI links (list deployments -> get/versions/runs; create a
    run -> get it, its logs, its recent logs) with the ids the engine itself returned."""
    headers = seeded.engine.headers
    calls: Counter[str] = Counter()
    answered: Counter[str] = Counter()

    class Machine(engine_schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": headers}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            calls[case.operation.label] += 1
            if response.status_code == 200:
                answered[case.operation.label] += 1
            case.validate_response(response, excluded_checks=EXCLUDED)

    Machine.run(
        settings=settings(
            max_examples=max(EXAMPLES // 2, 5),
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=EXAMPLES <= 20,
        )
    )
    print(f"\nstateful: {sum(calls.values())} calls over {len(calls)} operations")
    for name, number in sorted(calls.items()):
        print(f"  {number:6d}  {name}")
    # The sequences got past the id lookups: runs were created and read back.
    post, get = (f"{m} {_DEPLOYMENT}/runs{s}" for m, s in (("POST", ""), ("GET", "/{run_id}")))
    assert answered[post] > 0 and answered[get] > 0, answered
