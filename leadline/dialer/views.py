"""Public dialer endpoints: recordings (signed URLs; no login, as clients fetch them from their
CRM) and telephony providers' status callbacks (an unguessable token per call; no login)."""

import logging

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from leadline.accounts import audit
from leadline.accounts.models import User
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
    _record_play(request, attempt)
    return recordings.serve(request, attempt.recording)


def _record_play(request: HttpRequest, attempt: CallAttempt) -> None:
    """One `recording.play` per play, whoever holds the link (a dashboard user, or anyone the
    client's CRM handed the signed URL to): a player asks for bytes 0- first and then other
    ranges as it seeks, so only the first request counts."""
    if request.headers.get("Range", "bytes=0-").replace(" ", "") not in ("bytes=0-", ""):
        return
    business_id, lead_id = (
        CallAttempt.objects.filter(pk=attempt.pk)
        .values_list("campaign__business_id", "lead__lead_id")
        .get()
    )
    user = request.user
    actor = audit.actor_for_user(user) if isinstance(user, User) else audit.SIGNED_LINK
    audit.audit_record(
        action="recording.play",
        actor=actor,
        business=business_id,
        target=f"call #{attempt.pk}",  # a uuid reads as digit runs, which are masked
        lead_ids=[lead_id] if lead_id else [],
    )


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
