"""Profiles (`~/.config/wacloud/config.toml`) and stored tokens (`credentials.json`, 0600).

The config file holds no secrets, so it can be shared or versioned::

    default_profile = "local"

    [profiles.local]
    api_url = "http://127.0.0.1:3000"
    number = "100000000000001"
    auth = "user"                      # or "machine"
    client_id = "..."
    region = "us-east-1"
    cognito_endpoint = "http://127.0.0.1:5000"   # only for a local issuer
    username = "ana"

Tokens (and a machine client's secret) are kept beside it in `credentials.json`,
created with mode 0600 and rewritten atomically. `WACLOUD_CONFIG` moves both files
(the credentials go next to the named config file).

What a command uses is resolved once (`resolve`): the profile from `--profile`,
`WACLOUD_PROFILE`, the file's `default_profile`, else "default"; the API URL from
`WACLOUD_API_URL`, `--api-url`, the profile; a fixed token from `WACLOUD_TOKEN`
(no login, no refresh: for scripts and CI); the number from `--number`,
`WACLOUD_NUMBER`, the profile.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from wacloud_cli.errors import CliError, ExitCode

CONFIG_ENV = "WACLOUD_CONFIG"
PROFILE_ENV = "WACLOUD_PROFILE"
API_URL_ENV = "WACLOUD_API_URL"
TOKEN_ENV = "WACLOUD_TOKEN"
NUMBER_ENV = "WACLOUD_NUMBER"
DEFAULT_PROFILE = "default"


def config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV]).expanduser()
    base = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "wacloud" / "config.toml"


def credentials_path(config: Path) -> Path:
    return config.with_name("credentials.json")


@dataclass
class Profile:
    """One stack and one identity on it. Unknown keys in the file are kept."""

    name: str
    api_url: str | None = None
    number: str | None = None
    auth: str | None = None  # "user" | "machine"
    client_id: str | None = None
    region: str | None = None
    cognito_endpoint: str | None = None
    username: str | None = None
    token_url: str | None = None
    scope: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_table(cls, name: str, table: Mapping[str, Any]) -> Profile:
        known = {f.name for f in fields(cls)} - {"name", "extra"}
        values = {k: str(v) for k, v in table.items() if k in known and v is not None}
        extra = {k: v for k, v in table.items() if k not in known}
        return cls(name=name, extra=extra, **values)

    def to_table(self) -> dict[str, Any]:
        table: dict[str, Any] = {}
        for f in fields(self):
            if f.name in ("name", "extra"):
                continue
            value = getattr(self, f.name)
            if value is not None:
                table[f.name] = value
        table.update(self.extra)
        return table


@dataclass
class ConfigFile:
    path: Path
    default_profile: str | None = None
    profiles: dict[str, Profile] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> ConfigFile:
        if not path.exists():
            return cls(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise CliError(
                ExitCode.USAGE, f"cannot read the config file {path}: {type(exc).__name__}"
            ) from exc
        tables = data.get("profiles") or {}
        profiles = {
            str(name): Profile.from_table(str(name), table)
            for name, table in tables.items()
            if isinstance(table, dict)
        }
        default = data.get("default_profile")
        return cls(path, str(default) if default else None, profiles)

    def profile(self, name: str) -> Profile:
        return self.profiles.get(name) or Profile(name=name)

    def save(self) -> None:
        lines: list[str] = []
        if self.default_profile:
            lines.append(f"default_profile = {_toml_value(self.default_profile)}")
        for name in sorted(self.profiles):
            lines.append("")
            lines.append(f"[profiles.{_toml_key(name)}]")
            for key, value in self.profiles[name].to_table().items():
                lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
        _write_private(self.path, "\n".join(lines).lstrip("\n") + "\n", mode=0o644)


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key)


def _toml_value(value: Any) -> str:
    """Strings, numbers and booleans: JSON's escapes are valid TOML basic strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def _write_private(path: Path, text: str, *, mode: int = 0o600) -> None:
    """Write atomically; the file never exists with wider permissions than `mode`."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class StoredTokens:
    """What `wacloud login` obtained for one profile."""

    kind: str  # "user" | "machine"
    access_token: str
    expires_at: float
    refresh_token: str | None = None
    client_secret: str | None = None  # machine clients: to fetch the next token

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StoredTokens | None:
        try:
            return cls(
                kind=str(data["kind"]),
                access_token=str(data["access_token"]),
                expires_at=float(data["expires_at"]),
                refresh_token=str(data["refresh_token"]) if data.get("refresh_token") else None,
                client_secret=str(data["client_secret"]) if data.get("client_secret") else None,
            )
        except (KeyError, TypeError, ValueError):
            return None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind,
            "access_token": self.access_token,
            "expires_at": self.expires_at,
        }
        if self.refresh_token:
            data["refresh_token"] = self.refresh_token
        if self.client_secret:
            data["client_secret"] = self.client_secret
        return data


class CredentialStore:
    """`credentials.json`: `{"profiles": {name: StoredTokens}}`, mode 0600."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, profile: str) -> StoredTokens | None:
        entry = (self._read().get("profiles") or {}).get(profile)
        return StoredTokens.from_dict(entry) if isinstance(entry, dict) else None

    def put(self, profile: str, tokens: StoredTokens) -> None:
        data = self._read()
        data.setdefault("profiles", {})[profile] = tokens.to_dict()
        _write_private(self.path, json.dumps(data, indent=2) + "\n")

    def delete(self, profile: str) -> bool:
        data = self._read()
        removed = (data.get("profiles") or {}).pop(profile, None) is not None
        if removed:
            _write_private(self.path, json.dumps(data, indent=2) + "\n")
        return removed


@dataclass
class Resolved:
    """Everything a command needs to reach the API, after flags, env and the file."""

    config: ConfigFile
    profile: Profile
    api_url: str | None
    number: str | None
    env_token: str | None

    @property
    def credentials(self) -> CredentialStore:
        return CredentialStore(credentials_path(self.config.path))


def resolve(
    *,
    profile: str | None = None,
    api_url: str | None = None,
    number: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Resolved:
    env = os.environ if env is None else env
    config = ConfigFile.load(config_path(env))
    name = profile or env.get(PROFILE_ENV) or config.default_profile or DEFAULT_PROFILE
    chosen = config.profile(name)
    url = env.get(API_URL_ENV) or api_url or chosen.api_url
    return Resolved(
        config=config,
        profile=chosen,
        api_url=url.rstrip("/") if url else None,
        number=number or env.get(NUMBER_ENV) or chosen.number,
        env_token=env.get(TOKEN_ENV) or None,
    )
