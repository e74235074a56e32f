"""Load with faults (issue 13, "Robustness"): 200 employees decide through the web app while
the expiry sweep runs, and one Celery worker is killed mid-send and restarted.

Real parts only, all on loopback: the portal under gunicorn (2 sync workers, debug off, the
production settings of tests/deploy/env.py) on the pytest PostgreSQL database; two Celery
workers on the Redis broker, and a third that replaces the killed one; a counting SMTP server
per worker (so the test knows whose send it interrupts, and what the new worker sent); and this
process as 200 browsers, each with its own session cookie, CSRF token and loopback address
(127.0.1.x: the sign-in rate limit counts per address, as it would for real users). What
differs from production, on purpose: plain-HTTP cookies (DJANGO_SECURE_COOKIES=0, the loopback
bench's switch), static files without collectstatic (DJANGO_STATIC_MANIFEST=0), and the test
runner's fast password hasher (tests/conftest.py) in the server, or 200 sign-ins would spend
the run's CPU on PBKDF2.

Each employee signs in, reads their proposal page, opens the confirmation step and posts an
opt-in (with the terms hash the page shows) or an opt-out (half of them with a private reason).
Some decide twice: a double click (two POSTs at the same moment), a resubmitted form, or a
withdrawal of consent after opting in. 30 proposals have deadlines that pass during the run;
their people open the page before the deadline and post around it (seeded, from 3 s before to
1 s after), racing two sweepers: the beat task `assignments.tasks.sweep_deadlines`, queued every
second for the workers, and `expire_overdue_proposals` called directly from this process every
0.3 s (an operator's manual run: no Redis lock, so two sweeps really overlap).

Half-way through the load, worker A is SIGKILLed in the middle of an SMTP DATA command (the
worst moment: a claimed row, an email half-sent) and a new worker starts a second later. The
message comes back after the visibility timeout (5 s here, as in
tests/lifecycle/test_worker_kill.py; production keeps an hour).

Afterwards: no answer was a 5xx or missing, and no error was logged; every accepted decision is
in the ledger exactly once, from that person's own account and address, inside the window; no
proposal has two first decisions; a refusal is only ever "too late" and leaves an expiry; each
state agrees with its newest record; `verify_ledger` passes (chain and workflow cross-check);
every notice is written and sent, each email accepted exactly once, the interrupted one too.
Prints the summary line (and one line of details).

Wall time: 63-92 s measured on 2 cores shared with other test runs (load average 4 to 7):
setup ~15 s (of which ~6 s is this process's first import of the URL conf), load 40-65 s,
drain and checks ~5 s. Most of it is the 1,037 pages the two gunicorn workers render.
"""

import contextlib
import io
import logging
import os
import random
import re
import signal
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
import redis
import requests
from aiosmtpd.controller import Controller
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from requests.adapters import HTTPAdapter

from assignments import services
from assignments.deadlines import minimum_deadline
from assignments.models import Proposal
from assignments.tasks import sweep_deadlines
from consent.ledger import verify_chain
from consent.models import ConsentRecord
from notifications.models import Notification
from people.models import Team
from tests.assignments.helpers import describe
from tests.conftest import make_person
from tests.deploy.env import PYTHON, ROOT, free_port, production_env
from tests.lifecycle.conftest import CountingHandler
from tests.lifecycle.test_worker_kill import Worker

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

EMPLOYEES = 200
RACERS = 30  # of them, with a deadline that passes during the run
SEED = 13
PASSWORD = "pw"  # make_person's; hashed by the test runner's fast hasher
VISIBILITY_TIMEOUT = 5  # seconds; production keeps the default hour
HTTP_TIMEOUT = 60
Action = ConsentRecord.Action
State = Proposal.State

# gunicorn, started the way its console script does, once the settings carry the test runner's
# password hasher. The workers fork from this process and inherit the configured settings.
SERVE = """
import sys
from django.conf import settings
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
from gunicorn.app.wsgiapp import run
sys.argv = ["gunicorn", *sys.argv[1:]]
run()
"""

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
TERMS_FIELD = re.compile(r'name="terms_sha256" value="([0-9a-f]{64})"')
FINGERPRINT = re.compile(r'<p class="hash">([0-9a-f]{64})</p>')
RECEIPT = re.compile(r"/receipts/(\d+)/$")


# --- the browsers -------------------------------------------------------------------------


class _FromAddress(HTTPAdapter):
    """Connections from one loopback address, and no silent retries: a failure is counted."""

    def __init__(self, address: str):
        self.address = address
        super().__init__(pool_connections=1, pool_maxsize=4, max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


@dataclass
class Answer:
    method: str
    path: str
    status: int  # 0: no answer at all (connection error or timeout)
    at: float
    note: str = ""


@dataclass
class Post:
    """One decision POST and what the portal answered."""

    employee: int
    action: str  # opt_in, opt_out, withdraw
    status: int
    record_id: int | None  # the receipt the answer redirected to
    refusal: str = ""
    at: float = 0.0


@dataclass
class Log:
    started: float = field(default_factory=time.monotonic)
    answers: list = field(default_factory=list)  # list.append is atomic: no lock needed
    posts: list = field(default_factory=list)

    def now(self) -> float:
        return time.monotonic() - self.started


class Browser:
    """One person's browser: a session cookie, a CSRF token, one loopback address."""

    def __init__(self, base: str, address: str, log: Log, cookies=None):
        self.base, self.log = base, log
        self.session = requests.Session()
        self.session.mount("http://", _FromAddress(address))
        self.session.headers["User-Agent"] = f"load-test/{address}"
        if cookies is not None:
            self.session.cookies.update(cookies)
        self.token = ""

    def request(self, method: str, path: str, **kwargs) -> requests.Response | None:
        try:
            response = self.session.request(
                method, self.base + path, timeout=HTTP_TIMEOUT, **kwargs
            )
        except requests.RequestException as exc:
            self.log.answers.append(Answer(method, path, 0, self.log.now(), repr(exc)))
            return None
        for hop in (*response.history, response):
            self.log.answers.append(
                Answer(hop.request.method, hop.request.path_url, hop.status_code, self.log.now())
            )
        found = CSRF.search(response.text)
        if found:
            self.token = found.group(1)
        return response

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, data, follow=False):
        data = {"csrfmiddlewaretoken": self.token or self.session.cookies.get("csrftoken"), **data}
        return self.request("POST", path, data=data, allow_redirects=follow)


def _address(i: int) -> str:
    return f"127.0.1.{i + 1}"


# --- the plan -----------------------------------------------------------------------------


@dataclass
class Plan:
    index: int
    email: str
    proposal_id: int
    user_id: int
    decision: str  # opt_in or opt_out
    second: str = ""  # "", "double", "resubmit" or "withdraw"
    reason: str = ""
    racer_deadline: float | None = None  # seconds into the run, for racers
    jitter: float = 0.0


def _plans(people, proposals, racer_offsets) -> list[Plan]:
    rng = random.Random(SEED)
    plans = []
    for i, (person, proposal) in enumerate(zip(people, proposals, strict=True)):
        decision = "opt_in" if rng.random() < 0.6 else "opt_out"
        plan = Plan(i, person.email, proposal.pk, person.user_id, decision)
        if i < RACERS:
            plan.racer_deadline = racer_offsets[i]
            plan.jitter = rng.uniform(-3.0, 1.0)
        else:
            roll = rng.random()
            if roll < 0.08:
                plan.second = "double"
            elif roll < 0.16:
                plan.second = "resubmit"
            elif roll < 0.24 and decision == "opt_in":
                plan.second = "withdraw"
        if decision == "opt_out" and rng.random() < 0.5:
            plan.reason = f"Private reason {i}: I would rather stay on my team."
        plans.append(plan)
    return plans


# --- one person's visit -------------------------------------------------------------------


def _record_id(response) -> int | None:
    if response is None or response.status_code != 302:
        return None
    found = RECEIPT.search(response.headers.get("Location", ""))
    return int(found.group(1)) if found else None


def _refusal(response) -> str:
    if response is None or response.status_code != 409:
        return ""
    found = re.search(r'<p class="notice bad" role="alert">(.*?)</p>', response.text, re.S)
    return " ".join((found.group(1) if found else response.text[-500:]).split())


def _decision_form(browser: Browser, plan: Plan, shown: str):
    """Open the confirmation step; return the form's fields (the page's hash and token)."""
    path = f"/proposals/{plan.proposal_id}/{plan.decision.replace('_', '-')}/"
    page = browser.get(path)
    if plan.decision == "opt_in":
        found = TERMS_FIELD.search(page.text) if page is not None else None
        # The form carries exactly the hash of the terms the page showed; after the deadline
        # the step is gone, and the person posts from the page they still have open.
        if found:
            assert found.group(1) == shown, "the form's hash is not the one the page shows"
        return path, {"terms_sha256": shown}
    return path, {"private_reason": plan.reason}


def _post(browser: Browser, plan: Plan, path: str, data: dict, action: str, log: Log) -> Post:
    response = browser.post(path, data)
    post = Post(
        plan.index,
        action,
        response.status_code if response is not None else 0,
        _record_id(response),
        _refusal(response),
        log.now(),
    )
    log.posts.append(post)
    return post


def _visit(base: str, plan: Plan, log: Log) -> None:
    browser = Browser(base, _address(plan.index), log)
    proposal_path = f"/proposals/{plan.proposal_id}/"
    browser.get(f"/accounts/login/?next={proposal_path}")
    page = browser.post(
        "/accounts/login/",
        {"login": plan.email, "password": PASSWORD, "next": proposal_path},
        follow=True,
    )
    assert page is not None and page.status_code == 200, f"{plan.email} could not sign in"
    assert page.url.endswith(proposal_path), f"{plan.email} signed in to {page.url}"
    [shown] = FINGERPRINT.findall(page.text)  # the fingerprint of the terms on the page
    path, data = _decision_form(browser, plan, shown)
    if plan.racer_deadline is not None:
        # Read until the deadline is close, then answer just before or just after it.
        time.sleep(max(0.0, plan.racer_deadline + plan.jitter - log.now()))
    if plan.second == "double":
        # A double click: two POSTs with the same session at the same moment.
        twin = Browser(base, _address(plan.index), log, cookies=browser.session.cookies)
        twin.token = browser.token
        barrier = threading.Barrier(2)

        def send(b):
            barrier.wait()
            return _post(b, plan, path, data, plan.decision, log)

        with ThreadPoolExecutor(2) as pair:
            list(pair.map(send, (browser, twin)))
        return
    first = _post(browser, plan, path, data, plan.decision, log)
    if plan.second == "resubmit":
        time.sleep(0.5)  # the same form, sent again (a reload that resubmits)
        _post(browser, plan, path, data, plan.decision, log)
    elif plan.second == "withdraw" and first.record_id:
        withdraw = f"/proposals/{plan.proposal_id}/withdraw-consent/"
        browser.get(withdraw)
        _post(browser, plan, withdraw, {"private_reason": ""}, "withdraw", log)


# --- the processes ------------------------------------------------------------------------


class Smtp:
    """A counting SMTP server on its own port (the handler of tests/lifecycle/conftest.py)."""

    def __init__(self):
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command
        self.handler = CountingHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        self.controller.stop()


def _wait(condition, timeout: float, what: str, logs=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    tails = "\n".join(f"--- {p}:\n{p.read_text()[-3000:]}" for p in logs if p.exists())
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{tails}")


class Portal:
    """The web app under gunicorn and the Celery workers, on the pytest database."""

    def __init__(self, tmp: Path):
        (tmp / "static").mkdir()  # served by WhiteNoise from static/ (no collectstatic)
        self.smtp = {name: Smtp() for name in ("a", "b", "a2")}  # one per worker
        self.env = production_env(
            DJANGO_SECURE_COOKIES="0",
            DJANGO_STATIC_MANIFEST="0",
            DJANGO_STATIC_ROOT=str(tmp / "static"),
            GUNICORN_WORKERS="2",
            PORTAL_CHECK_LOG_DIR=str(tmp / "check-log"),
            EMAIL_HOST="127.0.0.1",
            EMAIL_TIMEOUT="10",
            CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
            CELERY_UNACKED_RESTORE_INTERVAL="1",
            CELERY_UNACKED_RESTORE_THROTTLE="1",
        )
        self.server_log = tmp / "gunicorn.log"
        self.worker_log = tmp / "workers.log"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.server = None
        self.workers = {}

    def start_worker(self, name: str) -> Worker:
        env = {**self.env, "EMAIL_PORT": str(self.smtp[name].port)}
        worker = Worker(env, self.worker_log, pool="solo")
        self.workers[name] = worker
        return worker

    def launch(self):
        with self.server_log.open("a") as log:
            self.server = subprocess.Popen(
                [PYTHON, "-c", SERVE, "portal.wsgi:application",
                 "--config", "portal/gunicorn.conf.py", "--bind", f"127.0.0.1:{self.port}",
                 "--no-control-socket"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.start_worker("a")
        self.start_worker("b")

    def wait_until_up(self):
        def healthy():
            assert self.server.poll() is None, self.server_log.read_text()[-3000:]
            try:
                return requests.get(f"{self.base}/healthz", timeout=5).status_code == 200
            except requests.RequestException:
                return False

        _wait(healthy, 90, "gunicorn", [self.server_log])

    def stop(self):
        """Stop everything this test started, each step on its own: one failure must not
        leave a worker consuming the next run's queue."""
        try:
            if self.server is not None and self.server.poll() is None:
                self.server.terminate()
                try:
                    self.server.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(self.server.pid, signal.SIGKILL)  # the master and its workers
                    self.server.wait(timeout=10)
        finally:
            for worker in self.workers.values():
                with contextlib.suppress(Exception):
                    worker.stop()
            for smtp in self.smtp.values():
                with contextlib.suppress(Exception):
                    smtp.stop()


# --- background: the beat and the operator's sweep -----------------------------------------


class Sweeps:
    """Queue the beat's sweep every second; call the expiry service directly every 0.3 s."""

    def __init__(self):
        self.stop = threading.Event()
        self.queued = 0
        self.direct_runs = 0
        self.direct_expired = 0
        self.errors = []
        self.threads = [
            threading.Thread(target=self._beat, daemon=True),
            threading.Thread(target=self._direct, daemon=True),
        ]

    def start(self):
        for thread in self.threads:
            thread.start()

    def _beat(self):
        while not self.stop.wait(1.0):
            try:
                sweep_deadlines.apply_async(expires=10)
                self.queued += 1
            except Exception as exc:  # noqa: BLE001 - counted and asserted on
                self.errors.append(repr(exc))

    def _direct(self):
        try:
            while not self.stop.wait(0.3):
                try:
                    self.direct_expired += len(services.expire_overdue_proposals())
                    self.direct_runs += 1
                except Exception as exc:  # noqa: BLE001 - counted and asserted on
                    self.errors.append(repr(exc))
        finally:
            connection.close()

    def finish(self):
        self.stop.set()
        for thread in self.threads:
            if thread.is_alive():
                thread.join(timeout=30)


# --- the world ----------------------------------------------------------------------------


class World:
    """A manager, 200 reports, and a proposal to the Applied AI task force for each."""

    def __init__(self):
        platform = Team.objects.create(name="Platform", slug="platform")
        self.ai_team = Team.objects.create(
            name="Applied AI", slug="applied-ai", kind=Team.Kind.AI_INITIATIVE
        )
        self.manager = make_person("morgan@example.test", "Morgan Manager", platform)
        self.people = [
            make_person(
                f"load-{i:03d}@example.test", f"Load Person {i:03d}", platform, self.manager
            )
            for i in range(EMPLOYEES)
        ]
        self.role = describe("Evaluate models for the Applied AI task force; 40% data labelling.")
        deadline = minimum_deadline() + timedelta(hours=1)
        self.others = services.propose_transfers(
            items=[self._item(p, deadline) for p in self.people[RACERS:]],
            actor=self.manager.user,
        )

    def _item(self, person, response_deadline):
        return {
            "employee": person,
            "to_team": self.ai_team,
            "role_description": self.role,
            "start_date": timezone.localdate(response_deadline) + timedelta(days=14),
            "response_deadline": response_deadline,
            "data_labelling_percent": 40,
        }

    def propose_to_racers(self, started_at) -> list[float]:
        """The racers' windows opened ten days ago (at least five working days) and close
        during the run, one every 0.7 s from 14 s on, while people are still answering."""
        offsets = [14.0 + 0.7 * i for i in range(RACERS)]
        self.racers = services.propose_transfers(
            items=[
                self._item(p, started_at + timedelta(seconds=offsets[i]))
                for i, p in enumerate(self.people[:RACERS])
            ],
            actor=self.manager.user,
            now=timezone.now() - timedelta(days=10),
        )
        return offsets


def _clean_broker():
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    # A clean queue: no message from an earlier run may reach these workers.
    client.delete("celery", "unacked", "unacked_index", "portal:lock:sweep-deadlines")
    return client


# --- the test -----------------------------------------------------------------------------


def test_200_people_decide_under_load_while_a_worker_is_killed(tmp_path):
    broker = _clean_broker()
    portal = Portal(tmp_path)
    sweeps = Sweeps()
    kill = {"armed": False, "victim": None, "at": None, "how": ""}
    try:
        portal.launch()
        world = World()  # while the processes boot
        portal.wait_until_up()
        # The load starts two seconds from now: the racers' deadlines count from there.
        started_at = timezone.now() + timedelta(seconds=2)
        offsets = world.propose_to_racers(started_at)
        plans = _plans(world.people, world.racers + world.others, offsets)
        time.sleep(max(0.0, (started_at - timezone.now()).total_seconds()))
        log = Log(started=time.monotonic() - (timezone.now() - started_at).total_seconds())
        sweeps.start()

        def on_data(message_id):
            if kill["armed"] and kill["victim"] is None:
                kill["victim"], kill["at"], kill["how"] = message_id, log.now(), "mid-DATA"
                portal.workers["a"].kill_all()
                return "421 4.3.2 shutting down"
            return None

        portal.smtp["a"].handler.on_data = on_data

        racers = [p for p in plans if p.racer_deadline is not None]
        others = [p for p in plans if p.racer_deadline is None]
        done = Counter()

        def visit(plan):
            try:
                _visit(portal.base, plan, log)
            finally:
                done["visits"] += 1

        with (
            ThreadPoolExecutor(len(racers)) as racer_pool,
            ThreadPoolExecutor(12) as pool,
        ):
            futures = [racer_pool.submit(visit, p) for p in racers]
            futures += [pool.submit(visit, p) for p in others]
            # Half-way: arm the kill for worker A's next email; start a new worker after it.
            _wait(lambda: done["visits"] >= EMPLOYEES // 2, 120, "half of the visits")
            kill["armed"] = True
            try:
                _wait(lambda: kill["victim"] is not None, 15, "worker A to send an email")
            except AssertionError:  # A had nothing to send: kill it between tasks instead
                kill["at"], kill["how"] = log.now(), "between tasks"
                portal.workers["a"].kill_all()
            _wait(lambda: portal.workers["a"].process.poll() is not None, 10, "A to die")
            time.sleep(1.0)
            portal.start_worker("a2")
            restarted_at = log.now()
            for future in futures:
                future.result(timeout=180)  # a failed visit's assertion surfaces here
        load_seconds = log.now()

        # Every racer's deadline has passed; the sweeps expire whoever stayed silent.
        _wait(
            lambda: (
                not Proposal.objects.filter(
                    state=State.PENDING, response_deadline__lt=timezone.now()
                ).exists()
            ),
            30,
            "the sweep to expire the silent racers",
        )
        sweeps.finish()
        # Every notice the decisions and the sweeps wrote is sent by the workers.
        _wait(
            lambda: (
                not Notification.objects.filter(
                    email_state=Notification.EmailState.PENDING
                ).exists()
                and broker.llen("celery") == 0
                and broker.hlen("unacked") == 0
            ),
            90,
            "every email to be sent",
            [portal.worker_log],
        )
        time.sleep(1.5)  # a duplicate, if any, would arrive now
        drained_seconds = log.now()
    finally:
        try:
            sweeps.finish()
        finally:
            portal.stop()  # never leave a worker or a server behind
            broker.close()

    # The kill landed in the middle of the load: people kept deciding after it.
    assert kill["at"] < load_seconds and any(p.at > restarted_at for p in log.posts), kill
    summary = _check(plans, log, portal, kill, sweeps)
    sent = {name: sum(smtp.handler.accepted.values()) for name, smtp in portal.smtp.items()}
    assert sent["a2"] > 0, "the restarted worker sent nothing"
    print(
        f"\nload with faults: {EMPLOYEES} employees, {summary['decisions']} decisions "
        f"({summary['opt_in']} opt-in, {summary['opt_out']} opt-out, {summary['withdraw']} "
        f"consent withdrawn), {summary['too_late']} refused as too late, {summary['repeats']} "
        f"repeats recognised, {summary['lost']} lost, {summary['duplicated']} duplicated, "
        f"{summary['server_errors']} server errors, worker killed at {kill['at']:.1f} s "
        f"({kill['how']}) and restarted at {restarted_at:.1f} s"
        f"\n  {len(log.answers)} answers in {load_seconds:.1f} s; {summary['emails']} emails, "
        f"each accepted once (worker A {sent['a']}, B {sent['b']}, restarted A {sent['a2']}), "
        f"all sent {drained_seconds:.1f} s in; sweeps: {sweeps.queued} queued for the workers, "
        f"{sweeps.direct_runs} run directly ({sweeps.direct_expired} proposals expired by those)"
    )


def _check(plans, log, portal, kill, sweeps) -> dict:
    by_index = {p.index: p for p in plans}
    # No server error, no request without an answer, no failed background sweep.
    server_errors = [a for a in log.answers if a.status >= 500 or a.status == 0]
    assert not server_errors, server_errors[:10]
    for path in (portal.server_log, portal.worker_log):  # no error logged, no task failed
        problems = [x for x in path.read_text().splitlines() if "ERROR" in x or "Traceback" in x]
        assert not problems, (path.name, problems[:5])
    assert not sweeps.errors, sweeps.errors[:5]

    records = list(
        ConsentRecord.objects.filter(about_kind=services.PROPOSAL).values(
            "id",
            "about_id",
            "action",
            "subject_id",
            "actor_id",
            "ip_address",
            "channel",
            "recorded_at",
        )
    )
    by_id = {r["id"]: r for r in records}
    per_proposal = {}
    for r in sorted(records, key=lambda r: r["id"]):
        per_proposal.setdefault(int(r["about_id"]), []).append(r)

    # Every answer is either an accepted decision (a redirect to its receipt) or a refusal
    # in words: nothing else.
    accepted = {}  # record id -> the posts that were answered with it
    too_late = 0
    for post in log.posts:
        plan = by_index[post.employee]
        if post.status == 302:
            assert post.record_id, post
            accepted.setdefault(post.record_id, []).append(post)
        else:
            assert post.status == 409, post
            assert plan.racer_deadline is not None, f"refused without a deadline: {post}"
            assert "expired" in post.refusal, post
            too_late += 1

    lost = duplicated = 0
    for record_id, posts in accepted.items():
        plan = by_index[posts[0].employee]
        record = by_id.get(record_id)
        expected = {"opt_in": Action.OPT_IN, "opt_out": Action.OPT_OUT, "withdraw": Action.WITHDRAW}
        if (
            record is None
            or int(record["about_id"]) != plan.proposal_id
            or record["subject_id"] != plan.user_id
            or record["action"] != expected[posts[0].action]
        ):
            lost += 1
            continue
        # From that person's own session: their account, their address, the web.
        assert record["actor_id"] == plan.user_id and record["channel"] == "web", record
        assert record["ip_address"] == _address(plan.index), record

    first_decisions = (Action.OPT_IN, Action.OPT_OUT, Action.EXPIRE)
    states = dict(Proposal.objects.values_list("pk", "state"))
    deadlines = dict(Proposal.objects.values_list("pk", "response_deadline"))
    newest_means = {
        Action.OPT_IN: State.OPTED_IN,
        Action.OPT_OUT: State.OPTED_OUT,
        Action.WITHDRAW: State.OPTED_OUT,
        Action.EXPIRE: State.EXPIRED,
    }
    counts = Counter()
    for plan in plans:
        mine = per_proposal.get(plan.proposal_id, [])
        actions = [r["action"] for r in mine]
        # One winner: exactly one first decision (the person's, or the sweep's expiry).
        winners = [a for a in actions if a in first_decisions]
        duplicated += max(0, len(winners) - 1) + sum(n - 1 for n in Counter(actions).values())
        assert len(winners) == 1, (plan, mine)
        # The person's answer counts only inside the window; silence only after it.
        [first] = [r for r in mine if r["action"] in first_decisions]
        if first["action"] == Action.EXPIRE:
            assert first["recorded_at"] > deadlines[plan.proposal_id], (plan, first)
        else:
            assert first["recorded_at"] <= deadlines[plan.proposal_id], (plan, first)
        assert states[plan.proposal_id] == newest_means[actions[-1]], (plan, mine)
        # Nothing in the ledger that no answer accounts for (the sweep's expiries aside).
        for r in mine:
            if r["action"] != Action.EXPIRE and r["id"] not in accepted:
                lost += 1  # a decision the person was never told about
        mine_posts = [p for p in log.posts if p.employee == plan.index]
        if plan.racer_deadline is None:
            assert winners == [plan.decision], (plan, mine, mine_posts)
        elif winners == [plan.decision]:
            assert [p.status for p in mine_posts] == [302], (plan, mine_posts)
        else:
            assert winners == [Action.EXPIRE], (plan, mine, mine_posts)
            # Silence, or too late: every answer was a refusal, and nothing else was recorded.
            assert all(p.status == 409 for p in mine_posts), (plan, mine_posts)
        if plan.second in ("double", "resubmit"):
            # The second POST is recognised as the same decision: the same receipt, no record.
            assert [p.status for p in mine_posts] == [302, 302], mine_posts
            assert len({p.record_id for p in mine_posts}) == 1, mine_posts
            counts["repeats"] += 1
        if plan.second == "withdraw":
            assert actions == [Action.OPT_IN, Action.WITHDRAW], (plan, mine)
        for a in actions:
            counts[a] += 1
    assert lost == 0 and duplicated == 0, (lost, duplicated)

    # The ledger's own checks: the hash chain, and every workflow state against its record.
    report = verify_chain()
    assert report.intact, report
    out = io.StringIO()
    call_command("verify_ledger", stdout=out)  # raises CommandError naming what disagrees
    total = ConsentRecord.objects.count()
    assert out.getvalue().startswith(f"ledger intact: {total} records verified"), out.getvalue()

    emails = _check_emails(portal, kill, plans, per_proposal)
    return {
        "decisions": counts[Action.OPT_IN] + counts[Action.OPT_OUT] + counts[Action.WITHDRAW],
        "opt_in": counts[Action.OPT_IN],
        "opt_out": counts[Action.OPT_OUT],
        "withdraw": counts[Action.WITHDRAW],
        "repeats": counts["repeats"],
        "too_late": too_late,
        "lost": lost,
        "duplicated": duplicated,
        "server_errors": len(server_errors),
        "emails": emails,
    }


def _check_emails(portal, kill, plans, per_proposal) -> int:
    notifications = list(Notification.objects.values_list("dedupe_key", "email_state"))
    states = Counter(state for _, state in notifications)
    unsent = Notification.objects.exclude(email_state=Notification.EmailState.SENT)
    assert set(states) == {Notification.EmailState.SENT}, (
        states,
        list(unsent.values_list("dedupe_key", "email_attempts", "email_error")[:5]),
    )
    keys = {key for key, _ in notifications}
    # The notices the decisions and the sweeps had to write, each exactly once.
    for plan in plans:
        assert f"proposal_arrived:{plan.proposal_id}" in keys
        for record in per_proposal[plan.proposal_id]:
            if record["action"] == Action.EXPIRE:
                assert f"proposal_expired:{plan.proposal_id}" in keys
            else:
                assert f"decision_receipt:{record['id']}" in keys
                assert f"proposal_decided:{record['id']}" in keys
    # Every email was accepted by an SMTP server exactly once, across all three.
    accepted, attempted = Counter(), Counter()
    for smtp in portal.smtp.values():
        # A long Message-ID is folded onto a second header line: unfold it.
        accepted.update({_unfold(k): n for k, n in smtp.handler.accepted.items()})
        attempted.update({_unfold(k): n for k, n in smtp.handler.attempted.items()})
    expected = {f"<{key.replace(':', '.')}@consent-portal>" for key in keys}
    assert set(accepted) == expected, (len(accepted), len(expected))
    assert set(accepted.values()) == {1}, [k for k, n in accepted.items() if n > 1][:10]
    if kill["victim"] is not None:
        # The email the killed worker was sending came back and went out once.
        victim = _unfold(kill["victim"])
        assert attempted[victim] >= 2 and accepted[victim] == 1, kill
    return len(accepted)


def _unfold(message_id: str) -> str:
    return "".join(message_id.split())
