from django.contrib.auth import views as auth_views
from django.urls import include, path

from demixer.accounts import views
from demixer.accounts.forms import LoginForm

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    # before auth.urls so that its "login" is this one: username or email
    path("login/", auth_views.LoginView.as_view(authentication_form=LoginForm), name="login"),
    # before auth.urls too: throttled per client and per address
    path("password_reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("", include("django.contrib.auth.urls")),
]
