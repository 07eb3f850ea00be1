"""`python -m canary ...` is the `canary` command."""

from canary.cli.app import main

main()
