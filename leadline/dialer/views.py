"""Public dialer endpoints: recordings (signed URLs; no login, as clients fetch them from their
CRM) and telephony providers' status callbacks (an unguessable token per call; no login)."""

import logging

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from leadline.core import recordings
from leadline.core.errors import ApiError
from leadline.core.http import json_response

from . import services
from .models import CallAttempt

logger = logging.getLogger(__name__)

NOT_YET = "The recording is not available yet: the provider is still preparing it."
GIVEN_UP = "The recording could not be fetched from the telephony provider"
NONE = "This call has no recording."


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
        .only("recording", "recording_status", "recording_error")
        .first()
    )
    if attempt is None:
        raise Http404
    if not attempt.recording:
        # A signed URL for a call of a real provider whose audio is still on its way (or
        # never came): a clear JSON reason, so a client knows whether to come back.
        status = attempt.recording_status
        if status == CallAttempt.RecordingStatus.PENDING:
            return json_response({"detail": NOT_YET, "status": "pending"}, status=404)
        if status == CallAttempt.RecordingStatus.FAILED:
            reason = attempt.recording_error or "no reason given"
            return json_response(
                {"detail": f"{GIVEN_UP}: {reason}", "status": "failed"}, status=404
            )
        return json_response({"detail": NONE, "status": "none"}, status=404)
    return recordings.serve(request, attempt.recording)


@csrf_exempt
@require_POST
def telephony_callback(request: HttpRequest, token: str) -> HttpResponse:
    """A provider's status or recording callback. Twilio signs the public URL it called, so
    the URL checked is rebuilt from LEADLINE_PUBLIC_URL (what we handed out), not from what a
    proxy in front of us says the host was."""
    url = f"{settings.LEADLINE_PUBLIC_URL}{request.get_full_path()}"
    body = request.body  # read first: multipart parsing then works from the cached body
    params = {key: request.POST.get(key, "") for key in request.POST}
    try:
        attempt = services.call_callback_receive(
            token=token,
            url=url,
            params=params,
            headers=dict(request.headers.items()),
            body=body,
        )
    except ApiError as exc:
        logger.info("telephony callback refused: %s", exc.status)
        return json_response(exc.body(), status=exc.status, headers=exc.headers)
    logger.info("call %s: %s", attempt.uuid, attempt.telephony_status)
    return json_response({"detail": "ok", "status": attempt.telephony_status})
