"""Version 1 of the JSON API (django-ninja): typed views, an OpenAPI 3 document at
``/api/v1/openapi.json`` and Swagger UI at ``/api/v1/docs`` from static files (the CSP).

Personal tokens (``Authorization: Bearer``) or the site's session; per-token rate limits;
every error is ``{"code", "message"}`` JSON.
"""

from __future__ import annotations

from ninja import NinjaAPI

from demixer.api import downloads, errors, separations, shares, tracks
from demixer.api.auth import SessionAuth, TokenAuth

api = NinjaAPI(
    title="demixer API",
    version="1",
    description=(
        "Upload tracks, separate them into stems and download the results. Authenticate with "
        "a personal token (create one on the site's API tokens page): "
        "`Authorization: Bearer dmx_...`. Errors are JSON `{code, message}`."
    ),
    auth=[TokenAuth(), SessionAuth()],
    urls_namespace="api",
    docs_url="/docs",
)
errors.install(api)
api.add_router("/tracks/", tracks.router)
api.add_router("/separations/", separations.router)
api.add_router("/separations/", shares.router)
api.add_router("/", downloads.router)
