"""Fixtures for the fake provider tests. litellm must be configured offline before import."""

import os

os.environ["LITELLM_OFFLINE_MODE"] = "true"
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ["HF_HUB_OFFLINE"] = "1"

import pytest

from .provider_server import FakeProviderServer


@pytest.fixture(scope="module")
def _provider_server_module():
    with FakeProviderServer() as server:
        yield server


@pytest.fixture
def provider(_provider_server_module: FakeProviderServer) -> FakeProviderServer:
    """A running FakeProviderServer, reset before each test (shared by a module)."""
    _provider_server_module.reset()
    return _provider_server_module
