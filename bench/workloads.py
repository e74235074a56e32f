"""Workloads that run inside Django, one process each, so each reports its own peak memory.

    python -m bench.workloads campaign --count 7000 --repeat 3
    python -m bench.workloads sweep --count 7000 --repeat 3
    python -m bench.workloads pages --sessions 300 --targets FILE
    python -m bench.workloads dashboard --count 100

The runner starts these with DATABASE_URL pointing at the bench database. Each prints one
JSON object on its last line of output. Times are medians of `--repeat` runs; every run of
the project's code and of its floor commits, like production would.
"""

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

ROLE = (
    "Join the AI initiative's evaluation team. About 30% of the work is labelling and reviewing "
    "model outputs; the rest is tooling. Same grade and pay."
)


# With `python -m bench --profile`: one extra, untimed run of each service under pyinstrument.
PROFILE_DIR = os.environ.get("BENCH_PROFILE_DIR", "")
WARM_UP = 50  # people in the untimed first run of each service


@contextmanager
def profiled(name: str, enabled: bool):
    if not enabled:
        yield
        return
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.001)
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        Path(PROFILE_DIR).mkdir(parents=True, exist_ok=True)
        text = profiler.output_text(unicode=False, color=False)
        (Path(PROFILE_DIR) / f"{name}.txt").write_text(text)


def setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from portal.heap import settle

    settle()  # as portal/wsgi.py does in every web worker: pages are measured as served


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def raw_connection():
    """A plain psycopg connection to the same database: the floor never goes through the ORM."""
    import psycopg
    from django.db import connection

    return psycopg.connect(**connection.get_connection_params())


def spread_employee_ids(count: int) -> list[int]:
    """`count` active employees spread evenly over the whole organisation."""
    from people.models import Employee
    from people.roles import HR_GROUP

    # HR partners are left out: with DEBUG off their pages first ask for a second factor.
    people = Employee.objects.filter(is_active=True).exclude(user__groups__name=HR_GROUP)
    ids = list(people.order_by("pk").values_list("pk", flat=True))
    if len(ids) < count:
        raise SystemExit(f"only {len(ids)} active employees; {count} needed")
    step = len(ids) / count
    return [ids[int(k * step)] for k in range(count)]


def hr_user():
    from django.contrib.auth import get_user_model

    from people.roles import HR_GROUP

    return get_user_model().objects.filter(groups__name=HR_GROUP).order_by("pk").first()


def new_team(label: str):
    from people.models import Team

    tag = uuid.uuid4().hex[:10]
    return Team.objects.create(
        name=f"Bench {label} {tag}", slug=f"bench-{label}-{tag}", kind=Team.Kind.AI_INITIATIVE
    )


def id_tables(conn) -> list[str]:
    rows = conn.execute(
        "SELECT c.table_name FROM information_schema.columns c "
        "JOIN information_schema.tables t USING (table_schema, table_name) "
        "WHERE c.table_schema = 'public' AND c.column_name = 'id' "
        "AND c.data_type IN ('bigint', 'integer') AND t.table_type = 'BASE TABLE'"
    ).fetchall()
    return sorted(r[0] for r in rows)


def max_ids(conn, tables) -> dict[str, int]:
    return {
        t: conn.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{t}"').fetchone()[0] for t in tables
    }


# --- campaign ------------------------------------------------------------------------------


def record_enqueued_tasks() -> list:
    """Note every task sent to the broker from now on (it is still sent)."""
    from celery.app.task import Task

    sent = []
    send = Task.apply_async

    def recording(self, args=None, kwargs=None, **options):
        sent.append((self, args or (), kwargs or {}))
        return send(self, args, kwargs, **options)

    Task.apply_async = recording
    return sent


def campaign(count: int, repeat: int) -> dict:
    """HR sending a campaign to `count` people (`send_campaign`, the /hr/ pages' service) vs
    COPY of exactly the rows it wrote.

    The service writes every notification row in its own transaction (the emails those rows
    owe are delivery, not part of the campaign: their fan-out task stays queued), so its time
    is the whole cost of the campaign.
    """
    from django.utils import timezone

    from assignments.deadlines import minimum_deadline
    from assignments.models import Campaign
    from assignments.services.campaigns import choose_audience, create_campaign, send_campaign
    from people.models import Employee

    actor = hr_user()
    people = spread_employee_ids(count)
    raw = raw_connection()
    tables = id_tables(raw)
    raw.commit()
    sent = record_enqueued_tasks()
    timings, service_timings, cpu_timings, tasks_run = [], [], [], []
    # A small warm-up first: a worker process is warm (imports, caches, broker connection).
    plan = [("warm-up", people[:WARM_UP])] + [("timed", people)] * repeat
    plan += [("profiled", people)] if PROFILE_DIR else []
    for kind, who in plan:
        profiling = kind == "profiled"
        team = new_team("campaign")
        now = timezone.now()
        # HR's own path (the /hr/ campaign pages): a draft with its accountability, an audience
        # chosen, then "Send" - the timed part is the send the background task runs.
        drive = create_campaign(
            actor=actor,
            target_teams=[team],
            now=now,
            name=f"Bench drive {team.slug}",
            description="Staffing the AI initiative; about 30% of the work is data labelling.",
            data_labelling_percent=30,
            role_description=ROLE,
            start_date=timezone.localdate(minimum_deadline(now)) + timedelta(days=21),
            accountable_owner="Harper HR, Head of People",
            assessment_kind=Campaign.Assessment.values[0],
            assessment_reference="DPIA-BENCH-1",
        )
        choose_audience(
            campaign=drive,
            employees=Employee.objects.select_related("team").filter(pk__in=who),
            to_team=team,
            label="bench",
            actor=actor,
        )
        before = max_ids(raw, tables)
        raw.commit()
        sent.clear()
        with profiled(f"campaign-{count}", profiling):
            started, cpu_started = time.perf_counter(), time.process_time()
            created = send_campaign(campaign=drive, actor=actor, now=now) or []
            service_only = time.perf_counter() - started
            queued = list(sent)
            total = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
        if kind == "timed":
            service_timings.append(service_only)
            timings.append(total)
            cpu_timings.append(cpu)
        tasks_run = [task.name for task, _, _ in queued]
        if len(created) != len(who):
            raise SystemExit(f"send_campaign created {len(created)} proposals, not {len(who)}")
        del created
    after = max_ids(raw, tables)
    raw.commit()
    written = {t: after[t] - before[t] for t in tables if after[t] > before[t]}
    floors = [copy_same_rows(raw, written, before) for _ in range(repeat)]
    raw.close()
    return {
        "value": statistics.median(timings),
        "floor": statistics.median(floors),
        "runs": timings,
        # CPU time of this Python process; the rest of the wall time is waiting for the database.
        "python_cpu_runs": cpu_timings,
        "service_only_runs": service_timings,
        "tasks_run": tasks_run,
        "floor_runs": floors,
        "rows_written": written,
        "peak_rss_mb": peak_rss_mb(),
    }


def copy_same_rows(raw, written: dict[str, int], before: dict[str, int]) -> float:
    """Take the rows the service wrote out, then time COPYing them back in one transaction.

    The rows are removed with triggers off (session_replication_role = replica: the ledger
    and move guards refuse DELETE), then triggers and foreign-key checks come back on before
    the timed COPY, so the floor pays for the same constraints the service did.
    """
    dumps = {}
    for table in written:
        with raw.cursor().copy(
            f'COPY (SELECT * FROM "{table}" WHERE id > {before[table]} ORDER BY id) TO STDOUT'
        ) as copy:
            dumps[table] = b"".join(bytes(block) for block in copy)
    raw.commit()
    raw.execute("SET LOCAL session_replication_role = replica")
    for table in written:
        raw.execute(f'DELETE FROM "{table}" WHERE id > {before[table]}')
    raw.execute("SET LOCAL session_replication_role = origin")
    started = time.perf_counter()
    for table, data in dumps.items():
        with raw.cursor().copy(f'COPY "{table}" FROM STDIN') as copy:
            copy.write(data)
    raw.commit()
    return time.perf_counter() - started


# --- sweep ---------------------------------------------------------------------------------


def add_overdue(raw, people: list[int], now) -> int:
    """COPY one overdue pending proposal for each person, into a fresh team (untimed setup)."""
    from consent.ledger import sha256_of

    team = new_team("sweep")
    proposer = hr_user().pk
    teams = dict(
        raw.execute(
            "SELECT id, team_id FROM assignments_employee WHERE id = ANY(%s)", [people]
        ).fetchall()
    )
    deadline = now - timedelta(hours=1)
    created = now - timedelta(days=15)
    start = (now + timedelta(days=14)).date()
    with raw.cursor().copy(
        "COPY assignments_proposal (employee_id, from_team_id, to_team_id, proposed_by_id, kind, "
        "role_description, data_labelling_percent, start_date, response_deadline, state, "
        "terms_version, terms_sha256, created_at) FROM STDIN"
    ) as copy:
        for pk in people:
            terms = sha256_of(f"{pk}:{team.pk}:{ROLE}")
            copy.write_row(
                (pk, teams[pk], team.pk, proposer, "transfer", ROLE, 30, start, deadline,
                 "pending", "1", terms, created)
            )  # fmt: skip
    raw.commit()
    overdue = raw.execute(
        "SELECT COUNT(*) FROM assignments_proposal WHERE state = 'pending' "
        "AND response_deadline < %s",
        [now],
    ).fetchone()[0]
    raw.commit()
    if overdue != len(people):
        raise SystemExit(
            f"{overdue} overdue proposals, {len(people)} expected: the seeded data has aged; "
            "re-seed with `python -m bench --reseed`"
        )
    return team.pk


def sweep(count: int, repeat: int) -> dict:
    """expire_overdue_proposals over `count` overdue proposals vs one UPDATE of such rows."""
    from django.utils import timezone

    from assignments.services import expire_overdue_proposals

    people = spread_employee_ids(count)
    raw = raw_connection()
    timings, floors, cpu_timings = [], [], []
    now = timezone.now()  # warm-up, untimed: a worker process is warm
    add_overdue(raw, people[:WARM_UP], now)
    expire_overdue_proposals(now=now)
    for _ in range(repeat):
        now = timezone.now()
        add_overdue(raw, people, now)
        started = time.perf_counter()
        raw.execute(
            "UPDATE assignments_proposal SET state = 'expired', decided_at = %s "
            "WHERE state = 'pending' AND response_deadline < %s",
            [now, now],
        )
        raw.commit()
        floors.append(time.perf_counter() - started)

        now = timezone.now()
        add_overdue(raw, people, now)
        started, cpu_started = time.perf_counter(), time.process_time()
        expired = expire_overdue_proposals(now=now)
        timings.append(time.perf_counter() - started)
        cpu_timings.append(time.process_time() - cpu_started)
        if len(expired) != count:
            raise SystemExit(f"the sweep expired {len(expired)} proposals, not {count}")
    if PROFILE_DIR:
        now = timezone.now()
        add_overdue(raw, people, now)
        with profiled(f"sweep-{count}", True):
            expire_overdue_proposals(now=now)
    raw.close()
    return {
        "value": statistics.median(timings),
        "floor": statistics.median(floors),
        "runs": timings,
        "python_cpu_runs": cpu_timings,
        "floor_runs": floors,
        "peak_rss_mb": peak_rss_mb(),
    }


# --- pages: sessions for the load generator, and query counts --------------------------------

PAGES = {"inbox": "/inbox/", "proposal": "/proposals/{id}/"}


PROBES, PROBE_FROM = 5, 1000


def probe(client, path: str) -> tuple[str, int]:
    """Status and query count of a page's second request (the first fills per-process caches)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    try:
        client.get(path)
        with CaptureQueriesContext(connection) as captured:
            status = client.get(path).status_code
    except Exception as exc:  # the page crashed: report it, do not hide it
        return f"error: {exc.__class__.__name__}: {exc}"[:200], -1
    return str(status), len(captured)


def pages(sessions: int, targets: str) -> dict:
    """Log in `sessions` employees and write their page URLs for the load generator.

    Also counts the queries each page makes for a few typical people, in this process.
    """
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import Resolver404, resolve

    from assignments.models import Proposal
    from assignments.terms import store_issued
    from people.models import Employee
    from people.roles import HR_GROUP

    present = {}
    for name, pattern in PAGES.items():
        try:
            resolve(pattern.format(id=1))
            present[name] = True
        except Resolver404:
            present[name] = False
    # Query counts come from the same five people at every size: seed_scale derives each
    # person's proposals from their number alone, so their pages show the same things.
    probes = list(
        Employee.objects.filter(is_active=True, pk__gte=PROBE_FROM)
        .exclude(user__groups__name=HR_GROUP)
        .order_by("pk")
        .values_list("pk", flat=True)[:PROBES]
    )
    people = probes + [pk for pk in spread_employee_ids(sessions) if pk not in probes]
    latest = dict(
        Proposal.objects.filter(employee_id__in=people)
        .order_by("employee_id", "-created_at")
        .distinct("employee_id")
        .values_list("employee_id", "pk")
    )
    # The seeder fingerprints every proposal's terms but stores only these pages' documents
    # (untimed setup: the page renders from the stored document, as for any proposal).
    opened = Proposal.objects.filter(pk__in=latest.values()).select_related(
        "employee", "from_team", "to_team", "campaign", "proposed_by__employee"
    )
    stored = store_issued(opened)
    if stored != len(latest):
        raise SystemExit(f"stored terms for {stored} of {len(latest)} proposals: seeder drift")
    users = dict(Employee.objects.filter(pk__in=people).values_list("pk", "user_id"))
    user_objects = get_user_model().objects.in_bulk(list(users.values()))
    queries = {name: [] for name in PAGES}
    statuses = {name: set() for name in PAGES}
    with open(targets, "w") as out:
        for n, pk in enumerate(people):
            client = Client()
            client.force_login(user_objects[users[pk]])
            cookie = f"sessionid={client.cookies['sessionid'].value}"
            paths = {"inbox": "/inbox/", "proposal": f"/proposals/{latest[pk]}/"}
            for name, path in paths.items():
                out.write(f"{name}\t{path}\t{cookie}\n")
                if present[name] and n < len(probes):
                    status, count = probe(client, path)
                    queries[name].append(count)
                    statuses[name].add(status)
    return {
        "present": present,
        "queries": {name: max(counts) if counts else None for name, counts in queries.items()},
        "query_samples": queries,
        "statuses": {name: sorted(map(str, s)) for name, s in statuses.items()},
        "sessions": len(people),
        "peak_rss_mb": peak_rss_mb(),
    }


# --- dashboard: one campaign's HR dashboard vs the aggregate SQL it needs ---------------------

DASHBOARD_REQUESTS = 100  # timed requests of the page, each followed by one run of its SQL


def _pct(values, p):
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))], 2)


def measure_page(path: str, statements: list, requests: int, *, warm: int = 3) -> dict:
    """One HR page through Django's whole stack in this process (session, authentication, the
    MFA check, the view, the template), against its floor: the page's own statements run bare
    on a psycopg connection with the same parameters, interleaved with the page so both see
    the same machine. Both are p95 over `requests` runs after `warm` untimed ones."""
    from allauth.mfa.models import Authenticator
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    actor = hr_user()
    # HR must have a second factor whenever DEBUG is off; a production HR partner has one.
    if not Authenticator.objects.filter(user=actor, type=Authenticator.Type.TOTP).exists():
        Authenticator.objects.create(user=actor, type=Authenticator.Type.TOTP, data={})
    client = Client()
    client.force_login(actor)
    raw = raw_connection()
    raw.autocommit = True
    # Planned on every run, as the page's are: psycopg would prepare them after five runs,
    # which Django (client-side binding) never does, and the floor would skip the planning.
    raw.prepare_threshold = None

    def floor_once() -> float:
        started = time.perf_counter()
        for sql, params in statements:
            raw.execute(sql, params).fetchall()
        return time.perf_counter() - started

    for _ in range(warm):  # caches, compiled templates, connections
        client.get(path)
        floor_once()
    with CaptureQueriesContext(connection) as captured:  # counts even with DEBUG off
        status = client.get(path).status_code
    queries = len(captured)  # now: the next request empties the connection's query log
    page_ms, floor_ms, cpu_ms, statuses = [], [], [], set()
    for _ in range(requests):
        started, cpu = time.perf_counter(), time.process_time()
        statuses.add(client.get(path).status_code)
        page_ms.append((time.perf_counter() - started) * 1000)
        cpu_ms.append((time.process_time() - cpu) * 1000)
        floor_ms.append(floor_once() * 1000)
    raw.close()
    return {
        "value": _pct(page_ms, 95),
        "floor": _pct(floor_ms, 95),
        "page_p50_ms": _pct(page_ms, 50),
        "floor_p50_ms": _pct(floor_ms, 50),
        "python_cpu_ms_p50": _pct(cpu_ms, 50),
        "requests": requests,
        "path": path,
        "queries": queries,
        "floor_statements": len(statements),
        "statuses": sorted(str(s) for s in {status, *statuses}),
        "peak_rss_mb": peak_rss_mb(),
    }


def dashboard(requests: int) -> dict:
    """One campaign's dashboard (/hr/dashboards/campaigns/<id>/) for an HR partner, measured
    by `measure_page` against the aggregate statements it runs."""
    from assignments.models import Proposal
    from reports.permissions import HR_NAMESPACE, Scope
    from reports.selectors import campaign_breakdowns_sql

    # The seeded campaign with the most proposals (about 15,000 at either size).
    campaign_id = (
        Proposal.objects.filter(campaign__isnull=False)
        .values_list("campaign_id", flat=True)
        .order_by("campaign_id")
        .first()
    )
    statements = campaign_breakdowns_sql(Scope(HR_NAMESPACE), campaign_id)
    result = measure_page(f"/hr/dashboards/campaigns/{campaign_id}/", statements, requests)
    result["campaign_id"] = campaign_id
    result["proposals"] = Proposal.objects.filter(campaign_id=campaign_id).count()
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.workloads")
    parser.add_argument(
        "workload",
        choices=["campaign", "sweep", "pages", "dashboard", "hr-overview", "no-adverse"],
    )
    parser.add_argument("--count", type=int, default=7000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--targets", default="")
    args = parser.parse_args(argv)
    setup_django()
    if args.workload == "campaign":
        result = campaign(args.count, args.repeat)
    elif args.workload == "sweep":
        result = sweep(args.count, args.repeat)
    elif args.workload == "dashboard":
        result = dashboard(args.count)
    elif args.workload in ("hr-overview", "no-adverse"):  # bench/hr_dashboards.py
        from bench import hr_dashboards

        result = hr_dashboards.measure(args.workload, args.count)
    else:
        result = pages(args.sessions, args.targets)
    sys.stdout.write("\n" + json.dumps(result, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
