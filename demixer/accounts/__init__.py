"""Accounts: landing page and sign-up; login/logout/password pages come from django.contrib.auth."""
