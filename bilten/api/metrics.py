"""`GET /api/metrics`: Prometheus's text exposition of every process on this host.

Open to loopback and private networks, to anyone else with `Authorization: Bearer $METRICS_TOKEN`,
403 otherwise (bilten/observability/access.py). Not counted in the HTTP metrics nor logged.
"""

from __future__ import annotations

import anyio.to_thread
from fastapi import Request, Response

from bilten.api.errors import error_response, request_locale
from bilten.api.routing import api_router
from bilten.i18n import translate
from bilten.observability import metrics, scrape
from bilten.observability.access import may_read_metrics
from bilten.settings import get_settings

router = api_router(tags=["operations"])


@router.get("/api/metrics", include_in_schema=False)
async def read_metrics(request: Request) -> Response:
    allowed = may_read_metrics(
        request.client.host if request.client else None,
        authorization=request.headers.get("authorization"),
        header_names=request.headers.keys(),
        token=get_settings().metrics_token,
    )
    if not allowed:
        return error_response(403, "forbidden", translate("error.forbidden", request_locale(request)))
    body = await anyio.to_thread.run_sync(scrape.exposition)  # a few indexed counts: off the event loop
    return Response(body, media_type=metrics.CONTENT_TYPE)
