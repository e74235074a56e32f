"""Build a realistic, large organisation on PostgreSQL for benchmarks (`make bench`).

`seed_scale --employees 100000` (bench/management/commands/, only in bench.settings) gives
100,000 people with managers, 2,000 teams, 20 campaigns, 500,000 proposals in every state
and 1,000,000 consent-ledger records, linked by the ledger's own `Chain`, whose chain verifies.
Every row is streamed into PostgreSQL with COPY, never built in one list, so memory stays
flat whatever the size. Everything is derived from the employee number by a cheap hash, so
two runs at the same size produce the same organisation (apart from timestamps).

The database guards stay on. Ledger rows are only inserted (the trigger refuses UPDATE and
DELETE, not COPY). Moves are inserted while their proposal is still `opted_in` and point at
the employee's own opt-in record, so the move trigger accepts them; only then are those
proposals marked `effective`. Employees are inserted already in the team their move took
them to, so every change of team is backed by a Move.
"""

from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import psycopg
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connection

from assignments.terms import render
from consent import crypto
from consent.ledger import Chain, sha256_of
from consent.terms import document_for
from people.roles import HR_GROUP

SEED_VERSION = 3  # bump when the seeded data changes; 3: terms fingerprinted as documents
PER_EMPLOYEE_PROPOSALS = 5  # 100,000 employees -> 500,000 proposals
PER_SLOT_RECORDS = 2  # 5 slots x 2 -> 10 ledger records per employee -> 1,000,000
TEAM_SIZE = 50  # 100,000 employees -> 2,000 teams
HR_PEOPLE = 5  # employees 1..5 are HR partners
FLUSH_LINES = 2000

ROLES = [
    "Build evaluation tooling for the task force's models. About {p}% of the work is labelling "
    "and reviewing model outputs. Same grade and pay.",
    "Join the data quality rota: curate training sets and label edge cases ({p}% labelling); "
    "the rest is pipeline engineering. Same grade and pay.",
    "Integrate the assistant into internal tools; {p}% of the first quarter is writing and "
    "rating example conversations. Same grade and pay.",
]
PURPOSES = [
    ("keystroke-logging", "Keystroke timing in the IDE, to train code-completion models."),
    ("screen-recording", "Periodic screenshots of work applications, to train UI agents."),
    ("app-usage", "Which applications are used and for how long, to train workflow models."),
    ("code-telemetry", "Accepted and rejected code suggestions, to evaluate assistants."),
    ("meeting-transcripts", "Transcripts of recorded meetings, to train summarisation."),
    ("browser-history", "Work browser history, to train research assistants."),
]
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124"
FIRST = ["Ada", "Ben", "Chen", "Dana", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea"]
LAST = ["Ahmed", "Berg", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Huang", "Ito", "Jones"]


def proposal_terms_sha256(**facts) -> str:
    """The fingerprint of the terms document a seeded proposal's person would be shown.

    The only place the seeder fingerprints proposal terms (`facts` are what
    `assignments.terms.facts_of` takes from a proposal). The document is rendered exactly as
    the portal renders it, but not stored: half a million bodies would dominate the seed.
    `bench.workloads` stores the documents of the proposals its pages open, re-rendered from
    their rows (`assignments.terms.store_issued`, which checks the hash matches).
    """
    return document_for(render(facts, settings.LANGUAGE_CODE), language="").sha256


def mix(i: int, s: int) -> int:
    """A cheap, well-spread 32-bit hash of (employee, slot): deterministic 'randomness'."""
    x = (i * 0x9E3779B1 + s * 0x85EBCA77 + 0x165667B1) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x2C1B3C6D) & 0xFFFFFFFF
    x ^= x >> 12
    x = (x * 0x297A2D39) & 0xFFFFFFFF
    return x ^ (x >> 15)


def esc(value) -> str:
    """One field in PostgreSQL COPY text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


class CopyStream:
    """Buffer lines and hand them to a psycopg COPY in chunks."""

    def __init__(self, copy):
        self.copy = copy
        self.lines = []
        self.count = 0

    def row(self, *fields):
        self.lines.append("\t".join([esc(f) for f in fields]) + "\n")
        if len(self.lines) >= FLUSH_LINES:
            self.flush()

    def flush(self):
        if self.lines:
            self.copy.write("".join(self.lines))
            self.count += len(self.lines)
            self.lines = []


class Org:
    """The shape of the organisation, as pure functions of the employee number (0-based)."""

    def __init__(self, employees: int, now: datetime):
        self.n = employees
        self.teams = max(20, employees // TEAM_SIZE)
        self.campaigns = max(2, employees // 5000)
        self.now = now

    def home(self, i: int) -> int:
        return i * self.teams // self.n

    def to_team(self, i: int, s: int) -> int:
        # Offsets 1..15 from the home team: different for every slot and never the home team.
        return (self.home(i) + 1 + s + 5 * (i % 3)) % self.teams

    def moved(self, i: int) -> bool:
        """A quarter of people accepted their oldest proposal and moved."""
        return i >= HR_PEOPLE and mix(i, 0) % 100 < 25

    def team(self, i: int) -> int:
        return self.to_team(i, 0) if self.moved(i) else self.home(i)

    def manager(self, i: int) -> int | None:
        # Employee 0 leads the company; the first person of each home team leads it; leads of
        # every 20th team are directors reporting to employee 0.
        team = self.home(i)
        lead = self._first_of(team)
        if i != lead:
            return lead
        director = self._first_of(team - team % 20)
        if i != director:
            return director
        return None if i == 0 else 0

    def _first_of(self, team: int) -> int:
        return -(-team * self.n // self.teams)

    def state(self, i: int, s: int) -> str:
        if s == 0 and self.moved(i):
            return "effective"
        r = mix(i, s) % 100
        if s == PER_EMPLOYEE_PROPOSALS - 1 and not self.moved(i) and r < 25:
            return "opted_in"
        r = mix(i, s + 17) % 100
        if r < 27:
            return "pending"
        if r < 54:
            return "opted_out"
        if r < 82:
            return "expired"
        return "withdrawn"


class Seeder:
    """Fills an empty, migrated database; `run()` returns the counts for the summary."""

    def __init__(self, employees: int):
        self.org = Org(employees, datetime.now(UTC).replace(microsecond=0))
        self.params = connection.get_connection_params()
        self.counts = {"teams": self.org.teams, "campaigns": self.org.campaigns}

    def connect(self):
        conn = psycopg.connect(**self.params)
        conn.execute("SET synchronous_commit = off")
        return conn

    def run(self) -> dict:
        with self.connect() as conn:
            self.seed_people(conn)
        moves = self.seed_history()
        with self.connect() as conn:
            self.seed_moves(conn, moves)
            for table in (
                "auth_user",
                "assignments_team",
                "assignments_employee",
                "assignments_campaign",
                "assignments_proposal",
                "assignments_move",
                "consent_consentrecord",
                "consent_subjectkey",
            ):
                conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
                )
        with psycopg.connect(**self.params, autocommit=True) as conn:
            # Set hint bits and statistics now, not during the first timed read.
            conn.execute("VACUUM (ANALYZE)")
        return self.counts

    # --- teams, people, campaigns ---------------------------------------------------------

    def team_name(self, t: int) -> str:
        return f"Team {t + 1:04d}" + (" (AI initiative)" if t % 10 == 0 else "")

    def person_name(self, i: int) -> str:
        return f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]} {i + 1}"

    def campaign_fields(self, c: int) -> tuple[str, str, str]:
        name = f"AI initiative staffing {c + 1}"
        description = (
            f"Campaign {c + 1} staffs AI initiative teams. Part of the work is data labelling; "
            "each proposal says how much. Nobody moves without saying yes."
        )
        return name, description, str(1 + c % 3)

    def seed_people(self, conn):
        org = self.org
        joined = org.now - timedelta(days=900)
        with conn.cursor() as cur:
            with cur.copy(
                "COPY assignments_team (id, name, slug, kind, headcount_target, external_id) "
                "FROM STDIN"
            ) as copy:
                out = CopyStream(copy)
                for t in range(org.teams):
                    out.row(
                        t + 1,
                        self.team_name(t),
                        f"team-{t + 1:04d}",
                        "ai_initiative" if t % 10 == 0 else "regular",
                        TEAM_SIZE + (t % 7),
                        f"T{t + 1:05d}",
                    )
                out.flush()
            with cur.copy(
                "COPY auth_user (id, password, last_login, is_superuser, username, first_name, "
                "last_name, email, is_staff, is_active, date_joined) FROM STDIN"
            ) as copy:
                out = CopyStream(copy)
                for i in range(org.n):
                    first, last = self.person_name(i).split(" ", 1)
                    email = f"person{i + 1}@scale.test"
                    # "!" marks an unusable password: nobody can log in with one.
                    out.row(
                        i + 1, f"!scale{mix(i, 99):08x}", None, False, email, first, last,
                        email, False, True, joined,
                    )  # fmt: skip
                out.flush()
            with cur.copy(
                "COPY assignments_employee (id, user_id, external_id, name, email, title, team_id, "
                "manager_id, is_active, time_zone) FROM STDIN"
            ) as copy:
                out = CopyStream(copy)
                for i in range(org.n):
                    manager = org.manager(i)
                    out.row(
                        i + 1, i + 1, f"E{i + 1:07d}", self.person_name(i),
                        f"person{i + 1}@scale.test",
                        "HR Business Partner" if i < HR_PEOPLE else "Software Engineer",
                        org.team(i) + 1, None if manager is None else manager + 1,
                        i % 200 != 199, "UTC",
                    )  # fmt: skip
                out.flush()
            with cur.copy(
                "COPY assignments_campaign (id, name, slug, description, data_labelling_percent, "
                "response_working_days, terms_version, created_by_id, created_at) FROM STDIN"
            ) as copy:
                out = CopyStream(copy)
                for c in range(org.campaigns):
                    name, description, version = self.campaign_fields(c)
                    out.row(
                        c + 1, name, f"ai-staffing-{c + 1}", description, 10 + 5 * (c % 7), 10,
                        version, c % HR_PEOPLE + 1, org.now - timedelta(days=700 - 30 * c),
                    )  # fmt: skip
                out.flush()
            with cur.copy(
                "COPY assignments_campaign_target_teams (campaign_id, team_id) FROM STDIN"
            ) as copy:
                out = CopyStream(copy)
                ai_teams = list(range(0, org.teams, 10))
                for c in range(org.campaigns):
                    out.row(c + 1, ai_teams[c % len(ai_teams)] + 1)
                out.flush()
        group, _ = Group.objects.get_or_create(name=HR_GROUP)
        conn.commit()
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO auth_user_groups (user_id, group_id) VALUES (%s, %s)",
                [(i + 1, group.pk) for i in range(HR_PEOPLE)],
            )
        conn.commit()

    # --- proposals, their events and the ledger, in time order ------------------------------

    def seed_history(self) -> list[tuple]:
        """Stream proposals, events and ledger records through three COPYs at once.

        Time runs slot by slot (slot 0 is each person's oldest proposal), so ledger ids follow
        recorded_at. Returns the moves to insert once proposals and records are committed.
        """
        org = self.org
        # A data-use purpose's terms are its text; a proposal's go through proposal_terms_sha256.
        purpose_terms = [sha256_of(text) for _, text in PURPOSES]
        campaigns = [self.campaign_fields(c) for c in range(org.campaigns)]
        team_names = [self.team_name(t) for t in range(org.teams)]
        moves = []
        chain = Chain()  # the seeder writes the whole ledger, from the genesis hash on
        record_id = 0
        proposal_count = 0
        window = timedelta(days=100)
        conns = [self.connect() for _ in range(3)]
        with ExitStack() as stack:
            for conn in conns:
                stack.callback(conn.close)
            copies = stack.enter_context(ExitStack())
            p_copy = copies.enter_context(
                conns[0]
                .cursor()
                .copy(
                    "COPY assignments_proposal (id, employee_id, from_team_id, to_team_id, "
                    "proposed_by_id, campaign_id, placement_request_id, kind, role_description, "
                    "data_labelling_percent, start_date, response_deadline, state, terms_version, "
                    "terms_sha256, created_at, decided_at) FROM STDIN"
                )
            )
            e_copy = copies.enter_context(
                conns[1]
                .cursor()
                .copy(
                    "COPY assignments_proposalevent (proposal_id, kind, actor_id, at, detail) "
                    "FROM STDIN"
                )
            )
            l_copy = copies.enter_context(
                conns[2]
                .cursor()
                .copy(
                    "COPY consent_consentrecord (id, subject_id, about_kind, about_id, action, "
                    "terms_sha256, terms_version, actor_id, channel, recorded_at, ip_address, "
                    "user_agent, reason_key_id, reason_ciphertext, seq, format, legacy_hash, "
                    "prev_hash, hash) FROM STDIN"
                )
            )
            proposals, events, ledger = CopyStream(p_copy), CopyStream(e_copy), CopyStream(l_copy)
            # Reasons are sealed like the services seal them: a data key per person who gave
            # one (consent.crypto), its rows copied in before the ledger commits.
            keys: dict[int, tuple[int, bytes, bytes, str]] = {}

            def sealed(user, why):
                if not why:
                    return None, ""
                if user not in keys:
                    data_key, wrapped, master_id = crypto.new_data_key(user)
                    keys[user] = (len(keys) + 1, data_key, wrapped, master_id)
                key_id, data_key, _, _ = keys[user]
                return key_id, crypto.seal(why, data_key=data_key, subject_id=user, key_id=key_id)

            def record(user, about_kind, about_id, action, terms, version, at, web=True, why=""):
                nonlocal record_id
                fields = {
                    "subject_id": user,
                    "about_kind": about_kind,
                    "about_id": str(about_id),
                    "action": action,
                    "terms_sha256": terms,
                    "terms_version": version,
                    "actor_id": user if web else None,
                    "channel": "web" if web else "system",
                    "recorded_at": at,
                    "ip_address": f"10.{user % 250}.{(user // 250) % 250}.{user % 7 + 1}"
                    if web
                    else None,
                    "user_agent": USER_AGENT if web else "",
                }
                fields["reason_key_id"], fields["reason_ciphertext"] = sealed(user, why)
                chain.append(fields)
                record_id += 1
                ledger.row(
                    record_id, user, about_kind, fields["about_id"], action, terms, version,
                    fields["actor_id"], fields["channel"], at, fields["ip_address"],
                    fields["user_agent"], fields["reason_key_id"], fields["reason_ciphertext"],
                    fields["seq"], fields["format"], "", fields["prev_hash"], fields["hash"],
                )  # fmt: skip
                return record_id

            for s in range(PER_EMPLOYEE_PROPOSALS):
                base = org.now - timedelta(days=120 * (PER_EMPLOYEE_PROPOSALS - s))
                for i in range(org.n):
                    pid = s * org.n + i + 1
                    user = i + 1
                    state = org.state(i, s)
                    h = mix(i, s + 31)
                    at = base + window * i / org.n  # this person's decision moment, if any
                    from_team = org.home(i) if s == 0 else org.team(i)
                    to_team = org.to_team(i, s)
                    on_campaign = h % 10 < 6
                    campaign = to_team % org.campaigns if on_campaign else None
                    manager = org.manager(i)
                    proposer = (
                        campaign % HR_PEOPLE + 1 if on_campaign or manager is None else manager + 1
                    )
                    labelling = 10 + 5 * (h % 7)
                    role = ROLES[h % len(ROLES)].format(p=labelling)
                    version = campaigns[campaign][2] if on_campaign else "1"
                    if state == "pending":
                        created = org.now - timedelta(hours=1 + h % 96)
                        deadline = org.now + timedelta(days=20 + h % 40)
                    elif state == "expired":
                        deadline = at - timedelta(hours=1)
                        created = deadline - timedelta(days=14)
                    else:
                        created = at - timedelta(days=1 + h % 9)
                        deadline = created + timedelta(days=14)
                    if state == "opted_in":
                        start = (org.now + timedelta(days=7 + h % 30)).date()
                    else:
                        start = (deadline + timedelta(days=14)).date()
                    terms = proposal_terms_sha256(
                        kind="transfer",
                        proposer=self.person_name(proposer - 1),
                        from_team=team_names[from_team],
                        to_team=team_names[to_team],
                        to_team_is_ai_initiative=to_team % 10 == 0,
                        role_description=role,
                        data_labelling_percent=labelling,
                        start_date=start.isoformat(),
                        campaign=campaigns[campaign][0] if on_campaign else None,
                        campaign_description=campaigns[campaign][1] if on_campaign else None,
                        terms_version=version,
                    )
                    decided = None if state == "pending" else at
                    # Effective proposals go in as opted_in: the move trigger checks that.
                    proposals.row(
                        pid, i + 1, from_team + 1, to_team + 1, proposer,
                        None if campaign is None else campaign + 1, None, "transfer", role,
                        labelling, start, deadline, "opted_in" if state == "effective" else state,
                        version, terms, created, decided,
                    )  # fmt: skip
                    events.row(pid, "proposed", proposer, created, "{}")
                    written = 0
                    if state in ("opted_in", "effective"):
                        rid = record(user, "proposal", pid, "opt_in", terms, version, at)
                        events.row(pid, "opted_in", user, at, "{}")
                        written = 1
                        if state == "effective":
                            moves.append((pid, i + 1, from_team + 1, to_team + 1, rid, start))
                    elif state == "opted_out":
                        if h % 5 < 2:  # accepted first, then took consent back before the start
                            record(user, "proposal", pid, "opt_in", terms, version, at)
                            events.row(pid, "opted_in", user, at, "{}")
                            at2 = at + timedelta(microseconds=1)
                            record(user, "proposal", pid, "withdraw", terms, version, at2)
                            events.row(pid, "consent_withdrawn", user, at2, "{}")
                            written = 2
                        else:
                            why = "I prefer my current team." if h % 3 == 0 else ""
                            record(user, "proposal", pid, "opt_out", terms, version, at, why=why)
                            events.row(pid, "opted_out", user, at, "{}")
                            written = 1
                    elif state == "expired":
                        record(user, "proposal", pid, "expire", terms, version, at, web=False)
                        events.row(pid, "expired", None, at, "{}")
                        written = 1
                    elif state == "withdrawn":
                        if h % 2:
                            record(user, "proposal", pid, "opt_in", terms, version, at)
                            events.row(pid, "opted_in", user, at, "{}")
                            written = 1
                        events.row(pid, "withdrawn", proposer, at, "{}")
                    # Data-use decisions fill each slot up to the same number of records.
                    for k in range(written, PER_SLOT_RECORDS):
                        p = (h + k) % len(PURPOSES)
                        action = "opt_in" if (h >> 8) % 4 == 0 else "opt_out"
                        record(
                            user, "data_use_purpose", PURPOSES[p][0], action, purpose_terms[p], "1",
                            at + timedelta(microseconds=10 + k),
                        )  # fmt: skip
                    proposal_count += 1
            for stream in (proposals, events, ledger):
                stream.flush()
            copies.close()
            with (
                conns[0]
                .cursor()
                .copy(
                    "COPY consent_subjectkey (id, subject_id, wrapped, master_key_id, created_at) "
                    "FROM STDIN"
                ) as copy
            ):
                for user, (key_id, _, wrapped, master_id) in keys.items():
                    copy.write_row([key_id, user, wrapped, master_id, org.now])
            # Events and records point at proposals (and records at keys): commit those first
            # (the checks of the deferred foreign keys run at commit and must see them).
            for conn in (conns[0], conns[2], conns[1]):
                conn.commit()
        self.counts.update(proposals=proposal_count, records=record_id, events=events.count)
        return moves

    def seed_moves(self, conn, moves):
        with conn.cursor() as cur:
            with cur.copy(
                "COPY assignments_move (id, proposal_id, employee_id, from_team_id, to_team_id, "
                "opt_in_record_id, effective_date, applied_at) FROM STDIN"
            ) as copy:
                out = CopyStream(copy)
                for n, (pid, employee, from_team, to_team, rid, start) in enumerate(moves, 1):
                    applied = datetime(start.year, start.month, start.day, 6, tzinfo=UTC)
                    out.row(n, pid, employee, from_team, to_team, rid, start, applied)
                out.flush()
            cur.execute(
                "UPDATE assignments_proposal p SET state = 'effective' FROM assignments_move m "
                "WHERE m.proposal_id = p.id"
            )
            cur.execute(
                "INSERT INTO assignments_proposalevent (proposal_id, kind, actor_id, at, detail) "
                "SELECT m.proposal_id, 'moved', NULL, m.applied_at, "
                "json_build_object('move_id', m.id) FROM assignments_move m"
            )
        conn.commit()
        self.counts["moves"] = len(moves)
