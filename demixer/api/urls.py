from django.http import HttpRequest, JsonResponse
from django.urls import re_path
from django.views.decorators.csrf import csrf_exempt

from demixer.api.api import api
from demixer.api.errors import error

app_name = "api"  # ninja reverses its own pages ("api:openapi-json") in this namespace


@csrf_exempt  # a POST without a CSRF token gets this 404, not the HTML "Form expired"
def no_such_endpoint(request: HttpRequest, rest: str) -> JsonResponse:
    """Anything else under /api/v1/ (a stem name no URL takes, ...): JSON, not the HTML 404."""
    return error(404, "not_found", "No such API endpoint.")


urlpatterns = [*api.urls[0], re_path(r"^(?P<rest>[\s\S]*)$", no_such_endpoint)]
