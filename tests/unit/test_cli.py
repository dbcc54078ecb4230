"""The `wacloud` command line's own logic: profiles, login and refresh, exit codes, output.

The API is not the subject here, so HTTP is an httpx.MockTransport standing in for
Cognito, a token endpoint and the API's answers (their documented shapes). The CLI
against the real API over HTTP: tests/integration/test_cli.py.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from wacloud_cli import app as cli_app
from wacloud_cli.build import attribute_filter, key_values, parse_when, segment
from wacloud_cli.config import ConfigFile, CredentialStore, Profile, StoredTokens, resolve
from wacloud_cli.errors import ExitCode
from wacloud_cli.main import app

API = "https://api.example.test"
COGNITO = "https://cognito.example.test/"
TOKEN_URL = "https://auth.example.test/oauth2/token"
PASSWORD = "marker-Passw0rd!"
SECRET = "marker-client-secret"

Handler = Callable[[httpx.Request], httpx.Response]


class FakeNet:
    """Routes requests to handlers by (method, path) or Cognito action; records them."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.routes: dict[tuple[str, str], Handler | list[Handler]] = {}
        self.cognito: dict[str, Handler] = {}
        self.issued = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        target = request.headers.get("x-amz-target", "")
        if target:
            return self.cognito[target.rsplit(".", 1)[-1]](request)
        key = (request.method, request.url.path)
        route = self.routes.get(key)
        if route is None:
            return httpx.Response(404, json={"error": {"code": "no_route", "message": "no"}})
        if isinstance(route, list):
            return route.pop(0)(request) if len(route) > 1 else route[0](request)
        return route(request)

    def api_calls(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.host == "api.example.test"]

    def token(self) -> str:
        self.issued += 1
        return f"access-{self.issued}"


def answer(status: int, body: Any = None) -> Handler:
    return lambda _request: httpx.Response(status, json=body)


@pytest.fixture
def net(monkeypatch: pytest.MonkeyPatch) -> FakeNet:
    fake = FakeNet()
    monkeypatch.setattr(cli_app, "HTTP_TRANSPORT", httpx.MockTransport(fake))
    return fake


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("WACLOUD_API_URL", "WACLOUD_TOKEN", "WACLOUD_PROFILE", "WACLOUD_NUMBER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WACLOUD_CONFIG", str(tmp_path / "cfg" / "config.toml"))
    return tmp_path / "cfg"


@pytest.fixture
def run() -> Iterator[Callable[..., Any]]:
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Any:
        return runner.invoke(app, list(args), input=input, env=env)

    yield invoke


def logged_in(home: Path, *, expires_in: float = 3600, kind: str = "user") -> None:
    config = ConfigFile(home / "config.toml", "default")
    config.profiles["default"] = Profile(
        name="default",
        api_url=API,
        number="1000",
        auth=kind,
        client_id="client-1",
        cognito_endpoint=COGNITO,
        username="ana",
        token_url=TOKEN_URL if kind == "machine" else None,
        scope="wacloud/admin" if kind == "machine" else None,
    )
    config.save()
    CredentialStore(home / "credentials.json").put(
        "default",
        StoredTokens(
            kind=kind,
            access_token="access-old",
            expires_at=dt.datetime.now().timestamp() + expires_in,
            refresh_token="refresh-1" if kind == "user" else None,
            client_secret=SECRET if kind == "machine" else None,
        ),
    )


def cognito_ok(net: FakeNet, *, refresh_token: str | None = "refresh-1") -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        result: dict[str, Any] = {"AccessToken": net.token(), "ExpiresIn": 3600}
        if refresh_token:
            result["RefreshToken"] = refresh_token
        return httpx.Response(200, json={"AuthenticationResult": result})

    return handle


# --------------------------------------------------------------------------- config


def test_profiles_round_trip_without_secrets_and_tokens_file_is_private(home: Path) -> None:
    config = ConfigFile(home / "config.toml", "prod")
    config.profiles["prod"] = Profile(name="prod", api_url=API, number="1", username='a"b\\c')
    config.profiles["with space"] = Profile(name="with space", extra={"note": "kept"})
    config.save()
    loaded = ConfigFile.load(home / "config.toml")
    assert loaded.default_profile == "prod"
    assert loaded.profiles["prod"].username == 'a"b\\c'
    assert loaded.profiles["with space"].extra == {"note": "kept"}

    store = CredentialStore(home / "credentials.json")
    store.put("prod", StoredTokens("user", "tok-secret", 1.0, refresh_token="ref-secret"))
    assert stat.S_IMODE(os.stat(home / "credentials.json").st_mode) == 0o600
    assert "tok-secret" not in (home / "config.toml").read_text()
    assert store.get("prod") == StoredTokens("user", "tok-secret", 1.0, refresh_token="ref-secret")
    assert store.delete("prod") and store.get("prod") is None


def test_resolution_order_flags_env_profile(home: Path) -> None:
    config = ConfigFile(home / "config.toml", "a")
    config.profiles["a"] = Profile(name="a", api_url="https://a.test/", number="111")
    config.profiles["b"] = Profile(name="b", api_url="https://b.test", number="222")
    config.save()
    env = {"WACLOUD_CONFIG": str(home / "config.toml")}
    assert resolve(env=env).api_url == "https://a.test"  # the default profile, no trailing /
    assert resolve(env={**env, "WACLOUD_PROFILE": "b"}).number == "222"
    assert resolve(profile="b", env={**env, "WACLOUD_PROFILE": "a"}).number == "222"
    flagged = resolve(api_url="https://flag.test", number="9", env=env)
    assert (flagged.api_url, flagged.number) == ("https://flag.test", "9")
    overridden = resolve(
        api_url="https://flag.test",
        env={**env, "WACLOUD_API_URL": "https://env.test", "WACLOUD_TOKEN": "t"},
    )
    assert (overridden.api_url, overridden.env_token) == ("https://env.test", "t")
    assert resolve(profile="missing", env=env).api_url is None


def test_an_unreadable_config_file_is_a_usage_error(home: Path, run: Any) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text("this is [not toml")
    result = run("health")
    assert result.exit_code == ExitCode.USAGE
    assert "config file" in result.stderr


# --------------------------------------------------------------------------- login


def test_user_login_uses_initiate_auth_and_keeps_the_password_out_of_everything(
    home: Path, net: FakeNet, run: Any
) -> None:
    net.cognito["InitiateAuth"] = cognito_ok(net)
    result = run(
        "--profile", "local", "login", "--api-url", API + "/", "--username", "ana",
        "--client-id", "client-1", "--cognito-endpoint", COGNITO, "--number", "1000",
        "--password-stdin", input=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    sent = json.loads(net.requests[0].content)
    assert net.requests[0].headers["x-amz-target"] == (
        "AWSCognitoIdentityProviderService.InitiateAuth"
    )
    assert net.requests[0].headers["content-type"] == "application/x-amz-json-1.1"
    assert sent == {
        "AuthFlow": "USER_PASSWORD_AUTH",
        "ClientId": "client-1",
        "AuthParameters": {"USERNAME": "ana", "PASSWORD": PASSWORD},
    }
    config = ConfigFile.load(home / "config.toml")
    assert config.default_profile == "local"
    assert config.profiles["local"].api_url == API
    assert config.profiles["local"].auth == "user"
    tokens = CredentialStore(home / "credentials.json").get("local")
    assert tokens is not None and tokens.access_token == "access-1"
    assert tokens.refresh_token == "refresh-1"
    for text in (result.output, (home / "config.toml").read_text(),
                 (home / "credentials.json").read_text()):  # fmt: skip
        assert PASSWORD not in text


def test_a_wrong_password_exits_3_naming_cognitos_error_only(
    home: Path, net: FakeNet, run: Any
) -> None:
    net.cognito["InitiateAuth"] = answer(
        400, {"__type": "NotAuthorizedException", "message": "Incorrect username or password."}
    )
    result = run(
        "login", "--api-url", API, "--username", "ana", "--client-id", "c",
        "--cognito-endpoint", COGNITO, "--password-stdin", input=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == ExitCode.AUTH
    assert "password is wrong" in result.stderr
    assert PASSWORD not in result.output
    assert not (home / "credentials.json").exists()


def test_a_temporary_password_without_a_terminal_is_refused(
    home: Path, net: FakeNet, run: Any
) -> None:
    net.cognito["InitiateAuth"] = answer(
        200, {"ChallengeName": "NEW_PASSWORD_REQUIRED", "Session": "s"}
    )
    result = run(
        "login", "--api-url", API, "--username", "ana", "--client-id", "c",
        "--cognito-endpoint", COGNITO, "--password-stdin", input=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == ExitCode.AUTH
    assert "new password" in result.stderr


def test_an_expired_user_token_is_refreshed_and_the_refresh_token_kept(
    home: Path, net: FakeNet, run: Any
) -> None:
    logged_in(home, expires_in=10)  # inside the 60 s margin
    net.cognito["InitiateAuth"] = cognito_ok(net, refresh_token=None)
    net.routes[("GET", "/v1/tenants")] = answer(200, {"items": []})
    result = run("--json", "tenants", "list")
    assert result.exit_code == 0, result.output
    refresh = json.loads(net.requests[0].content)
    assert refresh["AuthFlow"] == "REFRESH_TOKEN_AUTH"
    assert refresh["AuthParameters"] == {"REFRESH_TOKEN": "refresh-1"}
    assert net.api_calls()[0].headers["authorization"] == "Bearer access-1"
    tokens = CredentialStore(home / "credentials.json").get("default")
    assert tokens is not None and tokens.refresh_token == "refresh-1"


def test_a_refused_refresh_asks_to_log_in_again(home: Path, net: FakeNet, run: Any) -> None:
    logged_in(home, expires_in=-5)
    net.cognito["InitiateAuth"] = answer(400, {"__type": "NotAuthorizedException"})
    result = run("tenants", "list")
    assert result.exit_code == ExitCode.AUTH
    assert "wacloud login" in result.stderr
    assert net.api_calls() == []


def test_machine_login_and_renewal_use_client_credentials(
    home: Path, net: FakeNet, run: Any
) -> None:
    def token_endpoint(request: httpx.Request) -> httpx.Response:
        expected = base64.b64encode(f"app-1:{SECRET}".encode()).decode()
        assert request.headers["authorization"] == f"Basic {expected}"
        form = dict(x.split("=", 1) for x in request.content.decode().split("&"))
        assert form == {"grant_type": "client_credentials", "scope": "wacloud%2Fadmin"}
        return httpx.Response(
            200, json={"access_token": net.token(), "expires_in": 30, "token_type": "Bearer"}
        )

    net.routes[("POST", "/oauth2/token")] = token_endpoint
    result = run(
        "login", "--api-url", API, "--client-id", "app-1", "--token-url", TOKEN_URL,
        "--scope", "wacloud/admin", env={"WACLOUD_CLIENT_SECRET": SECRET},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert SECRET not in (home / "config.toml").read_text()
    # 30 s tokens are inside the renewal margin: the next command fetches a new one.
    net.routes[("GET", "/v1/ops/queues")] = answer(200, {"items": []})
    assert run("queues").exit_code == 0
    assert net.api_calls()[-1].headers["authorization"] == "Bearer access-2"


def test_a_401_for_a_token_our_clock_thinks_valid_renews_once(
    home: Path, net: FakeNet, run: Any
) -> None:
    logged_in(home)
    net.cognito["InitiateAuth"] = cognito_ok(net)
    seen: list[str] = []

    def api(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        if request.headers["authorization"] == "Bearer access-old":
            return httpx.Response(401, json={"message": "Unauthorized"})
        return httpx.Response(200, json={"items": []})

    net.routes[("GET", "/v1/tenants")] = api
    assert run("tenants", "list").exit_code == 0
    assert seen == ["Bearer access-old", "Bearer access-1"]


def test_logout_forgets_the_tokens(home: Path, net: FakeNet, run: Any) -> None:
    logged_in(home)
    assert run("logout").exit_code == 0
    result = run("tenants", "list")
    assert result.exit_code == ExitCode.AUTH
    assert "not logged in" in result.stderr


# --------------------------------------------------------------------------- exit codes


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (400, {"error": {"code": "invalid_request", "message": "bad"}}, ExitCode.REFUSED),
        (404, {"error": {"code": "not_found", "message": "no such message"}}, ExitCode.REFUSED),
        (409, {"error": {"code": "not_scheduled", "message": "sent"}}, ExitCode.REFUSED),
        (401, {"message": "Unauthorized"}, ExitCode.AUTH),
        (403, {"error": {"code": "forbidden", "message": "admins only"}}, ExitCode.AUTH),
        (500, {"error": {"code": "internal", "message": "x"}}, ExitCode.UNAVAILABLE),
        (503, {"error": {"code": "unavailable", "message": "x"}}, ExitCode.UNAVAILABLE),
    ],
)
def test_api_statuses_map_to_exit_codes(
    home: Path, net: FakeNet, run: Any, status: int, body: Any, code: ExitCode
) -> None:
    net.routes[("DELETE", "/v1/numbers/1000/messages/m1")] = answer(status, body)
    result = run(
        "message", "cancel", "m1", "-n", "1000",
        env={"WACLOUD_API_URL": API, "WACLOUD_TOKEN": "fixed"},
    )  # fmt: skip
    assert result.exit_code == code, result.output
    assert result.stdout == ""


def test_a_refusal_names_its_code_and_fields_and_json_mode_gives_the_error_as_json(
    home: Path, net: FakeNet, run: Any
) -> None:
    body = {
        "error": {
            "code": "invalid_request",
            "message": "the request has invalid or missing fields",
            "fields": [{"field": "to", "problem": "value_error", "message": "invalid value"}],
        },
        "request_id": "req-1",
    }
    net.routes[("POST", "/v1/messages")] = answer(400, body)
    env = {"WACLOUD_API_URL": API, "WACLOUD_TOKEN": "fixed"}
    human = run("send", "-n", "1000", "--to", "x", "--text", "hi", env=env)
    assert human.exit_code == ExitCode.REFUSED
    assert "invalid_request" in human.stderr and "to: invalid value" in human.stderr
    assert "req-1" in human.stderr
    machine = run("send", "-n", "1000", "--to", "x", "--text", "hi", "--json", env=env)
    assert machine.exit_code == ExitCode.REFUSED
    assert machine.stdout == ""
    error = json.loads(machine.stderr)
    assert error["exit_code"] == 1
    assert error["error"]["code"] == "invalid_request"
    assert error["error"]["fields"][0]["field"] == "to"


def test_network_failures_and_non_json_gateway_errors_exit_4(
    home: Path, net: FakeNet, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"WACLOUD_API_URL": API, "WACLOUD_TOKEN": "fixed"}
    net.routes[("GET", "/v1/ops/health")] = lambda _r: httpx.Response(502, text="Bad Gateway")
    assert run("health", env=env).exit_code == ExitCode.UNAVAILABLE

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    monkeypatch.setattr(cli_app, "HTTP_TRANSPORT", httpx.MockTransport(refuse))
    result = run("health", env=env)
    assert result.exit_code == ExitCode.UNAVAILABLE
    assert "cannot reach the API" in result.stderr


def test_usage_errors_exit_2(home: Path, run: Any) -> None:
    env = {"WACLOUD_API_URL": API, "WACLOUD_TOKEN": "fixed"}
    assert run("send", "--nonsense", env=env).exit_code == ExitCode.USAGE
    # Two contents, or none.
    both = run("send", "-n", "1", "--to", "+1", "--text", "a", "--template", "t", env=env)
    assert both.exit_code == ExitCode.USAGE
    assert run("send", "--to", "+1", "--text", "a", env=env).exit_code == ExitCode.USAGE  # number
    assert run("health").exit_code == ExitCode.USAGE  # no API URL anywhere
    assert run("schedule", "-n", "1", "--to", "+1", "--text", "a", "--at", "someday",
               env=env).exit_code == ExitCode.USAGE  # fmt: skip


def test_not_logged_in_exits_3(home: Path, run: Any) -> None:
    result = run("tenants", "list", env={"WACLOUD_API_URL": API})
    assert result.exit_code == ExitCode.AUTH
    assert "wacloud login" in result.stderr


# --------------------------------------------------------------------------- requests and output


def test_send_and_schedule_build_submission_documents(home: Path, net: FakeNet, run: Any) -> None:
    sent: list[Any] = []

    def accept(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(202, json={"message_id": "m1", "status": "accepted"})

    net.routes[("POST", "/v1/messages")] = accept
    env = {"WACLOUD_API_URL": API, "WACLOUD_TOKEN": "fixed", "WACLOUD_NUMBER": "1000"}
    result = run("send", "--to", "+351911", "--template", "hello", "--language", "pt_PT",
                 "--param", "Ana", "--param", "3", "--idempotency-key", "k1", env=env)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sent[0] == {
        "type": "template",
        "template": {
            "name": "hello",
            "language": {"code": "pt_PT"},
            "components": [
                {
                    "type": "body",
                    "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "3"}],
                }
            ],
        },
        "to": "+351911",
        "phone_number_id": "1000",
        "idempotency_key": "k1",
    }
    result = run("schedule", "--to", "+351911", "--text", "later", "--at",
                 "2030-01-02T03:04:05+01:00", env=env)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sent[1]["send_at"] == "2030-01-02T02:04:05Z"
    assert sent[1]["text"] == {"body": "later"}

    home.mkdir(parents=True, exist_ok=True)
    doc = home / "doc.json"
    doc.write_text(json.dumps({"phone_number_id": "2000", "type": "reaction",
                               "reaction": {"message_id": "wamid.1", "emoji": "👍"}}))  # fmt: skip
    assert run("send", "--to", "+1", "--file", str(doc), env=env).exit_code == 0
    assert sent[2]["phone_number_id"] == "2000" and sent[2]["to"] == "+1"


def test_json_mode_prints_exactly_the_apis_answer_wherever_the_flag_is(
    home: Path, net: FakeNet, run: Any
) -> None:
    body = {"items": [{"wa_id": "351911", "state": "handoff", "labels": ["vip"]}],
            "next_cursor": None}  # fmt: skip
    net.routes[("GET", "/v1/numbers/1000/conversations")] = answer(200, body)
    env = {"WACLOUD_API_URL": API, "WACLOUD_TOKEN": "fixed"}
    for args in (("--json", "-n", "1000", "conversations", "list"),
                 ("conversations", "list", "-n", "1000", "--json")):  # fmt: skip
        result = run(*args, env=env)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout) == body
    table = run("-n", "1000", "conversations", "list", "--state", "handoff", env=env)
    assert "351911" in table.stdout and "vip" in table.stdout
    assert net.api_calls()[-1].url.params["state"] == "handoff"


def test_all_follows_next_cursor(home: Path, net: FakeNet, run: Any) -> None:
    pages = {
        None: {"items": [{"wa_id": "1"}], "next_cursor": "c2"},
        "c2": {"items": [{"wa_id": "2"}], "next_cursor": None},
    }
    net.routes[("GET", "/v1/numbers/1000/contacts")] = lambda r: httpx.Response(
        200, json=pages[r.url.params.get("cursor")]
    )
    env = {"WACLOUD_API_URL": API, "WACLOUD_TOKEN": "fixed"}
    result = run("contacts", "list", "-n", "1000", "--all", "--json", env=env)
    assert json.loads(result.stdout)["items"] == [{"wa_id": "1"}, {"wa_id": "2"}]


def test_campaign_create_from_a_segment_sends_the_contract_body(
    home: Path, net: FakeNet, run: Any
) -> None:
    bodies: list[Any] = []

    def create(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(201, json={"campaign_id": "c1"})

    net.routes[("POST", "/v1/numbers/1000/campaigns")] = create
    env = {"WACLOUD_API_URL": API, "WACLOUD_TOKEN": "fixed", "WACLOUD_NUMBER": "1000"}
    result = run("campaign", "create", "--name", "Spring", "--template", "spring_a",
                 "--template", "spring_b", "--variable", "body={first_name}",
                 "--segment-tag", "vip", "--attr", "visits gte 3",
                 "--last-seen-before", "90d", env=env)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert bodies[0]["variants"][1] == {
        "name": "B",
        "template": "spring_b",
        "weight": 1,
        "variables": {"body": ["{first_name}"]},
    }
    assert bodies[0]["recipients"] == {
        "segment": {
            "opted_out": False,
            "tags_any": ["vip"],
            "attributes": [{"name": "visits", "op": "gte", "value": 3}],
            "last_seen_before": "90d",
        }
    }
    home.mkdir(parents=True, exist_ok=True)
    csv = home / "list.csv"
    csv.write_text("wa_id,first_name\n+351911,Ana\n")
    assert run("campaign", "create", "--template", "t", "--csv", str(csv), env=env).exit_code == 0
    assert bodies[1]["recipients"] == {"csv": "wa_id,first_name\n+351911,Ana\n"}
    both = run("campaign", "create", "--template", "t", "--csv", str(csv), "--segment-tag", "x",
               env=env)  # fmt: skip
    assert both.exit_code == ExitCode.USAGE


@pytest.mark.parametrize(("final", "code"), [("completed", 0), ("cancelled", ExitCode.OUTCOME)])
def test_campaign_watch_ends_with_the_campaigns_outcome(
    home: Path, net: FakeNet, run: Any, final: str, code: int
) -> None:
    def stats(status: str, sent: int) -> Handler:
        figures = {"queued": 2, "sent": sent, "delivered": 0, "failed": 0}
        return answer(200, {"campaign_id": "c1", "status": status, "progress": sent / 2,
                            "variants": {"A": figures}, "totals": figures})  # fmt: skip

    net.routes[("GET", "/v1/numbers/1000/campaigns/c1")] = [
        stats("running", 0),
        stats("running", 1),
        stats(final, 2),
    ]
    env = {"WACLOUD_API_URL": API, "WACLOUD_TOKEN": "fixed"}
    result = run("campaign", "watch", "c1", "-n", "1000", "--interval", "0", "--json", env=env)
    assert result.exit_code == code, result.output
    assert json.loads(result.stdout)["status"] == final
    assert len(net.api_calls()) == 3


def test_campaign_watch_gives_up_at_its_timeout(home: Path, net: FakeNet, run: Any) -> None:
    net.routes[("GET", "/v1/numbers/1000/campaigns/c1")] = answer(
        200, {"status": "running", "variants": {}}
    )
    env = {"WACLOUD_API_URL": API, "WACLOUD_TOKEN": "fixed"}
    result = run("campaign", "watch", "c1", "-n", "1000", "--interval", "0.01",
                 "--timeout", "0.05", env=env)  # fmt: skip
    assert result.exit_code == ExitCode.UNAVAILABLE
    assert "still running" in result.stderr


def test_health_check_exits_5_when_degraded(home: Path, net: FakeNet, run: Any) -> None:
    net.routes[("GET", "/v1/ops/health")] = answer(
        200, {"status": "degraded", "checks": [{"name": "dlq", "status": "degraded"}]}
    )
    env = {"WACLOUD_API_URL": API, "WACLOUD_TOKEN": "fixed"}
    assert run("health", env=env).exit_code == 0
    assert run("health", "--check", env=env).exit_code == ExitCode.OUTCOME


# --------------------------------------------------------------------------- inputs


def test_times_key_values_and_attribute_filters() -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert parse_when("+10m", now=now) == now + dt.timedelta(minutes=10)
    assert parse_when("7d", now=now, future=False) == now - dt.timedelta(days=7)
    assert parse_when("1767225600", now=now) == now
    assert parse_when("2026-01-01T00:00:00Z") == now
    assert parse_when("2026-01-01T10:00").tzinfo is not None  # local time
    assert key_values(["a=1", "b=x", "c=", "d=true", "e=1.5"]) == {
        "a": 1, "b": "x", "c": None, "d": True, "e": 1.5,
    }  # fmt: skip
    assert attribute_filter("renewal before 2026-06-01") == {
        "name": "renewal", "op": "before", "value": "2026-06-01",
    }  # fmt: skip
    assert attribute_filter("vip exists") == {"name": "vip", "op": "exists"}
    assert segment(tags_any=[], tags_all=["a"], attributes=[], last_seen_before=None,
                   last_seen_after="30d") == {"opted_out": False, "tags_all": ["a"],
                                              "last_seen_after": "30d"}  # fmt: skip


def test_assistant_settings_for_the_organisation_or_one_number(
    home: Path, net: FakeNet, run: Any
) -> None:
    seen: list[tuple[str, str, Any]] = []

    def record(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        seen.append((request.method, request.url.path, body))
        return httpx.Response(200, json={"overrides": []})

    net.routes[("PATCH", "/v1/settings/assistant")] = record
    net.routes[("PATCH", "/v1/tenants/1000/assistant")] = record
    env = {"WACLOUD_API_URL": API, "WACLOUD_TOKEN": "fixed", "WACLOUD_NUMBER": "1000"}
    hours = '{"mon": [["09:00", "18:00"]]}'
    org = run("tenants", "assistant", "--organisation", "--set", f"hours={hours}",
              "--set", "time_zone=Europe/Lisbon", env=env)  # fmt: skip
    assert org.exit_code == 0, org.output
    number = run("tenants", "assistant", "--set", "tone=", "--auto-reply", env=env)
    assert number.exit_code == 0, number.output
    assert seen == [
        (
            "PATCH",
            "/v1/settings/assistant",
            {"hours": {"mon": [["09:00", "18:00"]]}, "time_zone": "Europe/Lisbon"},
        ),
        ("PATCH", "/v1/tenants/1000/assistant", {"tone": None, "enabled": True}),
    ]
