from django.urls import path

from demixer.api import account

urlpatterns = [
    path("", account.token_list, name="api-tokens"),
    path("<int:token_id>/revoke/", account.token_revoke, name="api-token-revoke"),
]
