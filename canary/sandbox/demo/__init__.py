"""The demo: the whole sandbox around one control plane, and the two stories that `canary demo`,
the end-to-end test and the rollback benchmark all run (v2 promoted, v3 rolled back).

It drives the operator only through the API, as a user would. Nothing is re-exported here, so
that `canary --help` imports only the settings (see `canary.cli.demo`).
"""
