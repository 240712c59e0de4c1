from django.apps import AppConfig


class SeparationConfig(AppConfig):
    name = "demixer.separation"
    label = "separation"

    def ready(self) -> None:
        from django.conf import settings

        from demixer.engine import registry  # light: no onnxruntime

        registry.configure(settings.MODELS_DIR)
        # connects job_queued to the queue: the services send it and never import the tasks
        from demixer.separation import tasks  # noqa: F401
