from django.conf import settings
from django.http import HttpRequest

from demixer.engine.registry import LICENSE_NOTE


def site(request: HttpRequest) -> dict[str, object]:
    # not "site_name": Django's auth views set that to the request's host and would win
    return {"brand": settings.SITE_NAME, "licence_note": LICENSE_NOTE}
