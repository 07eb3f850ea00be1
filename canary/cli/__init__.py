"""The `canary` command line (also `kubectl canary`): `operator`, the local `demo` and
`sandbox`, and the SRE/pipeline commands (`get`, `watch`, `wait`, `check`, `promote`, `abort`,
`pause`, `resume`, `retry`)."""
