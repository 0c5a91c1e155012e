"""What operators see without reading code: Prometheus metrics (``metrics.py``) and log lines as text or JSON
(``logs.py``)."""
