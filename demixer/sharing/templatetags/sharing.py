"""``{% share_panel %}``: the result page's Share panel for the owner (the links made, a form to
make one, the link just made shown once)."""

from __future__ import annotations

from django import template

from demixer.sharing import services
from demixer.sharing.owner import NEW_LINK

register = template.Library()


@register.inclusion_tag("sharing/panel.html", takes_context=True)
def share_panel(context: template.Context) -> dict[str, object]:
    job, request = context["separation"], context["request"]
    new = request.session.get(NEW_LINK)
    if new and new.get("separation") == str(job.id):
        del request.session[NEW_LINK]  # the token is shown this once
    else:
        new = None
    return {
        "separation": job,
        "links": services.links_of(job),
        "expiries": [(key, services.EXPIRY_LABELS[key]) for key in services.EXPIRIES],
        "new_link": new,
        "csrf_token": context.get("csrf_token"),
    }
