"""The in-app notification list and marking read. Times show in the person's zone
(people.middleware.EmployeeTimezoneMiddleware activates it)."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from notifications import services
from notifications.rendering import subject_for
from notifications.selectors import notifications_for


@login_required
@require_GET
def notification_list(request):
    page = Paginator(notifications_for(request.user), 25).get_page(request.GET.get("page"))
    for n in page.object_list:  # in the reader's own zone and language (people.middleware)
        n.title = subject_for(n)
    return render(request, "notifications/list.html", {"page": page})


def _back(request, target: str):
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        # A URL, never a view name: redirect() would try to reverse "inbox" and fail.
        return HttpResponseRedirect(target)
    return redirect("notifications:list")


@login_required
@require_POST
def mark_read(request, pk: int):
    # The body first: one that cannot be read (not UTF-8) is a 400 before anything changes.
    opened, target = request.POST.get("open"), request.POST.get("next", "")
    # Only the recipient's own rows: anyone else's id is a 404.
    notification = get_object_or_404(notifications_for(request.user), pk=pk)
    services.mark_read(user=request.user, notification_id=notification.pk)
    if opened and notification.url:
        return redirect(notification.url)
    return _back(request, target)


@login_required
@require_POST
def mark_all_read(request):
    target = request.POST.get("next", "")  # the body first, as above
    services.mark_all_read(user=request.user)
    return _back(request, target)
