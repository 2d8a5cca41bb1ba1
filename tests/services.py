"""The old name of tests/harness.py, kept only so that benchmarks/ (outside tests/) still
imports; delete it once they import `tests.harness`. Tests import tests.harness."""

from tests.harness import PostgresServer, RedisServer, SMTPSink

__all__ = ["PostgresServer", "RedisServer", "SMTPSink"]
