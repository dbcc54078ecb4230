"""The embedded default: the whole stack on this machine, wired as template.yaml wires it.

moto server stands in for AWS, the Cloud API emulator for Meta, a local HTTP API for
API Gateway, pollers for SQS and DynamoDB stream event source mappings, tickers for EventBridge
schedules and `put_event` for EventBridge rules on a bus (with Lambda's asynchronous
retries and on-failure destination). The handlers are the real ones, each in its own
process with the environment the template gives it; they reach moto and the emulator
only through configuration (AWS_ENDPOINT_URL, GRAPH_API_BASE_URL), exactly as in AWS.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.async_invoke import AsyncInvokeConfig, async_configs
from local.emf import EmfPublisher
from local.emulator import Emulator, EmulatorConfig, WebhookDeliveryConfig
from local.event_rules import BusForwarder, EventRule, business_event
from local.firehose import create_delivery_streams
from local.gateway import DEFAULT_ROUTE, LocalHttpApi, Route
from local.lambdas import FunctionSpec, Invocation, LocalFunction, runtime_environment
from local.openai_standin import Standin
from local.operator_auth import JwtAuthorizer, OperatorAuth, TokenEndpoint
from local.pollers import MappingSpec, QueuePoller
from local.resources import create_resources
from local.schedules import ScheduleSpec, Ticker
from local.streams import StreamMappingSpec, StreamPoller
from local.template import REPO_ROOT, Resolver, load_sam_template, translate

ACCOUNT_ID = "123456789012"
# What a handler's process keeps of this machine's environment.
HOST_VARIABLES = ("PATH", "HOME", "LANG", "TMPDIR")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class LocalStackConfig:
    stack_name: str = "wacloud-local"
    region: str = "us-east-1"
    host: str = "127.0.0.1"
    gateway_port: int = 0
    moto_port: int = 0
    emulator_port: int = 0
    openai_port: int = 0
    # The operator pool's token endpoint (client credentials), local/operator_auth.py.
    auth_port: int = 0
    # Local stand-ins for what a deployer puts in the Meta secret after `sam deploy`.
    access_token: str = "local-token"
    app_secret: str = "local-app-secret"
    verify_token: str = "local-verify-token"
    # Scheduled functions run this many times faster than their template rate.
    schedule_speedup: float = 1.0
    run_schedules: bool = True
    # Local cap on concurrent executions per function (the template's may be higher).
    max_concurrency: int = 2
    # Extra configuration per function (logical id, or "*" for all), as a deployer
    # would set through template environment variables.
    environment: dict[str, dict[str, str]] = field(default_factory=dict)
    emulator: dict[str, Any] = field(default_factory=dict)
    # Per function (logical id): "module:function" hooks run before the handler loads.
    preload: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Send the handlers' logs to <log_dir>/<function>.log instead of this console.
    log_dir: Path | None = None
    # SQS attributes per queue (logical id), e.g. {"OutboundQueue": {"VisibilityTimeout":
    # "8"}}, as a deployer would set them in the template: applied before any poller
    # starts. Set on a running stack instead, a change misses a receive already waiting
    # (moto reads the visibility timeout when a long poll starts; SQS documents up to
    # 60 s for attribute changes to take effect), so a message could still be hidden
    # for the template's timeout.
    queue_attributes: dict[str, dict[str, str]] = field(default_factory=dict)


class LocalStack:
    def __init__(self, config: LocalStackConfig | None = None) -> None:
        self.config = config or LocalStackConfig()
        self.functions: dict[str, LocalFunction] = {}
        self.pollers: dict[str, QueuePoller] = {}
        self.stream_pollers: dict[str, StreamPoller] = {}
        """DynamoDB stream mappings (local/streams.py); `stats` counts what each read."""
        self.tickers: dict[str, Ticker] = {}
        self.event_rules: list[EventRule] = []
        self.bus_forwarders: list[BusForwarder] = []
        self.outputs: dict[str, Any] = {}
        self._moto: Any = None
        self.gateway: LocalHttpApi | None = None
        self.emulator: Emulator | None = None
        self.operator_auth: OperatorAuth | None = None
        """The operator API's Cognito pool: `user_token(role)`, `machine_token(scope)`,
        `create_user`, the CLI client id and the token URL (local/operator_auth.py)."""
        self._token_endpoint: TokenEndpoint | None = None
        self.openai: Standin | None = None
        """The OpenAI stand-in the OpenAI secret points at: tests script answers
        (``add_rules``), faults (``add_fault``) and read ``requests()`` on it."""
        self.session: Any = None
        self.resolver: Resolver | None = None
        self.metrics: EmfPublisher | None = None
        """What the functions' EMF lines become in moto's CloudWatch (local/emf.py)."""

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> LocalStack:
        cfg = self.config
        if cfg.log_dir is not None:
            cfg.log_dir.mkdir(parents=True, exist_ok=True)
        self._start_moto()
        self.metrics = EmfPublisher(lambda: self.client("cloudwatch"))
        self.gateway = LocalHttpApi([], host=cfg.host, port=cfg.gateway_port or 0)
        self.gateway.start()
        emulator_options = dict(cfg.emulator)
        # Meta does not publish its webhook timeout; locally a cold handler on a busy
        # machine can take seconds, and a timeout there would only cause redeliveries.
        emulator_options.setdefault("delivery", WebhookDeliveryConfig(timeout=30.0))
        self.emulator = Emulator(
            EmulatorConfig(
                host=cfg.host,
                port=cfg.emulator_port or 0,
                token=cfg.access_token,
                app_secret=cfg.app_secret,
                webhook_url=self.webhook_url,
                **emulator_options,
            )
        )
        self.emulator.start()
        self.openai = Standin(cfg.host, cfg.openai_port or 0).start()

        sam = load_sam_template()
        translated = translate(sam, cfg.region)
        self.resolver = Resolver(
            region=cfg.region, account_id=ACCOUNT_ID, stack_name=cfg.stack_name
        )
        self.resolver.parameters = self._parameters(translated)
        # One local gateway serves every HTTP API: their ids only name them.
        for logical_id, resource in translated["Resources"].items():
            if resource["Type"] == "AWS::ApiGatewayV2::Api":
                self.resolver.refs[logical_id] = logical_id.lower()
        create_resources(translated["Resources"], self.resolver, self.session)
        create_delivery_streams(translated["Resources"], self.resolver, self.session)
        self._configure_queues()
        self._configure_secret()
        self._configure_openai_secret()
        self._create_functions(sam, translated)
        self._start_operator_auth(sam)
        self._localize_console()
        self._wire_routes(sam)
        self._wire_mappings(translated)
        self._wire_schedules(translated)
        self._wire_event_rules(translated)
        self.outputs = {
            k: self.resolver.resolve(v["Value"])
            for k, v in translated.get("Outputs", {}).items()
            if self.resolver.can_resolve(v["Value"])
        }
        self.outputs["WebhookUrl"] = self.webhook_url
        self.outputs["OperatorApiUrl"] = self.gateway.url
        self.outputs["ConsoleUrl"] = self.console_url
        if self.operator_auth is not None:
            self.outputs["OperatorTokenUrl"] = self.operator_auth.token_url
        return self

    def stop(self) -> None:
        for poller in self.pollers.values():
            poller.stop()
        for stream in self.stream_pollers.values():
            stream.stop()
        for ticker in self.tickers.values():
            ticker.stop()
        for forwarder in self.bus_forwarders:
            forwarder.stop()
        for function in self.functions.values():
            function.close()
        if self.metrics is not None:
            self.metrics.stop()
        if self.gateway:
            self.gateway.stop()
        if self.emulator:
            self.emulator.stop()
        if self.openai:
            self.openai.stop()
        if self._token_endpoint:
            self._token_endpoint.stop()
        if self._moto:
            self._moto.stop()
            self._dynamodb_moto.stop()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ accessors
    @property
    def webhook_url(self) -> str:
        assert self.gateway is not None
        return f"{self.gateway.url}/webhook"

    @property
    def console_url(self) -> str:
        """The web console (ConsoleApi's routes, on the one local gateway)."""
        assert self.gateway is not None
        return f"{self.gateway.url}/console/"

    @property
    def moto_url(self) -> str:
        """moto for every AWS service but DynamoDB."""
        return f"http://{self.config.host}:{self._moto_port}"

    @property
    def dynamodb_url(self) -> str:
        """moto for DynamoDB, in a process of its own (see _start_moto)."""
        return f"http://{self.config.host}:{self._dynamodb_port}"

    def client(self, service: str) -> Any:
        return self.session.client(service)

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Invocation:
        return self.functions[logical_id].invoke(event)

    def aws_environment(self) -> dict[str, str]:
        """What a process needs to reach this stack's AWS (moto) with boto3."""
        return {
            "AWS_ENDPOINT_URL": self.moto_url,
            # boto3's service-specific endpoint variable: configuration, as in AWS.
            "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": self.config.region,
            "AWS_REGION": self.config.region,
        }

    def function_environment(self, logical_id: str) -> dict[str, str]:
        return dict(self._function_env[logical_id])

    # ------------------------------------------------------------------ wiring
    def _start_moto(self) -> None:
        import logging

        import boto3

        from local.moto_server import LocalMotoServer

        # moto's werkzeug would log every AWS call; the handlers' own logs are what matter.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)

        # Two moto processes: DynamoDB, which every item touches several times, gets
        # a core of its own; SQS, S3 and Secrets Manager share the other. moto is pure
        # Python, so one process would cap the whole local stack at one core.
        self._moto_port = self.config.moto_port or free_port(self.config.host)
        self._dynamodb_port = free_port(self.config.host)
        self._moto = LocalMotoServer(self.config.host, self._moto_port)
        self._dynamodb_moto = LocalMotoServer(self.config.host, self._dynamodb_port)
        self._moto.start()
        self._dynamodb_moto.start()
        env = self.aws_environment()
        self.session = boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            aws_session_token="testing",
            region_name=self.config.region,
        )
        original_client = self.session.client

        def client(service: str, **kwargs: Any) -> Any:
            endpoint = (
                env["AWS_ENDPOINT_URL_DYNAMODB"]
                if service in ("dynamodb", "dynamodbstreams")
                else env["AWS_ENDPOINT_URL"]
            )
            kwargs.setdefault("endpoint_url", endpoint)
            return original_client(service, **kwargs)

        self.session.client = client

    def _parameters(self, translated: dict[str, Any]) -> dict[str, Any]:
        assert self.emulator is not None
        values = {
            name: spec.get("Default") for name, spec in translated.get("Parameters", {}).items()
        }
        values["GraphApiBaseUrl"] = self.emulator.url
        return values

    def _configure_secret(self) -> None:
        """Put the local credentials in the secret, as a deployer does after `sam deploy`."""
        assert self.resolver is not None and self.emulator is not None
        from local.emulator import DEFAULT_PHONE_NUMBER_ID, DEFAULT_WABA_ID

        client = self.client("secretsmanager")
        secret_id = self.resolver.refs["MetaSecret"]
        current = json.loads(client.get_secret_value(SecretId=secret_id)["SecretString"])
        current.update(
            {
                "app_secret": self.config.app_secret,
                "access_token": self.config.access_token,
                "verify_token": self.config.verify_token,
                "tenants": {DEFAULT_PHONE_NUMBER_ID: {"waba_id": DEFAULT_WABA_ID}},
            }
        )
        client.put_secret_value(SecretId=secret_id, SecretString=json.dumps(current))

    def _configure_openai_secret(self) -> None:
        """Point the OpenAI secret at the stand-in, as a deployer puts a real key there
        (any key works locally; a real ``sk-`` key and no ``base_url`` reach OpenAI)."""
        assert self.resolver is not None and self.openai is not None
        secret_id = self.resolver.refs.get("OpenAISecret")
        if secret_id is None:
            return
        self.client("secretsmanager").put_secret_value(
            SecretId=secret_id,
            SecretString=json.dumps({"api_key": "local-standin", "base_url": self.openai.base_url}),
        )

    def _create_functions(self, sam: dict[str, Any], translated: dict[str, Any]) -> None:
        assert self.resolver is not None
        assert self.metrics is not None
        self._function_env: dict[str, dict[str, str]] = {}
        for logical_id, resource in sam["Resources"].items():
            if resource["Type"] != "AWS::Serverless::Function":
                continue
            props = translated["Resources"][logical_id]["Properties"]
            code_dir = (REPO_ROOT / resource["Properties"]["CodeUri"]).resolve()
            self.resolver.refs[logical_id] = logical_id
            self.resolver.attrs[(logical_id, "Arn")] = (
                f"arn:aws:lambda:{self.config.region}:{ACCOUNT_ID}:function:{logical_id}"
            )
            variables = self.resolver.resolve(props.get("Environment", {}).get("Variables", {}))
            env = self._base_environment(logical_id, props, code_dir)
            env.update({k: str(v) for k, v in variables.items() if v is not None})
            env.update(self.config.environment.get("*", {}))
            env.update(self.config.environment.get(logical_id, {}))
            self._function_env[logical_id] = env
            spec = FunctionSpec.from_properties(
                logical_id,
                props,
                code_dir,
                env,
                preload=tuple(self.config.preload.get(logical_id, ())),
                log_file=self._log_file(logical_id),
                emf=True,
            )
            self.functions[logical_id] = LocalFunction(
                spec,
                env,
                concurrency=self._concurrency(logical_id, translated),
                on_metrics=self.metrics.publish,
            )

    def _log_file(self, logical_id: str) -> Path | None:
        return self.config.log_dir / f"{logical_id}.log" if self.config.log_dir else None

    def _concurrency(self, logical_id: str, translated: dict[str, Any]) -> int:
        assert self.resolver is not None
        reserved = translated["Resources"][logical_id]["Properties"].get(
            "ReservedConcurrentExecutions"
        )
        cap = self.config.max_concurrency
        if reserved is not None:
            cap = min(cap, int(self.resolver.resolve(reserved)))
        wanted = 1
        for resource in translated["Resources"].values():
            props = resource.get("Properties", {})
            if resource["Type"] == "AWS::Lambda::EventSourceMapping" and props.get(
                "FunctionName"
            ) == {"Ref": logical_id}:
                wanted = int(props.get("ScalingConfig", {}).get("MaximumConcurrency", 2))
        if logical_id.startswith("Webhook"):
            wanted = self.config.max_concurrency
        return max(1, min(wanted, cap))

    def _base_environment(
        self, logical_id: str, props: dict[str, Any], code_dir: Path
    ) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k in HOST_VARIABLES}
        env.update(self.aws_environment())
        env.update(runtime_environment(logical_id, props, code_dir))
        env["LOCAL_ACCOUNT_ID"] = ACCOUNT_ID
        return env

    def _wire_routes(self, sam: dict[str, Any]) -> None:
        assert self.gateway is not None
        routes: list[Route] = []
        authorizers = self._authorizers(sam)
        for logical_id, resource in sam["Resources"].items():
            for event in resource.get("Properties", {}).get("Events", {}).values():
                if event["Type"] in ("HttpApi", "Api"):
                    props = event["Properties"]
                    api = props.get("ApiId", {}).get("Ref") if props.get("ApiId") else None
                    authorizer = authorizers.get(api) if api else None
                    if (props.get("Auth") or {}).get("Authorizer") == "NONE":
                        authorizer = None
                    # No Path and Method: the API's $default route (what no other takes).
                    routes.append(
                        Route(
                            str(props.get("Method", "ANY")).upper(),
                            props.get("Path", DEFAULT_ROUTE),
                            self.functions[logical_id],
                            authorizer,
                        )
                    )
        self.gateway.set_routes(routes)

    def _authorizers(self, sam: dict[str, Any]) -> dict[str, JwtAuthorizer]:
        """Each HttpApi's default JWT authorizer, resolved against the created pool."""
        assert self.resolver is not None
        found: dict[str, JwtAuthorizer] = {}
        for logical_id, resource in sam["Resources"].items():
            auth = resource.get("Properties", {}).get("Auth") or {}
            if resource["Type"] != "AWS::Serverless::HttpApi" or not auth.get("DefaultAuthorizer"):
                continue
            config = auth["Authorizers"][auth["DefaultAuthorizer"]]["JwtConfiguration"]
            found[logical_id] = JwtAuthorizer(
                issuer=str(self.resolver.resolve(config["issuer"])),
                audience=tuple(str(a) for a in self.resolver.resolve(config["audience"])),
                moto_url=self.moto_url,
            )
        return found

    def _start_operator_auth(self, sam: dict[str, Any]) -> None:
        """The pool's token endpoint and the helper tests and `make run` log in with."""
        assert self.resolver is not None
        refs = self.resolver.refs
        if "OperatorUserPool" not in refs:
            return
        pool_id = str(refs["OperatorUserPool"])
        issuer = f"https://cognito-idp.{self.config.region}.amazonaws.com/{pool_id}"
        cognito = self.client("cognito-idp")
        self._token_endpoint = TokenEndpoint(
            cognito, pool_id, issuer, self.config.host, self.config.auth_port or 0
        ).start()
        self.operator_auth = OperatorAuth(
            cognito=cognito,
            pool_id=pool_id,
            cli_client_id=str(refs["OperatorCliClient"]),
            app_client_id=str(refs["OperatorAppClient"]),
            token_url=self._token_endpoint.url,
            cognito_endpoint=self.moto_url,
            console_client_id=str(refs.get("OperatorConsoleClient", "")),
        )

    def _localize_console(self) -> None:
        """The console's client and config as they are in AWS, with this machine's
        URLs: the console on the local gateway (the same origin as the operator API),
        sign-in at the local token endpoint, media from moto's S3."""
        assert self.resolver is not None and self.gateway is not None
        refs = self.resolver.refs
        if "ConsoleConfigParameter" not in refs or self._token_endpoint is None:
            return
        cognito = self.client("cognito-idp")
        pool_id, client_id = str(refs["OperatorUserPool"]), str(refs["OperatorConsoleClient"])
        client = cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)[
            "UserPoolClient"
        ]
        updatable = {
            k: v
            for k, v in client.items()
            if k
            not in ("ClientSecret", "CreationDate", "LastModifiedDate", "UserPoolId", "ClientId")
        }
        updatable.update(CallbackURLs=[self.console_url], LogoutURLs=[self.console_url])
        cognito.update_user_pool_client(UserPoolId=pool_id, ClientId=client_id, **updatable)
        ssm = self.client("ssm")
        name = str(refs["ConsoleConfigParameter"])
        config = json.loads(ssm.get_parameter(Name=name)["Parameter"]["Value"])
        endpoint = self._token_endpoint
        config.update(
            api_url=self.gateway.url,
            authorize_url=endpoint.authorize_url,
            token_url=endpoint.url,
            logout_url=endpoint.logout_url,
            redirect_uri=self.console_url,
            media_origins=[self.moto_url],
        )
        ssm.put_parameter(Name=name, Value=json.dumps(config), Type="String", Overwrite=True)

    def _configure_queues(self) -> None:
        """The config's queue attributes, before any poller receives (see the field)."""
        assert self.resolver is not None
        if not self.config.queue_attributes:
            return
        sqs = self.client("sqs")
        for logical_id, attributes in self.config.queue_attributes.items():
            sqs.set_queue_attributes(
                QueueUrl=self.resolver.refs[logical_id], Attributes=dict(attributes)
            )

    def _wire_mappings(self, translated: dict[str, Any]) -> None:
        assert self.resolver is not None
        for logical_id, resource in translated["Resources"].items():
            if resource["Type"] != "AWS::Lambda::EventSourceMapping":
                continue
            props = resource["Properties"]
            function = self.functions[props["FunctionName"]["Ref"]]
            source, attribute = props["EventSourceArn"]["Fn::GetAtt"]
            if attribute == "StreamArn":
                self._wire_stream(logical_id, props, function)
                continue
            queue_logical = source
            spec = MappingSpec(
                logical_id=logical_id,
                queue_url=self.resolver.refs[queue_logical],
                queue_arn=self.resolver.attrs[(queue_logical, "Arn")],
                batch_size=int(props.get("BatchSize", 10)),
                batching_window_seconds=float(props.get("MaximumBatchingWindowInSeconds", 0)),
                report_batch_item_failures="ReportBatchItemFailures"
                in props.get("FunctionResponseTypes", []),
                concurrency=max(
                    1,
                    min(
                        int(props.get("ScalingConfig", {}).get("MaximumConcurrency", 2)),
                        self.config.max_concurrency,
                    ),
                ),
            )
            poller = QueuePoller(spec, function, self.client("sqs"), self.config.region)
            poller.start()
            self.pollers[logical_id] = poller

    def _wire_stream(self, logical_id: str, props: dict[str, Any], function: LocalFunction) -> None:
        """A DynamoDB stream mapping: read the table's stream, as Lambda does
        (local/streams.py: filters, batches, partial failures, on-failure record)."""
        assert self.resolver is not None
        spec = StreamMappingSpec.from_properties(
            logical_id,
            str(self.resolver.attrs[(props["FunctionName"]["Ref"], "Arn")]),
            self.resolver.resolve(props),
            self._queue_url_of,
        )
        poller = StreamPoller(spec, function, self.client("dynamodbstreams"), self.client("sqs"))
        poller.start()
        self.stream_pollers[logical_id] = poller

    def _wire_event_rules(self, translated: dict[str, Any]) -> None:
        """EventBridge rules with an event pattern on a bus, matched by `put_event`;
        their targets are invoked as EventBridge does, asynchronously, so the
        function's EventInvokeConfig (retries, on-failure destination) applies."""
        assert self.resolver is not None
        resources = translated["Resources"]
        configs = async_configs(resources, self.resolver.resolve, self._queue_url_of)
        for logical_id, resource in resources.items():
            props = resource.get("Properties", {})
            if resource["Type"] != "AWS::Events::Rule" or "EventPattern" not in props:
                continue
            target = props["Targets"][0]["Arn"]["Fn::GetAtt"][0]
            self.event_rules.append(
                EventRule(
                    logical_id=logical_id,
                    bus=str(self.resolver.resolve(props.get("EventBusName", "default"))),
                    pattern=self.resolver.resolve(props["EventPattern"]),
                    function=self.functions[target],
                    invoke=configs.get(target, AsyncInvokeConfig()),
                )
            )
        for bus in sorted({rule.bus for rule in self.event_rules}):
            rules = [rule for rule in self.event_rules if rule.bus == bus]
            self.bus_forwarders.append(
                BusForwarder(bus, rules, self.client("events"), self.client("sqs"), ACCOUNT_ID)
            )
        for forwarder in self.bus_forwarders:
            forwarder.start()

    def _queue_url_of(self, arn: str) -> str:
        assert self.resolver is not None
        for (logical_id, attr), value in self.resolver.attrs.items():
            if attr == "Arn" and value == arn and logical_id in self.resolver.refs:
                return str(self.resolver.refs[logical_id])
        raise KeyError(f"no queue with ARN {arn}")

    @property
    def business_event_bus(self) -> str:
        """The stack's own bus (template output BusinessEventBusName)."""
        return str(self.outputs["BusinessEventBusName"])

    def put_event(
        self,
        detail_type: str,
        detail: dict[str, Any],
        source: str = "business.local",
        *,
        bus: str = "default",
        event_id: str | None = None,
    ) -> list[Invocation]:
        """Publish an event on a bus (like PutEvents; `bus` as its EventBusName, the
        default bus unless named). Every rule on that bus whose pattern matches invokes
        its target; returns each target's final invocation (after Lambda's retries)."""
        event = business_event(
            detail_type, detail, source, self.config.region, ACCOUNT_ID, event_id=event_id
        )
        return [
            rule.deliver(event, self.client("sqs"))
            for rule in self.event_rules
            if rule.bus == bus and rule.matches(event)
        ]

    def _wire_schedules(self, translated: dict[str, Any]) -> None:
        """Schedules invoke their target asynchronously: its EventInvokeConfig applies."""
        assert self.resolver is not None
        configs = async_configs(translated["Resources"], self.resolver.resolve, self._queue_url_of)
        for logical_id, resource in translated["Resources"].items():
            props = resource.get("Properties", {})
            if resource["Type"] != "AWS::Events::Rule" or "ScheduleExpression" not in props:
                continue
            target = props["Targets"][0]["Arn"]["Fn::GetAtt"][0]
            rule_arn = f"arn:aws:events:{self.config.region}:{ACCOUNT_ID}:rule/{logical_id}"
            ticker = Ticker(
                ScheduleSpec(logical_id, props["ScheduleExpression"], rule_arn),
                self.functions[target],
                self.config.region,
                ACCOUNT_ID,
                speedup=self.config.schedule_speedup,
                invoke=configs.get(target, AsyncInvokeConfig()),
                sqs=self.client("sqs"),
            )
            if self.config.run_schedules:
                ticker.start()
            self.tickers[logical_id] = ticker


def use_stack_in_this_process(stack: LocalStack, logical_id: str = "SenderFunction") -> None:
    """Point this process's wacloud (settings, boto3 clients) at the local stack, as the
    given function sees it, so tools and tests can read state with the real stores."""
    import sys

    layer = str(REPO_ROOT / "layers" / "common" / "python")
    if layer not in sys.path:
        sys.path.insert(0, layer)
    env = stack.function_environment(logical_id)
    for key in (
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "TABLE_NAME",
        "META_SECRET_ID",
        "GRAPH_API_BASE_URL",
        "GRAPH_API_VERSION",
        "OUTBOUND_QUEUE_URL",
        "MEDIA_BUCKET",
    ):
        if key in env:
            os.environ[key] = env[key]
    from wacloud.infra import aws, config

    config.settings.cache_clear()
    for client in (aws.dynamodb, aws.sqs, aws.s3):
        client.cache_clear()
