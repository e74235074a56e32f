"""HR's pages for data-use purposes (/hr/purposes/): define, edit a draft, publish, draft the
next version. HR needs no Django admin rights; anyone else gets 403 and nothing is read.

Nothing here shows, or links to, anyone's choice: HR reads only the suppressed counts of the
purpose dashboards (/hr/dashboards/purposes/). Views only translate: the rules and every write
are datause.services'.
"""

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from datause import hr_selectors, services
from datause.hr_forms import PurposeForm, apply_service_errors
from people.roles import is_hr
from portal.errors import TransitionError


def hr_only(view):
    """Signed in, and HR; anyone else gets 403 before anything is read."""

    @login_required
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not is_hr(request.user):
            raise PermissionDenied(_("Only HR can define data-use purposes."))
        return view(request, *args, **kwargs)

    return wrapper


def _version(slug, version):
    purpose = hr_selectors.purpose_version(slug, version)
    if purpose is None:
        raise Http404
    return purpose


@hr_only
@require_http_methods(["GET"])
def purposes(request):
    return render(request, "hr/purposes.html", {"rows": hr_selectors.purposes_for_hr()})


@hr_only
@require_http_methods(["GET", "POST"])
def purpose_new(request):
    form = PurposeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            purpose = services.create_purpose(
                actor=request.user, slug=form.cleaned_data["slug"], **form.service_fields()
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request, _("Draft saved. Nobody is asked anything until you publish it.")
            )
            return redirect("hr_purposes:purpose", slug=purpose.slug)
    return render(request, "hr/purpose_form.html", {"form": form, "purpose": None})


@hr_only
@require_http_methods(["GET"])
def purpose_detail(request, slug):
    versions = hr_selectors.versions_of(slug)
    if not versions:
        raise Http404
    newest = versions[0]
    words = hr_selectors.words_of(versions, translation.get_language())
    for purpose in versions:
        purpose.document = words[purpose.pk]
        if not purpose.is_published:
            purpose.missing = services.missing_for_publication(purpose)
    return render(
        request,
        "hr/purpose.html",
        {
            "slug": slug,
            "versions": versions,
            "newest": newest,
            "live": next((p for p in versions if p.is_published), None),
        },
    )


@hr_only
@require_http_methods(["GET", "POST"])
def purpose_edit(request, slug, version):
    purpose = _version(slug, version)
    if purpose.is_published:
        messages.info(request, _("This version is published; its words can no longer change."))
        return redirect("hr_purposes:purpose", slug=slug)
    form = PurposeForm(request.POST if request.method == "POST" else None, instance=purpose)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_purpose_draft(
                purpose=purpose, actor=request.user, **form.service_fields()
            )
        except (ValidationError, TransitionError) as exc:
            apply_service_errors(form, _as_validation_error(exc))
        else:
            messages.success(request, _("Draft saved."))
            return redirect("hr_purposes:purpose", slug=slug)
    return render(request, "hr/purpose_form.html", {"form": form, "purpose": purpose})


def _as_validation_error(exc) -> ValidationError:
    return exc if isinstance(exc, ValidationError) else ValidationError(exc.message)


@hr_only
@require_POST
def purpose_publish(request, slug, version):
    purpose = _version(slug, version)
    try:
        services.publish_purpose(purpose=purpose, actor=request.user)
    except (ValidationError, TransitionError) as exc:
        for message in _as_validation_error(exc).messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            _("Version %(version)s is published. Everyone who decided about an earlier "
              "version is asked again; their earlier answers no longer count.")
            % {"version": purpose.version},
        )  # fmt: skip
    return redirect("hr_purposes:purpose", slug=slug)


@hr_only
@require_POST
def purpose_next_version(request, slug):
    versions = hr_selectors.versions_of(slug)
    if not versions:
        raise Http404
    draft = services.start_next_version(purpose=versions[0], actor=request.user)
    messages.success(
        request,
        _("Draft of version %(version)s: change what you need, then publish it.")
        % {"version": draft.version},
    )
    return redirect("hr_purposes:purpose_edit", slug=slug, version=draft.version)
