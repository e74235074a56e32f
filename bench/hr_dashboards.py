"""HR's other dashboard pages at scale, measured like the campaign dashboard
(bench.workloads.dashboard): the overview of every campaign (/hr/dashboards/) and "no adverse
consequence" (/hr/dashboards/no-adverse-consequence/), each through Django's whole stack in
one process, against its floor: the page's own aggregate statements run bare on a psycopg
connection with the same parameters, interleaved with the page so both see the same machine.

    python -m bench.workloads hr-overview --count 30
    python -m bench.workloads no-adverse --count 30

Both read every campaign's proposals (about 300,000 at 100,000 employees), so they get fewer
requests than one campaign's page.
"""

from bench.report import dashboard_row

REQUESTS = 30
TARGET = {"p95_ms": 300.0, "ratio": 1.5, "rss_mb": 500.0}
PAGES = {
    # workload name: (path, the reports.selectors function giving the page's statements)
    "hr-overview": ("/hr/dashboards/", "campaigns_with_counts_sql"),
    "no-adverse": ("/hr/dashboards/no-adverse-consequence/", "outcomes_by_answer_sql"),
}


def measure(name: str, requests: int) -> dict:
    """p95 of the page and p95 of its statements run bare, `requests` times each."""
    from bench.workloads import measure_page
    from reports import selectors
    from reports.permissions import HR_NAMESPACE, Scope

    path, statements_of = PAGES[name]
    statements = getattr(selectors, statements_of)(Scope(HR_NAMESPACE))
    return measure_page(path, statements, requests, warm=2)


def result_row(name: str, label: str, result: dict, smaller: dict | None) -> dict:
    return dashboard_row(label, result, smaller, workload=name, target=TARGET)
