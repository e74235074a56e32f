"""Template filters for the dashboards' tables."""

import functools

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from reports.suppression import cell_html

register = template.Library()


@functools.lru_cache(maxsize=1024)
def _attribute(label: str) -> str:
    return escape(label)  # a column's label, the same on every row


@register.filter
def cells(pairs) -> str:
    """A row's cells, `<td data-label="column">figure</td>` each, from (column label, Figure)
    pairs. One filter call per row instead of a template loop per cell: a campaign's page has
    hundreds of cells, and this is most of what it costs to draw."""
    language = get_language()  # once a row, not once a cell
    return mark_safe(
        "".join(
            f'<td data-label="{_attribute(str(label))}">{cell_html(figure, language)}</td>'
            for label, figure in pairs
        )
    )
