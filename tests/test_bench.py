"""`facet bench` end to end on a tiny catalog for 1 s per route, so its machinery (seeding,
the reference and Facet servers, the wrk scripts or the httpx stand-in, the report) cannot
rot. The figures themselves are never asserted: speed belongs to the printed table."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.bench import (
    DEFAULT_PG_URL,
    BenchError,
    Call,
    Measurement,
    Options,
    Scenario,
    SizeResult,
    facet_env,
    run,
    run_httpx,
    running_uvicorn,
    verdicts,
)
from app.bench_reference import REFERENCE_PATH

SCENARIOS = {"list", "filtered", "detail", "cart", "checkout"}


def test_the_bench_measures_every_route_and_prints_every_target(
    capsys: pytest.CaptureFixture[str],
) -> None:
    options = Options(workers=1, connections=4, duration=1, warmup=0)

    (result,) = run(sizes=[12], databases=["sqlite"], database_url=DEFAULT_PG_URL, options=options)

    assert set(result.measurements) == SCENARIOS | {
        "list_uncached",
        "filtered_uncached",
        "detail_uncached",
    }
    for measured in [result.reference, *result.measurements.values()]:
        assert measured.requests > 0, measured
        assert measured.errors == 0, measured
    checkout = result.measurements["checkout"]
    assert checkout.flows > 0
    assert checkout.flow_errors == 0
    assert result.rss_mb_per_worker
    assert all(mb > 0 for mb in result.rss_mb_per_worker)
    out = capsys.readouterr().out
    assert "- commit: " in out
    assert "- machine: " in out
    for verdict in verdicts([result]):
        assert f"| {verdict.figure} | {verdict.target} | {verdict.measured} |" in out


def test_the_httpx_stand_in_drives_a_server_when_wrk_is_missing(tmp_path: Path) -> None:
    env = facet_env(f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}", tmp_path)
    scenario = Scenario("reference", "reference", (Call("GET", REFERENCE_PATH),))
    with running_uvicorn(
        "app.bench_reference:create_app", env, tmp_path / "ref.log", workers=1
    ) as (base_url, _):
        measured = run_httpx(
            base_url, scenario, Options(connections=2, duration=1, warmup=0, client="auto")
        )

    assert measured.requests > 0
    assert measured.errors == 0
    assert measured.client == "httpx (wrk not found)"


def _measured(key: str, rps: float, p50_ms: float, p99_ms: float, **flows: int) -> Measurement:
    return Measurement(key, key, "wrk", int(rps * 10), 0, 10.0, p50_ms, p99_ms, **flows)


def _size(products: int, list_rps: float, list_p50: float) -> SizeResult:
    result = SizeResult("PostgreSQL", products, 1.0, "", _measured("reference", 1000, 2, 5))
    for key in SCENARIOS | {"list_uncached", "filtered_uncached", "detail_uncached"}:
        result.measurements[key] = _measured(key, 700, 4, 20)
    result.measurements["list"] = _measured("list", list_rps, list_p50, 20)
    result.measurements["checkout"] = _measured("checkout", 700, 4, 20, flows=1600)
    result.rss_mb_per_worker = [120.0, 130.0]
    return result


def test_targets_are_judged_as_ratios_to_the_reference_and_across_sizes() -> None:
    small, large = _size(300, 700, 4), _size(100_000, 300, 8)

    judged = {v.figure: v for v in verdicts([small, large])}

    assert judged["PostgreSQL 300: list"].passed
    assert judged["PostgreSQL 300: list"].measured == "0.70x"
    assert not judged["PostgreSQL 100,000: list"].passed  # 0.30x of the reference
    assert judged["PostgreSQL 100,000: checkout + pay"].passed  # 160 orders/s, no errors
    assert judged["PostgreSQL 100,000: resident memory per worker"].passed
    across = judged["PostgreSQL 100,000 vs 300: list p50 latency"]
    assert (across.measured, across.passed) == ("2.00x", False)


def test_the_bench_refuses_to_wipe_a_database_not_named_for_benchmarks() -> None:
    with pytest.raises(BenchError, match="refusing to wipe"):
        run(
            sizes=[10],
            databases=["postgresql"],
            database_url="postgresql+asyncpg://postgres@127.0.0.1:5432/facet",
            options=Options(),
        )
