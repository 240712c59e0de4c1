from django.apps import AppConfig


class SeparationConfig(AppConfig):
    name = "demixer.separation"
    label = "separation"

    def ready(self) -> None:
        from django.conf import settings

        from demixer.engine import registry  # light: no onnxruntime

        registry.configure(settings.MODELS_DIR)
        # connects job_queued to the queue: the services send it and never import the tasks
        from demixer.jobs.signals import job_ended
        from demixer.separation import services, tasks  # noqa: F401
        from demixer.separation.models import Separation

        job_ended.connect(services.forget_live_pieces, sender=Separation, dispatch_uid="live")
