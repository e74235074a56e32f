"""The HTTP floor: the cheapest response Django can give through the full middleware stack."""

from django.http import JsonResponse

_BODY = {"status": "ok", "floor": True}


def floor(request):
    return JsonResponse(_BODY)
