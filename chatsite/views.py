"""The operator's endpoints: /healthz for a proxy or an orchestrator, /metrics for Prometheus."""

from __future__ import annotations

import hmac

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import View
from prometheus_client import REGISTRY
from prometheus_client.exposition import choose_encoder

from chatsite.health import OK, Check, health_checks_run

METRICS_FORBIDDEN = "Metrics are for staff, or for a scraper with CHAT_METRICS_TOKEN."


class HealthView(View):
    """200 and each check's outcome, or 503 naming the checks that failed. No login, no rate
    limit: cheap enough to poll every second (each check answers within one second)."""

    message_store_ping: Check | None = None  # given by the URL configuration

    async def get(self, request: HttpRequest) -> JsonResponse:
        checks = await health_checks_run(message_store=self.message_store_ping)
        failed = [name for name, outcome in checks.items() if outcome != OK]
        body = {"status": "failing" if failed else "ok", "checks": checks}
        if failed:
            body["failed"] = failed
        response = JsonResponse(body, status=503 if failed else 200)
        response["Cache-Control"] = "no-store"
        return response


def _has_metrics_token(request: HttpRequest) -> bool:
    token = settings.CHAT_METRICS_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if not token or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


async def metrics(request: HttpRequest) -> HttpResponse:
    """This process's metrics in Prometheus' text format, for staff or the metrics token."""
    if not _has_metrics_token(request) and not (await request.auser()).is_staff:
        return HttpResponse(METRICS_FORBIDDEN, status=403, content_type="text/plain")
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))  # as Prometheus asks
    # Off the event loop: a collector may wait for Redis (people per room, when shared).
    response = HttpResponse(await sync_to_async(encode)(REGISTRY), content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response
