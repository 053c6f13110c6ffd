"""Fixtures live in tests/client/fixtures.py, shared with the other client test directory."""

from tests.client.fixtures import aws_env, client, make_client, server, sleeps  # noqa: F401
