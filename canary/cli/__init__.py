"""The `canary` command line: operator, sandbox, and (later) the SRE/pipeline commands."""
