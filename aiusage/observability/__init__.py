"""What operators watch: Prometheus metrics (`metrics`, served by `aiusage/web/metrics_route.py`)
and the log output (`logs`)."""
