from django.conf import settings
from django.http import HttpRequest

from demixer.engine.registry import LICENSE_NOTE


def site(request: HttpRequest) -> dict[str, object]:
    return {"site_name": settings.SITE_NAME, "licence_note": LICENSE_NOTE}
