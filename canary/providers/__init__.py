"""Metric providers by name and the query templates they run.

Import what you need from the submodules: `base` (the Protocol and config), `render` and
`variables` (safe templating), `templates` (built-in PromQL), `registry` (providers by name).
Only `canary.providers.prometheus` may import the Prometheus client library.
"""
