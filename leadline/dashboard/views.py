"""Dashboard pages that belong to no single area (the areas have their own packages)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET

from .auth import client_required, permission_required


@client_required
@permission_required("dashboard.view")
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return redirect("dashboard:campaigns")
