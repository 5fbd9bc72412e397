"""The abeja CLI's ~/.abeja/config and ABEJA_CLI_*: read as abejacli reads them, ranked after
the runwatch profile, never needed by --local, secrets never shown."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest

from runwatch.api.connection_config import auth_header
from runwatch.config import ApiSource, ConfigError, resolve_settings
from runwatch.config.abeja import abeja_config_path, load_abeja_config

TOKEN = "abeja-pat-0123456789abcdef"
DEV_TOKEN = "abeja-dev-pat-fedcba9876543210"


def abeja_file(data: Any) -> Path:
    """Write $HOME/.abeja/config (HOME is the test's own, see conftest)."""
    path = Path(os.environ["HOME"]) / ".abeja" / "config"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


DEFAULT_ONLY = {
    "abeja-platform-user": "user-1122334455667",
    "personal-access-token": TOKEN,
    "organization-name": "acme",
}
WITH_NAMED = {
    **DEFAULT_ONLY,
    "configurations": [
        {
            "configuration-name": "dev",
            "abeja-platform-user": "9988776655443",
            "personal-access-token": DEV_TOKEN,
            "organization-name": "acme-dev",
            "abeja-api-url": "http://127.0.0.1:8111",
        }
    ],
}


def test_the_path_follows_home(tmp_path: Path) -> None:
    assert abeja_config_path({"HOME": str(tmp_path)}) == tmp_path / ".abeja" / "config"
    assert load_abeja_config(tmp_path / "missing") is None


def test_the_default_configuration_is_used_with_nothing_else_set() -> None:
    path = abeja_file(DEFAULT_ONLY)
    s = resolve_settings()
    assert not s.local_engine
    assert s.api_url == "https://api.abeja.io"
    assert s.credential == {"user_id": "user-1122334455667", "personal_access_token": TOKEN}
    # A name, looked up when connecting (runwatch.api.organizations).
    assert s.organization_id is None and s.organization_name == "acme"
    assert s.needs_organization_lookup
    assert s.api_source == ApiSource("abeja", "default", "~/.abeja/config, default URL")
    assert s.api_source.label == "abeja config default"
    assert s.sources["credential"] == "abeja config default (~/.abeja/config)"
    assert s.sources["organization_id"] == "abeja config default (~/.abeja/config)"
    assert path.exists()


def test_the_credential_is_basic_auth_with_the_user_prefix() -> None:
    abeja_file({**DEFAULT_ONLY, "abeja-platform-user": "1122334455667"})
    header, secrets = auth_header(resolve_settings().credential)
    encoded = header["Authorization"].removeprefix("Basic ")
    assert base64.b64decode(encoded).decode() == f"user-1122334455667:{TOKEN}"
    assert TOKEN in secrets


def test_the_active_configuration_and_a_named_one() -> None:
    abeja_file({**WITH_NAMED, "active-configuration-name": "dev"})
    s = resolve_settings()
    assert s.api_url == "http://127.0.0.1:8111" and s.organization_name == "acme-dev"
    assert s.credential["personal_access_token"] == DEV_TOKEN
    assert s.api_source.label == "abeja config dev"
    # --profile names any of its configurations; "default" is the unnamed one.
    s = resolve_settings(profile="default")
    assert s.organization_name == "acme" and s.api_source.label == "abeja config default"
    assert s.sources["profile"] == "flag: abeja config default"
    abeja_file(WITH_NAMED)
    assert resolve_settings(profile="dev").api_source.label == "abeja config dev"
    assert resolve_settings().api_source.label == "abeja config default"


def test_an_unknown_name_lists_profiles_and_configurations() -> None:
    abeja_file(WITH_NAMED)
    listed = r"no profile 'x'.*abeja CLI configurations: default, dev"
    with pytest.raises(ConfigError, match=listed):
        resolve_settings(profile="x")


def test_the_abeja_cli_variables_override_field_by_field() -> None:
    abeja_file(DEFAULT_ONLY)
    s = resolve_settings(environ={"HOME": os.environ["HOME"], "ABEJA_CLI_USER": "5555555555555"})
    # Half a pair in the environment: abejacli's overlay, user from env, token from the file.
    assert s.credential == {"user_id": "5555555555555", "personal_access_token": TOKEN}
    assert s.sources["credential"] == (
        "abeja config default (~/.abeja/config) + env ABEJA_CLI_USER"
    )


def test_the_abeja_cli_variables_alone_name_the_hosted_api() -> None:
    env = {"ABEJA_CLI_USER": "1", "ABEJA_CLI_TOKEN": TOKEN, "ABEJA_CLI_ORGANIZATION": "acme"}
    s = resolve_settings(environ=env)
    assert not s.local_engine and s.api_url == "https://api.abeja.io"
    assert s.credential == {"user_id": "1", "personal_access_token": TOKEN}
    assert s.organization_name == "acme"
    assert s.sources["credential"] == "env ABEJA_CLI_USER + ABEJA_CLI_TOKEN"
    assert s.sources["organization_id"] == "env ABEJA_CLI_ORGANIZATION"
    # The SDK's organization id wins over the CLI's name: no look-up then.
    s = resolve_settings(environ={**env, "ABEJA_ORGANIZATION_ID": "1234567890123"})
    assert s.organization_id == "1234567890123" and not s.needs_organization_lookup


def test_precedence_environment_then_runwatch_profile_then_abeja(isolated_config: Path) -> None:
    abeja_file(DEFAULT_ONLY)
    # ABEJA_API_URL wins, the abeja configuration fills in the rest (as abejacli does).
    s = resolve_settings(environ={"HOME": os.environ["HOME"], "ABEJA_API_URL": "http://h:1"})
    assert s.api_url == "http://h:1" and s.api_source.label == "env ABEJA_API_URL"
    assert s.credential["personal_access_token"] == TOKEN and s.organization_name == "acme"
    # A runwatch profile is a whole context: the abeja configuration is not consulted.
    isolated_config.parent.mkdir(parents=True)
    isolated_config.write_text(
        'default_profile = "prod"\n[profiles.prod]\napi_url = "http://p:2"\n'
        'organization_id = "1"\nauth_token = "runwatch-token-0123456789"\n'
    )
    os.chmod(isolated_config, 0o600)
    s = resolve_settings()
    assert s.api_source == ApiSource("profile", "prod") and s.organization_name is None
    assert s.credential == {"auth_token": "runwatch-token-0123456789"}


def test_everything_from_the_environment_never_reads_the_file() -> None:
    abeja_file("{ broken")
    env = {
        "HOME": os.environ["HOME"],
        "ABEJA_API_URL": "http://h:1",
        "ABEJA_ORGANIZATION_ID": "1",
        "PLATFORM_AUTH_TOKEN": "t",
    }
    assert resolve_settings(environ=env).api_source.label == "env ABEJA_API_URL"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"personal-access-token": "' + TOKEN + '", ', "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ({**DEFAULT_ONLY, "personal-access-token": 12.5}, "personal-access-token must be a string"),
        ({**DEFAULT_ONLY, "configurations": {"a": 1}}, "configurations must be a list"),
        ({**WITH_NAMED, "active-configuration-name": "nope"}, "names no configuration"),
        ({k: v for k, v in DEFAULT_ONLY.items() if k != "organization-name"}, "organization-name"),
        ({"organization-name": "acme"}, "abeja-platform-user and personal-access-token"),
        (
            {"configurations": WITH_NAMED["configurations"]},
            "no active configuration",
        ),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_a_broken_file_is_one_line_naming_it_without_secrets(content: Any, message: str) -> None:
    if isinstance(content, bytes):
        path = abeja_file("")
        path.write_bytes(content)
    else:
        path = abeja_file(content)
    with pytest.raises(ConfigError) as caught:
        resolve_settings()
    text = str(caught.value)
    assert message in text and str(path) in text and "\n" not in text
    assert TOKEN not in text and DEV_TOKEN not in text
    # --local never reads it.
    assert resolve_settings(local=True).local_engine


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_one_line_naming_it() -> None:
    path = abeja_file(DEFAULT_ONLY)
    os.chmod(path, 0)
    with pytest.raises(ConfigError, match="cannot read"):
        resolve_settings()


def test_local_beats_everything_and_keeps_its_flags(isolated_config: Path) -> None:
    abeja_file(DEFAULT_ONLY)
    env = {"HOME": os.environ["HOME"], "ABEJA_API_URL": "http://h:1", "PLATFORM_AUTH_TOKEN": "t"}
    s = resolve_settings(local=True, deployment_id="d", read_only=True, environ=env)
    assert s.local_engine and s.api_url == "" and s.credential == {}
    assert s.api_source.label == "local engine" and s.deployment_id == "d" and s.read_only
    with pytest.raises(ConfigError, match="--local"):
        resolve_settings(local=True, profile="prod")


def test_sources_for_the_status_bar() -> None:
    assert resolve_settings().api_source.label == "local engine"
    env = {"ABEJA_API_URL": "http://h:1"}
    assert resolve_settings(environ=env).api_source.label == "env ABEJA_API_URL"
    assert resolve_settings(api_url="http://f:1").api_source.label == "flag --api-url"
    assert resolve_settings(environ={"PLATFORM_AUTH_TOKEN": "t"}).api_source.label == "default"


def test_masked_shows_the_name_and_never_the_token() -> None:
    abeja_file(DEFAULT_ONLY)
    s = resolve_settings()
    shown = s.masked()
    assert TOKEN not in repr(s) and TOKEN not in str(shown)
    assert shown["personal_access_token"] == "****cdef"
    assert shown["organization_id"] == "looked up when connecting (name 'acme')"
    resolved = s.with_organization("1234567890123")
    assert resolved.masked()["organization_id"] == "1234567890123 (name 'acme')"
    assert not resolved.needs_organization_lookup


def test_the_dashboard_flags(tmp_path: Path) -> None:
    from runwatch.cli import app_cmd, build_parser

    abeja_file("{ broken")
    with pytest.raises(ConfigError, match="not valid JSON"):
        app_cmd.settings_for(build_parser().parse_args([]))
    local = app_cmd.settings_for(build_parser().parse_args(["--local", "--read-only"]))
    assert local.local_engine and local.read_only and local.api_source.label == "local engine"
    abeja_file(WITH_NAMED)
    named = app_cmd.settings_for(build_parser().parse_args(["--profile", "dev"]))
    assert named.api_source.label == "abeja config dev"


def test_config_save_refuses_an_organization_known_by_name_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from runwatch.cli import build_parser, config_cmd

    abeja_file(DEFAULT_ONLY)
    assert config_cmd.run(build_parser().parse_args(["config", "--save", "x"])) == 2
    err = capsys.readouterr().err
    assert "known only by its name 'acme'" in err and TOKEN not in err


def test_the_remembered_view_is_per_abeja_configuration() -> None:
    assert resolve_settings().state_key is None
    abeja_file(WITH_NAMED)
    assert resolve_settings().state_key == "abeja-default"
    assert resolve_settings(profile="dev").state_key == "abeja-dev"
    assert resolve_settings(local=True).state_key is None
