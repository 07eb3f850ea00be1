"""The test harness, written once: waiting (`waiting`), operator processes (`operators`),
manifests (`manifests`), the shared server fixtures (`fixtures`, a pytest plugin registered by
tests/conftest.py), and the per-suite kits of the integration tests.

tests/ is on sys.path (the root conftest's folder), so test files import `harness.<module>`.
"""
