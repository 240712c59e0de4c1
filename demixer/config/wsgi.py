"""WSGI entry point (granian serves ``demixer.config.wsgi:application``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demixer.config.settings")

application = get_wsgi_application()
