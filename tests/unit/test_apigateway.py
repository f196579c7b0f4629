"""The local API Gateway over real HTTP on loopback, against a fake Lambda invoke function."""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from localcloud.apigateway import MAX_PAYLOAD_BYTES, Authorizer, LocalApiGateway, Route

API_ID = "api123"
ARN_PREFIX = f"arn:aws:execute-api:us-east-1:123456789012:{API_ID}/v1"


class FunctionError(Exception):
    """Raised by a fake function: the invocation errors, as an unhandled exception in a handler."""


Handler = Callable[[dict[str, Any]], Any]


class FakeLambda:
    """Stands in for the runtime: runs plain Python callables and records every invocation."""

    def __init__(self) -> None:
        self.functions: dict[str, Handler] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, name: str, event: dict[str, Any]) -> tuple[bytes, bool]:
        self.calls.append((name, json.loads(json.dumps(event))))  # events must be JSON-serialisable
        try:
            result = self.functions[name](event)
        except FunctionError as exc:
            return json.dumps(
                {"errorMessage": str(exc), "errorType": "Exception", "stackTrace": []}
            ).encode(), True
        return (result if isinstance(result, bytes) else json.dumps(result).encode()), False

    def calls_to(self, name: str) -> list[dict[str, Any]]:
        return [event for called, event in self.calls if called == name]


def echo(event: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(event)}


def policy(effect: str, resource: str, principal: str = "alice", **context: Any) -> dict[str, Any]:
    return {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
        "context": context,
    }


def token_authorizer(event: dict[str, Any]) -> dict[str, Any]:
    token = event["authorizationToken"]
    if token == "Bearer allow":
        return policy("Allow", f"{ARN_PREFIX}/GET/*", user="alice", admin=True, quota=3)
    if token == "Bearer narrow":  # allows exactly the method it was first asked about
        return policy("Allow", event["methodArn"])
    if token == "Bearer deny":
        return policy("Deny", "*")
    if token == "Bearer nomatch":
        return policy("Allow", f"{ARN_PREFIX}/POST/elsewhere")
    if token == "Bearer broken":
        raise FunctionError("KeyError: 'sub'")
    raise FunctionError("Unauthorized")


TOKEN_AUTH = Authorizer(name="TokenAuth", function_name="authorizer", ttl_seconds=300)
UNCACHED_AUTH = Authorizer(name="Uncached", function_name="authorizer", ttl_seconds=0)
REQUEST_AUTH = Authorizer(
    name="RequestAuth",
    function_name="request-authorizer",
    type="REQUEST",
    identity_headers=("X-Api-Key",),
    identity_query_strings=("tenant",),
)

ROUTES = [
    Route("GET", "/models/{model}/predict", "predict", None),
    Route("POST", "/models/{model}/predict", "predict", None),
    Route("GET", "/models/latest/predict", "latest", None),
    Route("ANY", "/{proxy+}", "catchall", None),
    Route("GET", "/echo", "echo", None),
    Route("POST", "/upload", "echo", None),
    Route("GET", "/respond", "respond", None),
    Route("GET", "/secure", "echo", TOKEN_AUTH),
    Route("GET", "/secure/{item}", "echo", TOKEN_AUTH),
    Route("GET", "/uncached", "echo", UNCACHED_AUTH),
    Route("GET", "/tenant", "echo", REQUEST_AUTH),
]


@pytest.fixture
def fake() -> FakeLambda:
    fake = FakeLambda()
    fake.functions.update(
        predict=echo,
        latest=echo,
        catchall=echo,
        echo=echo,
        authorizer=token_authorizer,
        **{"request-authorizer": lambda event: policy("Allow", "*", principal=event["headers"]["X-Api-Key"])},
    )
    return fake


@pytest.fixture
def gateway(fake: FakeLambda) -> Iterator[LocalApiGateway]:
    gateway = LocalApiGateway(ROUTES, fake, rest_api_id=API_ID, stage="v1")
    gateway.start()
    yield gateway
    gateway.stop()


class Client:
    """One keep-alive HTTP/1.1 connection to the gateway."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
        self.stage_path = parts.path

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: list[tuple[str, str]] | None = None,
        stage_path: str | None = None,
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        self.connection.putrequest(method, (self.stage_path if stage_path is None else stage_path) + path)
        for name, value in headers or []:
            self.connection.putheader(name, value)
        if body is not None:
            self.connection.putheader("Content-Length", str(len(body)))
        self.connection.endheaders(body)
        response = self.connection.getresponse()
        return response.status, response.headers, response.read()

    def event(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        status, _, body = self.request(method, path, **kwargs)
        assert status == 200, body
        result: dict[str, Any] = json.loads(body)
        return result


@pytest.fixture
def client(gateway: LocalApiGateway) -> Iterator[Client]:
    client = Client(gateway.url)
    yield client
    client.connection.close()


# ---------------------------------------------------------------- routing
def test_start_returns_the_stage_url(gateway: LocalApiGateway) -> None:
    assert gateway.url.startswith("http://127.0.0.1:") and gateway.url.endswith("/v1")


def test_path_parameters_reach_the_function_in_a_rest_proxy_event(client: Client, fake: FakeLambda) -> None:
    # WHEN a client calls a parameterised path
    event = client.event("GET", "/models/iris/predict", headers=[("User-Agent", "pytest")])

    # THEN the function got API Gateway's REST (v1) proxy event
    assert fake.calls[0][0] == "predict"
    assert event["resource"] == "/models/{model}/predict"
    assert event["path"] == "/models/iris/predict"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"model": "iris"}
    assert event["queryStringParameters"] is None and event["multiValueQueryStringParameters"] is None
    assert event["stageVariables"] is None
    assert event["body"] is None and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["resourcePath"] == "/models/{model}/predict"
    assert context["httpMethod"] == "GET"
    assert context["path"] == "/v1/models/iris/predict"
    assert context["stage"] == "v1"
    assert context["apiId"] == API_ID and context["accountId"] == "123456789012"
    assert context["protocol"] == "HTTP/1.1"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "pytest"
    assert isinstance(context["requestTimeEpoch"], int) and context["requestId"]
    assert context["domainName"].startswith("127.0.0.1")
    assert "authorizer" not in context


def test_a_literal_segment_wins_over_a_parameter_and_both_over_a_greedy_proxy(
    client: Client, fake: FakeLambda
) -> None:
    client.event("GET", "/models/latest/predict")
    client.event("POST", "/models/iris/predict", body=b"{}")
    proxied = client.event("GET", "/any/thing/else")

    assert [name for name, _ in fake.calls] == ["latest", "predict", "catchall"]
    assert proxied["resource"] == "/{proxy+}"
    assert proxied["pathParameters"] == {"proxy": "any/thing/else"}


def test_unknown_paths_methods_and_stages_get_missing_authentication_token(fake: FakeLambda) -> None:
    # GIVEN an API without a catch-all route
    gateway = LocalApiGateway([Route("GET", "/echo", "echo", None)], fake, rest_api_id=API_ID)
    gateway.start()
    client = Client(gateway.url)
    try:
        for method, path, stage in [
            ("GET", "/nothing", None),
            ("DELETE", "/echo", None),
            ("GET", "/echo", "/prod"),
        ]:
            # WHEN the path, the method or the stage does not exist
            status, headers, body = client.request(method, path, stage_path=stage)
            # THEN API Gateway's REST answer: 403, not 404 or 405
            assert status == 403
            assert json.loads(body) == {"message": "Missing Authentication Token"}
            assert headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
        assert fake.calls == []
    finally:
        client.connection.close()
        gateway.stop()


def test_set_routes_redeploys_without_restarting(gateway: LocalApiGateway, client: Client) -> None:
    gateway.set_routes([Route("GET", "/v2-only", "echo", None)])

    assert client.request("GET", "/echo")[0] == 403
    assert client.event("GET", "/v2-only")["resource"] == "/v2-only"


# ---------------------------------------------------------------- request mapping
def test_query_strings_are_single_and_multi_valued(client: Client) -> None:
    event = client.event("GET", "/echo?a=1&a=2&b=x%20y&empty=")

    assert event["queryStringParameters"] == {"a": "2", "b": "x y", "empty": ""}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": ["x y"], "empty": [""]}


def test_repeated_headers_are_single_and_multi_valued(client: Client) -> None:
    event = client.event("GET", "/echo", headers=[("X-Tag", "one"), ("X-Tag", "two")])

    assert event["headers"]["X-Tag"] == "two"
    assert event["multiValueHeaders"]["X-Tag"] == ["one", "two"]
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert event["headers"]["X-Forwarded-Proto"] == "http"


def test_a_text_body_is_passed_as_is_and_a_binary_body_base64_encoded(client: Client) -> None:
    text = client.event("POST", "/upload", body='{"rows": ["é"]}'.encode())
    binary = client.event("POST", "/upload", body=b"\x89PNG\r\n\x1a\n\xff\x00")

    assert text["body"] == '{"rows": ["é"]}' and text["isBase64Encoded"] is False
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == b"\x89PNG\r\n\x1a\n\xff\x00"


def test_a_body_over_10_mb_is_refused_with_413_and_the_connection_stays_usable(
    client: Client, fake: FakeLambda
) -> None:
    status, _, body = client.request("POST", "/upload", body=b"x" * (MAX_PAYLOAD_BYTES + 1))

    assert status == 413
    assert fake.calls == []
    assert client.request("GET", "/echo")[0] == 200


# ---------------------------------------------------------------- response mapping
def test_the_proxy_response_maps_to_status_headers_and_decoded_body(client: Client, fake: FakeLambda) -> None:
    fake.functions["respond"] = lambda event: {
        "statusCode": 201,
        "headers": {"X-Single": "s", "X-Both": "from-headers", "Content-Type": "image/png"},
        "multiValueHeaders": {"X-Multi": ["a", "b"], "X-Both": ["from-multi"]},
        "body": base64.b64encode(b"\x89PNG\xff").decode(),
        "isBase64Encoded": True,
    }

    status, headers, body = client.request("GET", "/respond")

    assert status == 201
    assert body == b"\x89PNG\xff"
    assert headers["Content-Type"] == "image/png"
    assert headers["X-Single"] == "s"
    assert headers.get_all("X-Multi") == ["a", "b"]
    assert headers.get_all("X-Both") == ["from-multi"]
    assert headers["x-amzn-RequestId"]


def test_a_response_without_content_type_is_sent_as_json(client: Client, fake: FakeLambda) -> None:
    fake.functions["respond"] = lambda event: {"statusCode": 200, "body": '{"ok": true}'}

    status, headers, body = client.request("GET", "/respond")

    assert (status, headers["Content-Type"], body) == (200, "application/json", b'{"ok": true}')


@pytest.mark.parametrize(
    "result",
    [
        b"not json",
        b'["a list"]',
        {"body": "no status code"},
        {"statusCode": "200", "body": "status as a string"},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "headers": ["not", "an object"]},
    ],
    ids=["not-json", "not-object", "no-status", "string-status", "object-body", "list-headers"],
)
def test_a_malformed_proxy_response_is_a_502(client: Client, fake: FakeLambda, result: Any) -> None:
    fake.functions["respond"] = lambda event: result

    status, headers, body = client.request("GET", "/respond")

    assert status == 502
    assert json.loads(body) == {"message": "Internal server error"}


def test_a_function_error_is_a_502(client: Client, fake: FakeLambda) -> None:
    def fail(event: dict[str, Any]) -> Any:
        raise FunctionError("boom")

    fake.functions["respond"] = fail

    status, _, body = client.request("GET", "/respond")

    assert (status, json.loads(body)) == (502, {"message": "Internal server error"})


# ---------------------------------------------------------------- Lambda authorizers
def test_an_allowing_token_authorizer_passes_principal_and_stringified_context(
    client: Client, fake: FakeLambda
) -> None:
    event = client.event("GET", "/secure", headers=[("Authorization", "Bearer allow")])

    (auth_event,) = fake.calls_to("authorizer")
    assert auth_event == {
        "type": "TOKEN",
        "authorizationToken": "Bearer allow",
        "methodArn": f"{ARN_PREFIX}/GET/secure",
    }
    authorizer = event["requestContext"]["authorizer"]
    assert authorizer["principalId"] == "alice"
    assert (authorizer["user"], authorizer["admin"], authorizer["quota"]) == ("alice", "true", "3")


def test_an_explicit_deny_is_a_403_and_the_function_never_runs(client: Client, fake: FakeLambda) -> None:
    status, _, body = client.request("GET", "/secure", headers=[("Authorization", "Bearer deny")])

    assert status == 403
    assert json.loads(body) == {
        "Message": "User is not authorized to access this resource with an explicit deny"
    }
    assert fake.calls_to("echo") == []


def test_a_policy_that_does_not_cover_the_method_is_a_403(client: Client) -> None:
    status, _, body = client.request("GET", "/secure", headers=[("Authorization", "Bearer nomatch")])

    assert status == 403
    assert json.loads(body) == {"Message": "User is not authorized to access this resource"}


def test_a_missing_token_is_a_401_without_calling_the_authorizer(client: Client, fake: FakeLambda) -> None:
    status, headers, body = client.request("GET", "/secure")

    assert (status, json.loads(body)) == (401, {"message": "Unauthorized"})
    assert headers["x-amzn-ErrorType"] == "UnauthorizedException"
    assert fake.calls == []


def test_an_authorizer_raising_unauthorized_is_a_401_and_any_other_error_a_500(client: Client) -> None:
    unauthorized = client.request("GET", "/secure", headers=[("Authorization", "Bearer stranger")])
    broken = client.request("GET", "/secure", headers=[("Authorization", "Bearer broken")])

    assert (unauthorized[0], json.loads(unauthorized[2])) == (401, {"message": "Unauthorized"})
    assert (broken[0], json.loads(broken[2])) == (500, {"message": None})
    assert broken[1]["x-amzn-ErrorType"] == "AuthorizerConfigurationException"


def test_authorizer_results_are_cached_per_token_and_reevaluated_per_method(
    client: Client, fake: FakeLambda
) -> None:
    # GIVEN a token whose policy allows only the first method it was asked about
    narrow = [("Authorization", "Bearer narrow")]
    assert client.request("GET", "/secure", headers=narrow)[0] == 200
    assert client.request("GET", "/secure", headers=narrow)[0] == 200

    # WHEN the same token calls another method within the TTL
    status, _, _ = client.request("GET", "/secure/item-1", headers=narrow)

    # THEN the cached policy was used (one authorizer call) and it does not cover the new method
    assert status == 403
    assert len(fake.calls_to("authorizer")) == 1
    # AND another token is authorised afresh
    assert client.request("GET", "/secure/item-1", headers=[("Authorization", "Bearer allow")])[0] == 200
    assert len(fake.calls_to("authorizer")) == 2


def test_a_zero_ttl_authorizer_is_called_every_time(client: Client, fake: FakeLambda) -> None:
    for _ in range(3):
        assert client.request("GET", "/uncached", headers=[("Authorization", "Bearer allow")])[0] == 200

    assert len(fake.calls_to("authorizer")) == 3


def test_a_request_authorizer_needs_its_identity_sources_and_sees_the_request(
    client: Client, fake: FakeLambda
) -> None:
    missing = client.request("GET", "/tenant?tenant=acme")
    event = client.event("GET", "/tenant?tenant=acme", headers=[("X-Api-Key", "key-1")])

    assert missing[0] == 401
    (auth_event,) = fake.calls_to("request-authorizer")
    assert auth_event["type"] == "REQUEST"
    assert auth_event["methodArn"] == f"{ARN_PREFIX}/GET/tenant"
    assert auth_event["queryStringParameters"] == {"tenant": "acme"}
    assert auth_event["headers"]["X-Api-Key"] == "key-1"
    assert event["requestContext"]["authorizer"]["principalId"] == "key-1"


# ---------------------------------------------------------------- the server
def test_keep_alive_serves_many_requests_on_one_connection(client: Client) -> None:
    # No timing assertion (machines vary); the same socket must serve every request.
    client.request("GET", "/echo")
    sock = client.connection.sock

    statuses = [client.request("GET", "/echo")[0] for _ in range(50)]

    assert statuses == [200] * 50
    assert client.connection.sock is sock


def test_stop_closes_the_server(fake: FakeLambda) -> None:
    gateway = LocalApiGateway(ROUTES, fake, rest_api_id=API_ID)
    client = Client(gateway.start())
    assert client.request("GET", "/echo")[0] == 200

    gateway.stop()

    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        client.request("GET", "/echo")
        Client(gateway.url).request("GET", "/echo")


def test_methods_http_server_does_not_know_get_api_gateways_json_answer() -> None:
    gateway = LocalApiGateway([], lambda name, event: (b"{}", False), rest_api_id="abc")
    url = gateway.start()
    try:
        response = requests.request("TRACE", url + "/anything", timeout=10)
        assert response.status_code == 403
        assert response.json() == {"message": "Missing Authentication Token"}
    finally:
        gateway.stop()
