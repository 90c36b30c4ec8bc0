"""Operating Bilten: Prometheus metrics (`metrics`), structured logs (`logging`), the request id
(`context`) and the API middleware that ties them to each request (`middleware`).

Nothing here imports Reflex: services call `metrics` in one line where a business fact commits.
The state event log (`events`) is the only part that knows Reflex.
"""
