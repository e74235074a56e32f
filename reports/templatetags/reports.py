"""Template filters for the dashboards' tables."""

from django import template
from django.utils.html import format_html_join

register = template.Library()


@register.filter
def cells(pairs) -> str:
    """A row's cells, `<td data-label="column">figure</td>` each, from (column label, Figure)
    pairs. One filter call per row instead of a template loop per cell: a campaign's page has
    hundreds of cells, and this is most of what it costs to draw."""
    return format_html_join(
        "", '<td data-label="{}">{}</td>', ((label, f.html) for label, f in pairs)
    )
