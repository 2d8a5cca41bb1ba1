"""API latency: the timeline paged with its cursor, a note posted, the FHIR export.

Seeds one client whose team (therapist, psychiatrist, dietitian) has N entries of several
kinds (through the services, so audit rows and alerts are written as in production), then
times requests through the WSGI app in this process (no network) and counts their SQL
statements. Run from the repository root (see benchmarks/README.md):

    .venv/bin/python benchmarks/api.py --entries 5000 --backend postgresql
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import event  # noqa: E402

from careteam import create_app  # noqa: E402
from careteam.enums import Discipline, NutritionType, Visibility  # noqa: E402
from careteam.extensions import db  # noqa: E402
from careteam.nutrition.services import post_update  # noqa: E402
from careteam.record.services import post_note  # noqa: E402
from tests.factories import add_member, bearer, make_client, make_provider, make_token  # noqa: E402
from tests.harness import PostgresServer  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=2000, help="entries on the record")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--page", type=int, default=100, help="timeline page size (max 100)")
    parser.add_argument("--posts", type=int, default=50, help="notes posted for the timing")
    return parser.parse_args()


def seed(n: int):
    lead = make_provider(Discipline.THERAPIST)
    diet = make_provider(Discipline.DIETITIAN)
    make_provider(Discipline.PSYCHIATRIST)
    record = make_client(lead)
    add_member(record, diet, lead)
    for i in range(n):
        if i % 4 == 3:
            post_update(
                actor=diet,
                client=record,
                update_type=NutritionType.WEIGHT,
                weight_kg=Decimal("60") + Decimal(i % 50) / 10,
                measured_on=date.today() - timedelta(days=i % 300),
                blind=i % 8 == 7,
            )
        else:
            visibility = [Visibility.TEAM, Visibility.CLIENT, Visibility.PRIVATE][i % 3]
            post_note(actor=lead, client=record, body=f"Note {i}", visibility=visibility)
    return record.id, make_token(lead)


class Counter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *args) -> None:
        self.count += 1


def timed(call) -> tuple[float, int, object]:
    counter = Counter()
    event.listen(db.engine, "before_cursor_execute", counter)
    started = time.perf_counter()
    try:
        result = call()
    finally:
        event.remove(db.engine, "before_cursor_execute", counter)
    return (time.perf_counter() - started) * 1000, counter.count, result


def summary(name: str, millis: list[float], queries: set[int]) -> None:
    p95 = sorted(millis)[max(0, int(len(millis) * 0.95) - 1)]
    print(
        f"{name}: {len(millis)} requests, median {statistics.median(millis):.1f} ms, "
        f"p95 {p95:.1f} ms, SQL statements per request {sorted(queries)}"
    )


def main() -> int:
    args = parse_args()
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="careteam-bench-")))
        if args.backend == "postgresql":
            database_url = stack.enter_context(PostgresServer(dbname="careteam_bench")).url
        else:
            database_url = f"sqlite:///{tmp / 'bench.sqlite'}"
        app = create_app(
            {
                "SECRET_KEY": "benchmark-secret-key-not-for-production",
                "SQLALCHEMY_DATABASE_URI": database_url,
                "ALERT_RELAY": "off",
                "RATELIMIT_ENABLED": False,
                "CELERY": {"broker_url": f"sqla+sqlite:///{tmp / 'broker.sqlite'}"},
            }
        )
        stack.callback(app.extensions["celery"].close)
        with app.app_context():
            # The schema as production gets it: the migrations, never create_all.
            upgrade(directory=str(REPO_ROOT / "migrations"))
            started = time.perf_counter()
            client_id, token = seed(args.entries)
            print(
                f"backend {args.backend}: {args.entries} entries seeded through the services "
                f"in {time.perf_counter() - started:.1f} s"
            )
        http = app.test_client()
        headers = bearer(token)
        base = f"/api/v1/clients/{client_id}"

        with app.app_context():
            millis, queries, cursor, items = [], set(), None, 0
            while True:
                url = f"{base}/timeline?limit={args.page}" + (
                    f"&cursor={cursor}" if cursor else ""
                )
                ms, n, response = timed(lambda url=url: http.get(url, headers=headers))
                assert response.status_code == 200, response.get_json()
                page = response.get_json()
                millis.append(ms)
                queries.add(n)
                items += len(page["items"])
                cursor = page["next_cursor"]
                if not cursor:
                    break
            summary(
                f"GET timeline, pages of {args.page} ({items} entries in all)", millis, queries
            )

            millis, queries = [], set()
            for i in range(args.posts):
                ms, n, response = timed(
                    lambda i=i: http.post(
                        f"{base}/notes", json={"body": f"Benchmark note {i}"}, headers=headers
                    )
                )
                assert response.status_code == 201, response.get_json()
                millis.append(ms)
                queries.add(n)
            summary("POST note", millis, queries)

            millis, queries, size = [], set(), 0
            for _ in range(5):
                ms, n, response = timed(
                    lambda: http.get(f"/fhir/r4/Patient/{client_id}/$everything", headers=headers)
                )
                assert response.status_code == 200
                millis.append(ms)
                queries.add(n)
                size = len(response.get_data())
            summary(f"GET FHIR $everything ({size / 1024:.0f} KiB)", millis, queries)
    return 0


if __name__ == "__main__":
    sys.exit(main())
