"""Running demixer in production: throttles, probes (/healthz, /readyz), Prometheus metrics and
request logs. Nothing here imports the engine's onnxruntime side: it runs in web processes."""
