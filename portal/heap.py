"""A web worker's heap, made ready before its first request.

CPython's full garbage collection walks every object it tracks, and a Django process holds
about 165,000 of them once it has started (modules, settings, URL patterns, translation
catalogues, compiled templates). A page that builds a few thousand small lists, such as a
campaign's dashboard with 1,500 teams, brings on a full collection every few requests: a pause
of 70-110 ms each, measured on that dashboard at 100,000 employees, and most of its p95.

`settle` imports the views, compiles the templates and loads the catalogues a request would
otherwise load on first use, then freezes what exists (`gc.freeze`): those objects are never
collected and never walked again, so a full collection only walks what requests have left
behind (1-2 ms).
portal/wsgi.py calls it once per worker; the benchmark's in-process pages call it too, so they
run the way a worker does.
"""

import gc
from pathlib import Path

from django.conf import settings
from django.template.loader import get_template
from django.urls import get_resolver
from django.utils import translation

TEMPLATE_SUFFIXES = (".html", ".txt")


def compile_templates() -> int:
    """Compile (and cache, with Django's cached loader) every template of the project's own
    template folders; the apps' templates compile on first use."""
    compiled = 0
    for engine in settings.TEMPLATES:
        for folder in map(Path, engine.get("DIRS", [])):
            for path in sorted(folder.rglob("*")):
                if path.suffix in TEMPLATE_SUFFIXES and path.is_file():
                    get_template(path.relative_to(folder).as_posix())
                    compiled += 1
    return compiled


def load_catalogues() -> None:
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            translation.gettext("Consent Portal")


def load_urls() -> None:
    """Import every view module (the REST API, SCIM and their schemas come with them) and
    build the reverse lookups, which Django otherwise does on the first request."""
    resolver = get_resolver()
    resolver.reverse_dict  # noqa: B018 (the property builds the lookups)
    for namespace in list(resolver.namespace_dict):
        resolver.namespace_dict[namespace][1].reverse_dict  # noqa: B018


def settle() -> None:
    load_urls()
    compile_templates()
    load_catalogues()
    gc.collect()  # what is garbage now must not be frozen with the rest
    gc.freeze()
