"""The public recording endpoint (signed URLs; no login, as clients fetch them from their CRM)."""

from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_GET

from leadline.core import recordings

from .models import CallAttempt


@require_GET
def recording(request: HttpRequest, reference) -> HttpResponseBase:
    reference = str(reference)
    valid = recordings.recording_url_valid(
        reference, request.GET.get("expires", ""), request.GET.get("signature", "")
    )
    if not valid:
        # Expired, forged or erased: the same answer, revealing nothing.
        raise Http404
    attempt = (
        CallAttempt.objects.filter(uuid=reference, lead__erased_at__isnull=True)
        .exclude(recording="")
        .only("recording")
        .first()
    )
    if attempt is None:
        raise Http404
    return recordings.serve(request, attempt.recording)
