"""The one scrubber: pieces of configured keys (6+ characters, anywhere, split or partial) and
common key shapes are masked, before any truncation; ordinary error text survives."""

from __future__ import annotations

import pytest

from engine.llm.failures import classify
from engine.scrub import MASK, remember_names, remember_value, scrub

KEY = "mk-Q7vX2pL9zR4wT8yB3nK6jH1cF5dS0aG"


def pieces(key: str, n: int = 6) -> list[str]:
    return [key[i : i + n] for i in range(len(key) - n + 1)]


def leaked(text: str, key: str = KEY) -> list[str]:
    return [p for p in pieces(key) if p in text]


@pytest.fixture
def env() -> dict[str, str]:
    return {"OPENAI_API_KEY": KEY, "HOME": "/home/someone", "PATH": "/usr/bin:/bin"}


@pytest.mark.parametrize(
    "text",
    [
        f"Incorrect API key provided: {KEY}.",
        f"Incorrect API key provided: {KEY[:6]}{'*' * 20}{KEY[-6:]}",  # the providers' own masking
        f"key starts {KEY[3:25]} and that is all",
        f"split over lines: {KEY[:12]}\n{KEY[12:24]}\n{KEY[24:]}",
        f'quoted "{KEY}" and JSON {{"api_key": "{KEY}"}}',
        f"url https://host/v1?key={KEY}&alt=sse",
        f"{KEY}{KEY}",
        f"prefix{KEY[5:]}",
    ],
)
def test_every_piece_of_a_configured_key_is_masked(env, text) -> None:
    out = scrub(text, env)
    assert leaked(out) == [], out
    assert MASK in out


def test_pieces_shorter_than_six_characters_and_ordinary_text_survive(env) -> None:
    text = "openai: rate_limit (Rate limit reached for gpt-4o-mini; try again in 2s) at /home/someone"
    assert scrub(text, env) == text
    assert scrub(f"the key ends in {KEY[-5:]}", env) == f"the key ends in {KEY[-5:]}"


@pytest.mark.parametrize(
    "secret",
    [
        "sk-proj-Abc123Def456Ghi789Jkl0",
        "sk-ant-api03-Zyx987Wvu654Tsr321",
        "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6",
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    ],
)
def test_common_key_shapes_are_masked_without_being_configured(secret) -> None:
    out = scrub(f"provider said: bad credential {secret} (code 401)", {})
    assert leaked(out, secret) == [], out


@pytest.mark.parametrize(
    "text", ["Authorization: Bearer abcdefgh12345678", "x-api-key: zzzzzz999999", "api_key=hunter2hunter2"]
)
def test_credential_pairs_are_masked(text) -> None:
    out = scrub(text, {})
    value = text.split()[-1].split("=")[-1]
    assert value not in out and MASK in out


def test_variables_named_like_secrets_are_covered_and_registered_ones_too() -> None:
    aws = "Zq8Lm2Nx7Kv4Bw9Rt1Yp6Hs3"
    house = "Hh4Jj5Kk6Ll7Mm8Nn9Pp0"
    env = {"AWS_SECRET_ACCESS_KEY": aws, "MY_SERVICE_TOKEN": house, "HOUSE_LLM": "Qq1Ww2Ee3Rr4Tt5"}
    out = scrub(f"{aws} {house} Qq1Ww2Ee3Rr4Tt5", env)
    assert aws[:10] not in out and house[:10] not in out
    assert "Qq1Ww2Ee3Rr4Tt5" in out, "an arbitrary variable is not a secret until a provider names it"
    remember_names(["HOUSE_LLM"])
    assert "Qq1Ww2" not in scrub("Qq1Ww2Ee3Rr4Tt5", env)
    remember_value("Vv9Bb8Nn7Mm6")
    assert "Bb8Nn7" not in scrub("leaked Vv9Bb8Nn7Mm6", {})


def test_provider_failures_are_scrubbed_before_they_are_cut(monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)

    class AuthenticationError(Exception):
        status_code = 401

    # the key sits across the 300-character cut: a cut-then-scrub kept its first part
    exc = AuthenticationError("x" * 285 + f" key {KEY} rejected")
    failure = classify(exc)
    assert failure.error_class == "auth"
    assert leaked(failure.message) == [], failure.message


def test_paths_in_variables_named_like_keys_are_not_secrets() -> None:
    env = {"SSH_KEY": "/home/someone/.ssh/id_ed25519", "GIT_TOKEN": "~/tokens/git", "NOTE_SECRET": "a b c d e f"}
    text = "cannot read /home/someone/.config/templar/settings.toml"
    assert scrub(text, env) == text
