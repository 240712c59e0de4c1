from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "demixer.exports"
    label = "exports"

    def ready(self) -> None:
        # the render lane: a thread of every worker process (the module loads no onnxruntime)
        from demixer.exports import worker
        from demixer.jobs import loop

        loop.register(loop.Lane("render", worker.take_next, stop_timeout=20.0))
