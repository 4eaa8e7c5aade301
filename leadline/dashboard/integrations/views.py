from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from leadline.dashboard.auth import client_required


@client_required
@require_GET
def integrations(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/placeholder.html", {"section": "integrations"})
