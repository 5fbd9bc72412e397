"""Settings: flags > environment > profile > local engine; the file, its mode, its secrets."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwatch import config
from runwatch.config import (
    ConfigError,
    Profile,
    Settings,
    load_config,
    looks_secret,
    mask_secret,
    read_engine_env,
    resolve_settings,
    save_profile,
)

TOKEN = "profile-token-0123456789abcdef"
PAT = "profile-pat-0123456789abcdef"

CONFIG = f"""
default_profile = "prod"

[profiles.prod]
api_url = "https://api.abeja.io"
organization_id = "1111111111111"
deployment_id = "2222222222222"
auth_token = "{TOKEN}"
poll_interval = 2.5
bell = false

[profiles.staging]
api_url = "https://staging.example.test/"
organization_id = 3333333333333
user_id = "4444444444444"
personal_access_token = "{PAT}"
read_only = true
timeout = 5
max_retry_count = 1
"""


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_paths(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert config.config_path() == Path(os.environ["RUNWATCH_CONFIG"])
    monkeypatch.delenv("RUNWATCH_CONFIG")
    assert config.config_path().name == "config.toml"
    assert config.config_path().parent.name == "runwatch"
    monkeypatch.setenv("RUNWATCH_DATA_DIR", str(tmp_path / "data"))
    assert config.engine_data_dir() == tmp_path / "data"
    monkeypatch.delenv("RUNWATCH_DATA_DIR")
    assert config.engine_data_dir().parts[-2:] == ("runwatch", "engine")
    assert config.state_dir().name == "runwatch" and config.log_dir().parts[-2:][0]


def test_nothing_configured_means_the_local_engine() -> None:
    s = resolve_settings()
    assert s.local_engine and s.api_url == "" and s.credential == {} and s.profile is None
    assert s.masked()["api_url"] == "(local engine)"


def test_the_default_profile(isolated_config: Path) -> None:
    write(isolated_config, CONFIG)
    s = resolve_settings()
    assert not s.local_engine
    assert (s.profile, s.api_url, s.organization_id, s.deployment_id) == (
        "prod",
        "https://api.abeja.io",
        "1111111111111",
        "2222222222222",
    )
    assert s.credential == {"auth_token": TOKEN}
    assert s.poll_interval == 2.5 and s.bell is False and s.read_only is False
    assert s.sources["profile"] == "default_profile"
    assert s.warnings == []


def test_a_named_profile(isolated_config: Path) -> None:
    write(isolated_config, CONFIG)
    s = resolve_settings(profile="staging")
    assert s.api_url == "https://staging.example.test"
    assert s.organization_id == "3333333333333"
    assert s.credential == {"user_id": "4444444444444", "personal_access_token": PAT}
    assert s.read_only and s.timeout == 5.0 and s.max_retry_count == 1
    assert s.client_kwargs() == {
        "credential": {"user_id": "4444444444444", "personal_access_token": PAT},
        "timeout": 5.0,
        "max_retry_count": 1,
        "base_url": "https://staging.example.test",
    }


def test_runwatch_profile_env_selects(isolated_config: Path) -> None:
    write(isolated_config, CONFIG)
    s = resolve_settings(environ={"RUNWATCH_PROFILE": "staging"})
    assert s.profile == "staging" and s.sources["profile"] == "env RUNWATCH_PROFILE"
    assert resolve_settings(profile="prod", environ={"RUNWATCH_PROFILE": "staging"}).profile == (
        "prod"
    )


def test_a_profile_named_default_is_used_without_default_profile(isolated_config: Path) -> None:
    write(isolated_config, '[profiles.default]\napi_url = "http://127.0.0.1:1"\n')
    assert resolve_settings().profile == "default"


def test_an_unknown_profile_is_an_error(isolated_config: Path) -> None:
    write(isolated_config, CONFIG)
    with pytest.raises(ConfigError, match=r"no profile 'nope'.*prod, staging"):
        resolve_settings(profile="nope")


def test_environment_beats_profile(isolated_config: Path) -> None:
    write(isolated_config, CONFIG)
    env = {
        "ABEJA_API_URL": "http://127.0.0.1:8000",
        "ABEJA_ORGANIZATION_ID": "9",
        "ABEJA_DEPLOYMENT_ID": "8",
        "ABEJA_PLATFORM_USER_ID": "7",
        "ABEJA_PLATFORM_PERSONAL_ACCESS_TOKEN": "env-pat",
        "ABEJA_SDK_CONNECTION_TIMEOUT": "12",
        "ABEJA_SDK_MAX_RETRY_COUNT": "0",
    }
    s = resolve_settings(profile="staging", environ=env)
    assert (s.api_url, s.organization_id, s.deployment_id) == ("http://127.0.0.1:8000", "9", "8")
    assert s.credential == {"user_id": "7", "personal_access_token": "env-pat"}
    assert s.timeout == 12.0 and s.max_retry_count == 0
    assert s.sources["api_url"] == "env ABEJA_API_URL"
    # The token beats user id + PAT, as in the SDK.
    s = resolve_settings(profile="staging", environ={**env, "PLATFORM_AUTH_TOKEN": "env-tok"})
    assert s.credential == {"auth_token": "env-tok"}


def test_half_a_pat_in_the_environment_does_not_override(isolated_config: Path) -> None:
    write(isolated_config, CONFIG)
    s = resolve_settings(environ={"ABEJA_PLATFORM_USER_ID": "7"})
    assert s.credential == {"auth_token": TOKEN}


def test_flags_beat_environment(isolated_config: Path) -> None:
    write(isolated_config, CONFIG)
    s = resolve_settings(
        api_url="http://flag.example.test",
        organization_id="f-org",
        deployment_id="f-dep",
        read_only=True,
        environ={"ABEJA_API_URL": "http://env.example.test", "ABEJA_ORGANIZATION_ID": "e-org"},
    )
    assert (s.api_url, s.organization_id, s.deployment_id) == (
        "http://flag.example.test",
        "f-org",
        "f-dep",
    )
    assert s.read_only and s.sources["read_only"] == "flag"
    assert resolve_settings(read_only=False, profile="staging").read_only is False


def test_environment_alone_names_a_remote_api() -> None:
    s = resolve_settings(environ={"PLATFORM_AUTH_TOKEN": "t", "ABEJA_ORGANIZATION_ID": "1"})
    assert not s.local_engine
    assert s.api_url == "https://api.abeja.io" and s.sources["api_url"] == "default"
    s = resolve_settings(environ={"ABEJA_API_URL": "http://127.0.0.1:5"})
    assert not s.local_engine and s.credential == {}


def test_local_engine_keeps_flags() -> None:
    s = resolve_settings(deployment_id="d", organization_id="o")
    assert s.local_engine and s.deployment_id == "d" and s.organization_id == "o"
    engine = s.with_engine("http://127.0.0.1:4567", "1000000000001", "engine-token")
    assert engine.api_url == "http://127.0.0.1:4567" and engine.organization_id == "o"
    assert engine.credential == {"auth_token": "engine-token"}
    assert engine.client_kwargs()["base_url"] == "http://127.0.0.1:4567"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[profiles.x\n", "not valid TOML"),
        ("default_profile = 3\n", "default_profile must be a string"),
        ("profiles = 3\n", "must be a table"),
        ("[profiles.x]\napi_url = 5\n", "api_url must be a string"),
        ('[profiles.x]\napi_url = "ftp://x"\n', "http"),
        ('[profiles.x]\napi_url = "https://[::1"\n', "not a valid URL: Invalid IPv6 URL"),
        ("[profiles.x]\npoll_interval = -1\n", "positive number"),
        ('[profiles.x]\nbell = "yes"\n', "true or false"),
        ("[profiles.x]\nmax_retry_count = 1.5\n", "integer"),
        ("[profiles.x]\nmetric_pattern = 'loss=(?P<loss>[0-9.]+'\n", "not a valid regular"),
        ("[profiles.x]\nmetric_pattern = 'loss=([0-9.]+)'\n", "no named group"),
    ],
)
def test_bad_config_files(isolated_config: Path, text: str, message: str) -> None:
    write(isolated_config, text)
    with pytest.raises(ConfigError, match=message):
        load_config(isolated_config)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ABEJA_SDK_CONNECTION_TIMEOUT": "soon"}, "ABEJA_SDK_CONNECTION_TIMEOUT"),
        ({"ABEJA_SDK_CONNECTION_TIMEOUT": "0"}, "positive"),
        ({"ABEJA_SDK_MAX_RETRY_COUNT": "-1"}, ">= 0"),
        ({"ABEJA_API_URL": "api.abeja.io"}, "http"),
        ({"ABEJA_API_URL": "http://[::1"}, "not a valid URL"),
        ({"ABEJA_API_URL": "http://u:pw@host:99999"}, r"^api_url \(env ABEJA_API_URL\) is not"),
        ({"ABEJA_API_URL": "http://u:pw@host:port"}, "not a valid URL"),
        ({"RUNWATCH_METRIC_PATTERN": "(?P<step>\\d+)"}, "RUNWATCH_METRIC_PATTERN has no named"),
    ],
)
def test_bad_environment(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as raised:
        resolve_settings(environ=env)
    assert "pw" not in str(raised.value)


def test_unknown_keys_warn(isolated_config: Path) -> None:
    write(isolated_config, 'colour = "red"\n[profiles.x]\napi_ur = "http://x"\n')
    warnings = load_config(isolated_config).warnings
    assert any("'colour'" in w for w in warnings) and any("'api_ur'" in w for w in warnings)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize(
    ("mode", "warns"), [(0o600, False), (0o400, False), (0o644, True), (0o640, True)]
)
def test_a_readable_file_with_a_secret_warns(isolated_config: Path, mode: int, warns: bool) -> None:
    write(isolated_config, CONFIG, mode)
    warnings = resolve_settings().warnings
    assert bool(warnings) is warns
    if warns:
        assert "chmod 600" in warnings[0] and TOKEN not in warnings[0]


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_a_readable_file_without_a_secret_does_not_warn(isolated_config: Path) -> None:
    write(isolated_config, '[profiles.x]\napi_url = "http://127.0.0.1:1"\n', 0o644)
    assert resolve_settings(profile="x").warnings == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_saving_creates_the_file_0600(isolated_config: Path) -> None:
    profile = Profile(
        name="local",
        api_url="http://127.0.0.1:9",
        organization_id="1",
        auth_token=TOKEN,
        poll_interval=0.5,
    )
    path = save_profile(profile, path=isolated_config, make_default=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert list(path.parent.iterdir()) == [path]  # no temp file left behind
    save_profile(Profile(name="other", api_url="http://x.test"), path=isolated_config)
    loaded = load_config(isolated_config)
    assert loaded.default_profile == "local"
    assert loaded.profiles["local"] == profile
    assert set(loaded.profiles) == {"local", "other"}
    # A file someone loosened is tightened again when runwatch rewrites it.
    os.chmod(path, 0o644)
    save_profile(profile, path=isolated_config)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


toml_text = st.text(max_size=30)  # surrogates are excluded by default


@settings(max_examples=150, deadline=None)
@given(
    name=toml_text.filter(bool),
    url_path=st.text("abc/-_.~%", max_size=10),
    token=toml_text,
    org=toml_text,
    interval=st.floats(min_value=0.001, max_value=1e6),
    retries=st.integers(min_value=0, max_value=10**6),
    bell=st.booleans(),
)
def test_the_writer_round_trips_through_tomllib(
    name: str, url_path: str, token: str, org: str, interval: float, retries: int, bell: bool
) -> None:
    profile = Profile(
        name=name,
        api_url="https://h.test/" + url_path,
        organization_id=org or None,
        auth_token=token or None,
        idle_interval=interval,
        max_retry_count=retries,
        bell=bell,
    )
    text = config.dump_config({name: profile}, default_profile=name)
    data = tomllib.loads(text)
    assert data["default_profile"] == name
    reread, warnings = config._profile_from_table(name, data["profiles"][name], "t")
    assert reread == profile and warnings == []


def test_masking() -> None:
    assert mask_secret("") == ""
    assert mask_secret("short") == "****"
    assert mask_secret("0123456789abcdefWXYZ") == "****WXYZ"
    for name in (
        "auth_token",
        "personal_access_token",
        "PLATFORM_AUTH_TOKEN",
        "api_key",
        "DB_PASSWORD",
        "client_secret",
        "credential",
        "PAT",
    ):
        assert looks_secret(name), name
    for name in ("user_id", "api_url", "organization_id", "monkey", "path", "deployment_id"):
        assert not looks_secret(name), name


def test_masked_settings_hold_no_secret(isolated_config: Path) -> None:
    write(isolated_config, CONFIG)
    for profile in ("prod", "staging"):
        shown = resolve_settings(profile=profile).masked()
        text = repr(shown)
        assert TOKEN not in text and PAT not in text
        assert "****" in text
    shown = resolve_settings(profile="staging").masked()
    assert shown["user_id"] == "4444444444444"
    masked_url = Settings(api_url="https://u:pw-secret@h.test").masked()["api_url"]
    assert "pw-secret" not in masked_url


def test_read_engine_env(tmp_path: Path) -> None:
    assert read_engine_env(tmp_path) is None
    (tmp_path / "engine.env").write_text(
        "# written by runwatch serve\n"
        "ABEJA_API_URL=http://127.0.0.1:5000\n"
        "export ABEJA_ORGANIZATION_ID='1000000000001'\n"
        'PLATFORM_AUTH_TOKEN="abc=def"\n'
        "\nnot a pair\n"
    )
    assert read_engine_env(tmp_path) == {
        "ABEJA_API_URL": "http://127.0.0.1:5000",
        "ABEJA_ORGANIZATION_ID": "1000000000001",
        "PLATFORM_AUTH_TOKEN": "abc=def",
    }


def test_a_metric_pattern_comes_from_the_profile_or_the_environment(isolated_config: Path) -> None:
    write(
        isolated_config,
        "[profiles.p]\napi_url = 'https://api.example.com'\n"
        "metric_pattern = 'E(?P<step>\\d+) L=(?P<loss>[0-9.]+)'\n",
    )
    settings = resolve_settings(profile="p", environ={}, path=isolated_config)
    assert settings.metric_pattern == r"E(?P<step>\d+) L=(?P<loss>[0-9.]+)"
    assert settings.masked()["metric_pattern"] == settings.metric_pattern
    assert "metric_pattern = " in config.dump_config(load_config(isolated_config).profiles)
    env = {"RUNWATCH_METRIC_PATTERN": "acc=(?P<acc>[0-9.]+)"}
    assert resolve_settings(profile="p", environ=env, path=isolated_config).metric_pattern == (
        "acc=(?P<acc>[0-9.]+)"
    )
    assert resolve_settings(local=True, environ=env).metric_pattern == "acc=(?P<acc>[0-9.]+)"
