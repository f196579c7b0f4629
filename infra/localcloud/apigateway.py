"""A local API Gateway: REST API (v1) with Lambda proxy integrations and Lambda authorizers.

moto stores REST APIs but does not run Lambda proxy integrations. :class:`LocalApiGateway` is a
small HTTP server that does what API Gateway does for the routes of the template's ``Api``
events: match the request to a resource (literal segments before ``{param}`` before
``{proxy+}``), run the route's Lambda authorizer (TOKEN or REQUEST, policy evaluated against the
method ARN, results cached per identity), build the proxy event exactly as API Gateway does, invoke
the function through a callable supplied by the runtime, and map the proxy response back — with
API Gateway's own error responses (403 Missing Authentication Token, 401 Unauthorized, 502
Internal server error for a malformed proxy response, 413 for oversized payloads).

:func:`routes_from_sam` reads those routes from the parsed SAM template.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

logger = logging.getLogger(__name__)

InvokeFn = Callable[[str, dict[str, Any]], tuple[bytes, bool]]  # (function_name, event) -> (payload, errored)

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's request payload quota
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_ROUTE_METHODS = (*HTTP_METHODS, "ANY")
# Response headers API Gateway does not pass through from the integration; it renames them.
_REMAPPED_RESPONSE_HEADERS = {"connection", "content-length", "date", "server", "transfer-encoding"}


# ---------------------------------------------------------------- configuration values
@dataclass(frozen=True)
class Authorizer:
    """A Lambda authorizer, from the template's ``AWS::Serverless::Api`` ``Auth.Authorizers``."""

    name: str
    function_name: str
    type: str = "TOKEN"  # TOKEN or REQUEST
    identity_header: str = "Authorization"  # TOKEN: the header carrying the token
    ttl_seconds: int = 300  # ReauthorizeEvery; 0 disables caching
    validation_expression: str | None = None  # TOKEN: a token not matching it is refused (401)
    identity_headers: tuple[str, ...] = ()  # REQUEST: identity sources (all required; cache key)
    identity_query_strings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.type not in ("TOKEN", "REQUEST"):
            raise ValueError(f"authorizer {self.name!r}: type must be TOKEN or REQUEST, got {self.type!r}")
        if self.ttl_seconds < 0:
            raise ValueError(f"authorizer {self.name!r}: ttl_seconds must be >= 0")


@dataclass(frozen=True)
class Route:
    method: str  # GET/POST/.../ANY
    path: str  # "/models/{model}/predict", "/{proxy+}"
    function_name: str
    authorizer: Authorizer | None = None


@dataclass(frozen=True)
class _Resource:
    """A compiled resource path and the methods defined on it."""

    path: str
    segments: tuple[str, ...]
    methods: Mapping[str, Route]
    resource_id: str

    def match(self, parts: list[str]) -> tuple[tuple[int, ...], dict[str, str]] | None:
        """(specificity key, path parameters) if ``parts`` fall in this resource, else None."""
        params: dict[str, str] = {}
        rank: list[int] = []
        for index, segment in enumerate(self.segments):
            if segment.endswith("+}"):
                if index >= len(parts):
                    return None
                params[segment[1:-2]] = "/".join(parts[index:])
                rank.append(2)
                return tuple(rank), params
            if index >= len(parts):
                return None
            if segment.startswith("{"):
                params[segment[1:-1]] = parts[index]
                rank.append(1)
            elif segment == parts[index]:
                rank.append(0)
            else:
                return None
        if len(parts) != len(self.segments):
            return None
        return tuple(rank), params


def _split(path: str) -> list[str]:
    return [part for part in path.split("/") if part]


_SEGMENT = re.compile(r"^(\{[A-Za-z0-9_.-]+\+?\}|[^{}]+)$")


def _compile(routes: list[Route]) -> list[_Resource]:
    by_path: dict[str, dict[str, Route]] = {}
    variables: dict[tuple[str, ...], str] = {}
    for route in routes:
        method = route.method.upper()
        if method not in _ROUTE_METHODS:
            raise ValueError(f"route {route.path!r}: unsupported method {route.method!r}")
        if not route.path.startswith("/"):
            raise ValueError(f"route path {route.path!r} must start with '/'")
        segments = _split(route.path)
        for index, segment in enumerate(segments):
            if not _SEGMENT.match(segment):
                raise ValueError(f"route {route.path!r}: invalid path part {segment!r}")
            if segment.endswith("+}") and index != len(segments) - 1:
                raise ValueError(f"route {route.path!r}: a greedy {segment} must be the last path part")
            if segment.startswith("{"):
                parent = tuple(segments[:index])
                sibling = variables.setdefault(parent, segment)
                if sibling != segment:
                    # API Gateway refuses two differently named variables under one parent.
                    raise ValueError(
                        f"route {route.path!r}: a sibling ({sibling}) of this resource already has a "
                        "variable path part"
                    )
        path = "/" + "/".join(segments)
        methods = by_path.setdefault(path, {})
        if method in methods:
            raise ValueError(f"duplicate route {method} {path}")
        methods[method] = route
    return [
        _Resource(
            path=path,
            segments=tuple(_split(path)),
            methods=methods,
            resource_id=hashlib.sha256(path.encode()).hexdigest()[:6],
        )
        for path, methods in by_path.items()
    ]


# ---------------------------------------------------------------- requests and responses
@dataclass(frozen=True)
class _Request:
    method: str
    path: str  # raw, percent-encoded, without the stage
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str
    server_port: int


@dataclass
class _Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def _gateway_error(status: int, body: Mapping[str, Any], error_type: str) -> _Response:
    return _Response(
        status,
        [("Content-Type", "application/json"), ("x-amzn-ErrorType", error_type)],
        json.dumps(body).encode(),
    )


def missing_authentication_token() -> _Response:
    return _gateway_error(
        403, {"message": "Missing Authentication Token"}, "MissingAuthenticationTokenException"
    )


def _unauthorized() -> _Response:
    return _gateway_error(401, {"message": "Unauthorized"}, "UnauthorizedException")


def _internal_server_error() -> _Response:
    return _gateway_error(502, {"message": "Internal server error"}, "InternalServerErrorException")


def _authorizer_configuration_error() -> _Response:
    return _gateway_error(500, {"message": None}, "AuthorizerConfigurationException")


def _access_denied(explicit: bool) -> _Response:
    message = "User is not authorized to access this resource"
    if explicit:
        message += " with an explicit deny"
    return _gateway_error(403, {"Message": message}, "AccessDeniedException")


def request_too_long() -> _Response:
    return _gateway_error(413, {"message": "Request Too Long"}, "RequestTooLongException")


class _MalformedProxyResponseError(ValueError):
    pass


def _header_value(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise _MalformedProxyResponseError(f"{where} must be a string, got {type(value).__name__}")


def map_proxy_response(payload: bytes) -> _Response:
    """Turn a Lambda proxy integration result into the HTTP response API Gateway sends.

    Raises ``_MalformedProxyResponseError`` where API Gateway answers 502.
    """
    try:
        result = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _MalformedProxyResponseError("proxy response is not JSON") from exc
    if not isinstance(result, dict):
        raise _MalformedProxyResponseError("proxy response is not a JSON object")
    status = result.get("statusCode")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise _MalformedProxyResponseError(f"statusCode must be an integer HTTP status, got {status!r}")
    single = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        raise _MalformedProxyResponseError("headers and multiValueHeaders must be objects")
    headers: list[tuple[str, str]] = []
    multi_names = {str(name).lower() for name in multi}
    for name, values in multi.items():
        if not isinstance(values, list):
            raise _MalformedProxyResponseError(f"multiValueHeaders[{name!r}] must be a list")
        headers += [(str(name), _header_value(v, f"multiValueHeaders[{name!r}]")) for v in values]
    # Where both name a header, only the multiValueHeaders values are sent.
    headers += [
        (str(name), _header_value(value, f"headers[{name!r}]"))
        for name, value in single.items()
        if str(name).lower() not in multi_names
    ]
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        raise _MalformedProxyResponseError(f"body must be a string, got {type(body).__name__}")
    encoded = result.get("isBase64Encoded", False)
    if not isinstance(encoded, bool):
        raise _MalformedProxyResponseError("isBase64Encoded must be a boolean")
    if body is None:
        raw = b""
    elif encoded:
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _MalformedProxyResponseError("body is not valid base64") from exc
    else:
        raw = body.encode()
    headers = [
        (f"X-Amzn-Remapped-{name}" if name.lower() in _REMAPPED_RESPONSE_HEADERS else name, value)
        for name, value in headers
    ]
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return _Response(status, headers, raw)


# ---------------------------------------------------------------- authorizer policies
def _wildcard(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{regex}$", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def evaluate_policy(policy: Mapping[str, Any], method_arn: str) -> bool | None:
    """True if the policy allows ``execute-api:Invoke`` on ``method_arn``, False on an explicit
    deny, None if no statement matches (an implicit deny)."""
    allowed = False
    for statement in _as_list(policy.get("Statement", [])):
        if not isinstance(statement, dict):
            raise ValueError("policy statements must be objects")
        actions = [str(a) for a in _as_list(statement.get("Action", []))]
        resources = [str(r) for r in _as_list(statement.get("Resource", []))]
        if not any(_wildcard(a, ignore_case=True).match("execute-api:Invoke") for a in actions):
            continue
        if not any(_wildcard(r).match(method_arn) for r in resources):
            continue
        effect = statement.get("Effect")
        if effect == "Deny":
            return False
        if effect == "Allow":
            allowed = True
        else:
            raise ValueError(f"policy statement Effect must be Allow or Deny, got {effect!r}")
    return True if allowed else None


def _validated_authorizer_output(output: Any) -> dict[str, Any]:
    if not isinstance(output, dict):
        raise ValueError("authorizer output is not an object")
    if not isinstance(output.get("principalId"), str | int) or isinstance(output.get("principalId"), bool):
        raise ValueError("authorizer output has no principalId")
    policy = output.get("policyDocument")
    if not isinstance(policy, dict) or "Statement" not in policy:
        raise ValueError("authorizer output has no policyDocument with Statement")
    context = output.get("context") or {}
    if not isinstance(context, dict):
        raise ValueError("authorizer context must be an object")
    for key, value in context.items():
        if value is not None and not isinstance(value, str | int | float | bool):
            raise ValueError(f"authorizer context value {key!r} must be a string, number or boolean")
    return output


def _context_value(value: Any) -> Any:
    # API Gateway hands authorizer context values to the integration as strings.
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return None
    return str(value)


# ---------------------------------------------------------------- the gateway
class _AuthorizerCache:
    def __init__(self) -> None:
        self._entries: dict[tuple[str, tuple[str, ...]], tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, tuple[str, ...]]) -> dict[str, Any] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= time.monotonic():
                del self._entries[key]
                return None
            return entry[1]

    def put(self, key: tuple[str, tuple[str, ...]], output: dict[str, Any], ttl_seconds: int) -> None:
        if ttl_seconds > 0:
            with self._lock:
                self._entries[key] = (time.monotonic() + ttl_seconds, output)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class LocalApiGateway:
    """A REST API stage served over HTTP on loopback.

    Example
    -------
    >>> gateway = LocalApiGateway(routes, invoke, rest_api_id="abc123")  # doctest: +SKIP
    >>> base = gateway.start()  # "http://127.0.0.1:PORT/v1"  # doctest: +SKIP
    """

    def __init__(
        self,
        routes: list[Route],
        invoke: InvokeFn,
        *,
        rest_api_id: str,
        stage: str = "v1",
        host: str = "127.0.0.1",
        port: int = 0,
        region: str = "us-east-1",
        account_id: str = "123456789012",
    ) -> None:
        self._resources = _compile(routes)
        self._invoke = invoke
        self.rest_api_id = rest_api_id
        self.stage = stage
        self.region = region
        self.account_id = account_id
        self._host = host
        self._port = port
        self._routes_lock = threading.Lock()
        self._cache = _AuthorizerCache()
        self._server: _GatewayServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # -- lifecycle
    def start(self) -> str:
        """Start serving; returns the stage's base URL (``http://host:port/<stage>``)."""
        if self._server is not None:
            return self.url
        server = _GatewayServer((self._host, self._port), _GatewayHandler)
        server.gateway = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="localcloud-apigateway",
            daemon=True,
        )
        self._thread.start()
        host = "127.0.0.1" if self._host in ("0.0.0.0", "") else self._host
        self.url = f"http://{host}:{server.server_address[1]}/{self.stage}"
        return self.url

    def stop(self) -> None:
        """Stop serving and close every open connection."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def set_routes(self, routes: list[Route]) -> None:
        """Replace the routes (a redeploy). Cached authorizer results are flushed."""
        resources = _compile(routes)
        with self._routes_lock:
            self._resources = resources
        self._cache.clear()

    # -- request handling
    def handle(self, request: _Request) -> _Response:
        with self._routes_lock:
            resources = self._resources
        matched = self._match(resources, request.path)
        if matched is None:
            return missing_authentication_token()
        resource, path_params = matched
        route = resource.methods.get(request.method) or resource.methods.get("ANY")
        if route is None:
            return missing_authentication_token()
        started = datetime.now(UTC)
        event = self._proxy_event(request, resource, path_params, started)
        if route.authorizer is not None:
            outcome = self._authorize(route.authorizer, request, event)
            if isinstance(outcome, _Response):
                return outcome
            event["requestContext"]["authorizer"] = outcome
        try:
            payload, errored = self._invoke(route.function_name, event)
        except Exception:
            logger.exception(
                "invoking %s for %s %s failed", route.function_name, request.method, request.path
            )
            return _internal_server_error()
        if errored:
            logger.info("function %s failed; answering 502", route.function_name)
            return _internal_server_error()
        try:
            response = map_proxy_response(payload)
        except _MalformedProxyResponseError as exc:
            logger.warning("malformed Lambda proxy response from %s: %s", route.function_name, exc)
            return _internal_server_error()
        response.headers.append(("x-amzn-RequestId", event["requestContext"]["requestId"]))
        return response

    @staticmethod
    def _match(resources: list[_Resource], path: str) -> tuple[_Resource, dict[str, str]] | None:
        parts = _split(path)
        best: tuple[tuple[int, ...], _Resource, dict[str, str]] | None = None
        for resource in resources:
            found = resource.match(parts)
            if found is not None and (best is None or found[0] < best[0]):
                best = (found[0], resource, found[1])
        return None if best is None else (best[1], best[2])

    def method_arn(self, method: str, path: str) -> str:
        return (
            f"arn:aws:execute-api:{self.region}:{self.account_id}:{self.rest_api_id}/{self.stage}/"
            f"{method}/{path.lstrip('/')}"
        )

    def _proxy_event(
        self, request: _Request, resource: _Resource, path_params: dict[str, str], started: datetime
    ) -> dict[str, Any]:
        headers = [
            *request.headers,
            ("X-Forwarded-For", request.source_ip),
            ("X-Forwarded-Port", str(request.server_port)),
            ("X-Forwarded-Proto", "http"),
        ]
        multi_headers: dict[str, list[str]] = {}
        for name, value in headers:
            multi_headers.setdefault(name, []).append(value)
        query = parse_qsl(request.query, keep_blank_values=True)
        multi_query: dict[str, list[str]] = {}
        for name, value in query:
            multi_query.setdefault(name, []).append(value)
        user_agent = next((v for k, v in request.headers if k.lower() == "user-agent"), None)
        host = next((v for k, v in request.headers if k.lower() == "host"), None)
        domain = host or f"{self.rest_api_id}.execute-api.{self.region}.amazonaws.com"
        body: str | None
        if not request.body:
            body, is_base64 = None, False
        else:
            try:
                body, is_base64 = request.body.decode("utf-8"), False
            except UnicodeDecodeError:
                body, is_base64 = base64.b64encode(request.body).decode("ascii"), True
        request_id = str(uuid.uuid4())
        return {
            "resource": resource.path,
            "path": request.path,
            "httpMethod": request.method,
            "headers": {name: values[-1] for name, values in multi_headers.items()} or None,
            "multiValueHeaders": multi_headers or None,
            "queryStringParameters": {name: values[-1] for name, values in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": path_params or None,
            "stageVariables": None,
            "requestContext": {
                "resourceId": resource.resource_id,
                "resourcePath": resource.path,
                "httpMethod": request.method,
                "extendedRequestId": base64.b32encode(uuid.uuid4().bytes)[:16].decode(),
                "requestTime": started.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "path": f"/{self.stage}{request.path}",
                "accountId": self.account_id,
                "protocol": "HTTP/1.1",
                "stage": self.stage,
                "domainPrefix": domain.split(".")[0],
                "requestTimeEpoch": int(started.timestamp() * 1000),
                "requestId": request_id,
                "identity": {
                    "cognitoIdentityPoolId": None,
                    "accountId": None,
                    "cognitoIdentityId": None,
                    "caller": None,
                    "sourceIp": request.source_ip,
                    "principalOrgId": None,
                    "accessKey": None,
                    "cognitoAuthenticationType": None,
                    "cognitoAuthenticationProvider": None,
                    "userArn": None,
                    "userAgent": user_agent,
                    "user": None,
                },
                "domainName": domain,
                "apiId": self.rest_api_id,
            },
            "body": body,
            "isBase64Encoded": is_base64,
        }

    def _authorize(
        self, authorizer: Authorizer, request: _Request, event: dict[str, Any]
    ) -> _Response | dict[str, Any]:
        """The ``requestContext.authorizer`` for an allowed request, or the gateway's refusal."""
        method_arn = self.method_arn(request.method, request.path)
        if authorizer.type == "TOKEN":
            lookup = {name.lower(): value for name, value in request.headers}
            token = lookup.get(authorizer.identity_header.lower())
            if not token:
                return _unauthorized()
            if authorizer.validation_expression and not re.fullmatch(authorizer.validation_expression, token):
                return _unauthorized()
            identity: tuple[str, ...] = (token,)
            auth_event: dict[str, Any] = {
                "type": "TOKEN",
                "authorizationToken": token,
                "methodArn": method_arn,
            }
        else:
            sources = self._request_identity(authorizer, request, event)
            if sources is None:
                return _unauthorized()
            identity = sources
            context = {k: v for k, v in event["requestContext"].items() if k != "authorizer"}
            auth_event = {
                "type": "REQUEST",
                "methodArn": method_arn,
                **{
                    k: event[k]
                    for k in (
                        "resource",
                        "path",
                        "httpMethod",
                        "headers",
                        "multiValueHeaders",
                        "queryStringParameters",
                        "multiValueQueryStringParameters",
                        "pathParameters",
                        "stageVariables",
                    )
                },
                "requestContext": context,
            }
        cacheable = authorizer.ttl_seconds > 0 and bool(identity)
        key = (authorizer.name, identity)
        started = time.monotonic()
        output = self._cache.get(key) if cacheable else None
        latency = 0
        if output is None:
            invoked = self._invoke_authorizer(authorizer, auth_event)
            if isinstance(invoked, _Response):
                return invoked
            output = invoked
            latency = int((time.monotonic() - started) * 1000)
            if cacheable:
                self._cache.put(key, output, authorizer.ttl_seconds)
        try:
            decision = evaluate_policy(output["policyDocument"], method_arn)
        except ValueError as exc:
            logger.warning("authorizer %s returned an invalid policy: %s", authorizer.name, exc)
            return _authorizer_configuration_error()
        if decision is not True:
            return _access_denied(explicit=decision is False)
        context_values = {k: _context_value(v) for k, v in (output.get("context") or {}).items()}
        return {**context_values, "principalId": str(output["principalId"]), "integrationLatency": latency}

    @staticmethod
    def _request_identity(
        authorizer: Authorizer, request: _Request, event: dict[str, Any]
    ) -> tuple[str, ...] | None:
        lookup = {name.lower(): value for name, value in request.headers}
        query = event["queryStringParameters"] or {}
        values: list[str] = []
        for header in authorizer.identity_headers:
            value = lookup.get(header.lower())
            if not value:
                return None
            values.append(value)
        for name in authorizer.identity_query_strings:
            value = query.get(name)
            if not value:
                return None
            values.append(value)
        return tuple(values)

    def _invoke_authorizer(
        self, authorizer: Authorizer, auth_event: dict[str, Any]
    ) -> _Response | dict[str, Any]:
        try:
            payload, errored = self._invoke(authorizer.function_name, auth_event)
        except Exception:
            logger.exception("invoking authorizer %s failed", authorizer.name)
            return _authorizer_configuration_error()
        try:
            output = json.loads(payload)
        except ValueError:
            output = None
        if errored:
            message = output.get("errorMessage") if isinstance(output, dict) else None
            if message == "Unauthorized":
                return _unauthorized()
            logger.warning("authorizer %s failed: %s", authorizer.name, message)
            return _authorizer_configuration_error()
        try:
            return _validated_authorizer_output(output)
        except ValueError as exc:
            logger.warning("authorizer %s returned an invalid response: %s", authorizer.name, exc)
            return _authorizer_configuration_error()


# ---------------------------------------------------------------- HTTP plumbing
class _GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    gateway: LocalApiGateway

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        # Without TCP_NODELAY, Nagle + delayed ACK add ~40 ms to every keep-alive request.
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver prints tracebacks to stderr; a client hanging up is routine, not news.
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            logger.debug("connection from %s ended: %s", client_address, error)
        else:
            logger.exception("local API Gateway connection from %s failed", client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _GatewayHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "localcloud-apigateway"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this
    server: _GatewayServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature from the base class
        logger.debug("%s - " + format, self.address_string(), *args)

    def _serve(self) -> None:
        gateway = self.server.gateway
        body = self._read_body()  # always consumed, so the connection stays usable
        split = urlsplit(self.path)
        prefix = f"/{gateway.stage}"
        raw_path = split.path
        if raw_path != prefix and not raw_path.startswith(prefix + "/"):
            self._reply(missing_authentication_token())
            return
        if body is None:
            self._reply(request_too_long())
            return
        request = _Request(
            method=self.command,
            path=raw_path[len(prefix) :] or "/",
            query=split.query,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            server_port=self.server.server_address[1],
        )
        try:
            response = gateway.handle(request)
        except Exception:
            logger.exception("local API Gateway failed on %s %s", self.command, self.path)
            response = _internal_server_error()
        self._reply(response)

    def _read_body(self) -> bytes | None:
        """The request body, or None when it is over API Gateway's payload limit (then drained)."""
        chunks: list[bytes] = []
        total = 0

        def keep(data: bytes) -> None:
            nonlocal total
            total += len(data)
            if total <= MAX_PAYLOAD_BYTES:
                chunks.append(data)
            else:
                chunks.clear()

        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                keep(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():  # trailers
                pass
        else:
            remaining = int(self.headers.get("Content-Length") or 0)
            while remaining > 0:
                data = self.rfile.read(min(remaining, 1 << 20))
                if not data:
                    break
                remaining -= len(data)
                keep(data)
        return None if total > MAX_PAYLOAD_BYTES else b"".join(chunks)

    def _reply(self, response: _Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, CONNECT, made-up ones): http.server would answer an HTML 501;
        # route it like the rest so API Gateway's JSON 403 "Missing Authentication Token" comes back.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)


# ---------------------------------------------------------------- SAM template -> routes
_HARMLESS_API_PROPERTIES = {
    "StageName",
    "Auth",
    "Name",
    "Description",
    "Tags",
    "TracingEnabled",
    "OpenApiVersion",
    "EndpointConfiguration",
    "MethodSettings",
    "AccessLogSetting",
    "CacheClusterEnabled",
    "CacheClusterSize",
    "MinimumCompressionSize",
    "PropagateTags",
    "AlwaysDeploy",
    "DisableExecuteApiEndpoint",
}
_HARMLESS_API_AUTH = {"DefaultAuthorizer", "Authorizers", "AddDefaultAuthorizerToCorsPreflight"}
_IMPLICIT_API = "ServerlessRestApi"


@dataclass(frozen=True)
class SamRestApi:
    """The REST API a SAM template's ``Api`` events define."""

    logical_id: str  # "LockgateApi", or SAM's implicit "ServerlessRestApi"
    stage_name: str
    routes: list[Route]


def routes_from_sam(
    template: Mapping[str, Any],
    function_names: Mapping[str, str],
    *,
    parameters: Mapping[str, str] | None = None,
) -> tuple[str, list[Route]]:
    """The REST API's logical id and its routes; see :func:`api_from_sam` (which adds the stage)."""
    api = api_from_sam(template, function_names, parameters=parameters)
    return api.logical_id, api.routes


def api_from_sam(
    template: Mapping[str, Any],
    function_names: Mapping[str, str],
    *,
    parameters: Mapping[str, str] | None = None,
) -> SamRestApi:
    """The REST API (logical id, stage name, routes) defined by the template's ``Api`` events.

    ``template`` is the parsed SAM template (intrinsics as ``{"Ref": ...}`` dicts),
    ``function_names`` maps function logical ids to deployed names, ``parameters`` overrides
    template parameter defaults (for a ``StageName: !Ref Env``). Shapes this local gateway does
    not implement raise ``ValueError`` naming them.
    """
    resources: Mapping[str, Any] = template.get("Resources") or {}
    globals_api = (template.get("Globals") or {}).get("Api") or {}
    params = {
        name: str(spec.get("Default"))
        for name, spec in (template.get("Parameters") or {}).items()
        if isinstance(spec, dict) and "Default" in spec
    }
    params.update(parameters or {})

    routes: list[Route] = []
    used_apis: set[str] = set()
    apis = _SamApis(resources, globals_api, function_names)
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event_name, event in ((resource.get("Properties") or {}).get("Events") or {}).items():
            where = f"{logical_id}.Events.{event_name}"
            if event.get("Type") == "HttpApi":
                raise ValueError(
                    f"{where}: HttpApi events are not supported (the local gateway is REST API v1)"
                )
            if event.get("Type") != "Api":
                continue
            api_id, route = _route_from_event(
                where,
                logical_id,
                event.get("Properties") or {},
                function_names,
                apis,
            )
            used_apis.add(api_id)
            routes.append(route)
    if len(used_apis) > 1:
        raise ValueError(
            f"Api events target several REST APIs ({', '.join(sorted(used_apis))}); one is supported"
        )
    explicit = [lid for lid, r in resources.items() if r.get("Type") == "AWS::Serverless::Api"]
    api_id = next(iter(used_apis), explicit[0] if len(explicit) == 1 else _IMPLICIT_API)
    stage = _stage_name(api_id, _api_properties(resources, api_id, globals_api), params)
    return SamRestApi(logical_id=api_id, stage_name=stage, routes=routes)


class _SamApis:
    """The template's REST APIs, each validated once: (merged properties, authorizers by name)."""

    def __init__(
        self, resources: Mapping[str, Any], globals_api: Mapping[str, Any], function_names: Mapping[str, str]
    ) -> None:
        self._resources = resources
        self._globals = globals_api
        self._function_names = function_names
        self._seen: dict[str, tuple[dict[str, Any], dict[str, Authorizer]]] = {}

    def get(self, api_id: str) -> tuple[dict[str, Any], dict[str, Authorizer]]:
        if api_id not in self._seen:
            props = _api_properties(self._resources, api_id, self._globals)
            self._seen[api_id] = (props, _authorizers(api_id, props, self._function_names))
        return self._seen[api_id]


def _api_properties(
    resources: Mapping[str, Any], api_id: str, globals_api: Mapping[str, Any]
) -> dict[str, Any]:
    if api_id == _IMPLICIT_API and api_id not in resources:
        props: dict[str, Any] = {**globals_api, "StageName": "Prod"}
    else:
        api = resources.get(api_id)
        if api is None or api.get("Type") != "AWS::Serverless::Api":
            raise ValueError(f"RestApiId {api_id!r} is not an AWS::Serverless::Api in the template")
        props = {**globals_api, **(api.get("Properties") or {})}
    unsupported = sorted(set(props) - _HARMLESS_API_PROPERTIES)
    if unsupported:
        raise ValueError(
            f"{api_id}: Api properties not supported by the local gateway: {', '.join(unsupported)}"
        )
    auth = props.get("Auth") or {}
    extra = sorted(k for k, v in auth.items() if k not in _HARMLESS_API_AUTH and v)
    if extra:
        raise ValueError(f"{api_id}.Auth: not supported by the local gateway: {', '.join(extra)}")
    return props


def _stage_name(api_id: str, props: Mapping[str, Any], params: Mapping[str, str]) -> str:
    stage = props.get("StageName")
    if isinstance(stage, dict) and set(stage) == {"Ref"} and stage["Ref"] in params:
        return params[stage["Ref"]]
    if isinstance(stage, str) and stage:
        return stage
    raise ValueError(f"{api_id}.StageName: cannot resolve {stage!r}")


def _function_from_arn(where: str, arn: Any) -> str:
    if isinstance(arn, dict) and "Fn::GetAtt" in arn:
        target = arn["Fn::GetAtt"]
        parts = target.split(".", 1) if isinstance(target, str) else list(target)
        if len(parts) == 2 and parts[1] == "Arn":
            return str(parts[0])
    raise ValueError(f"{where}.FunctionArn: expected !GetAtt <Function>.Arn, got {arn!r}")


def _authorizers(
    api_id: str, props: Mapping[str, Any], function_names: Mapping[str, str]
) -> dict[str, Authorizer]:
    found: dict[str, Authorizer] = {}
    for name, spec in ((props.get("Auth") or {}).get("Authorizers") or {}).items():
        where = f"{api_id}.Auth.Authorizers.{name}"
        if "UserPoolArn" in spec:
            raise ValueError(f"{where}: Cognito user pool authorizers are not supported by the local gateway")
        kind = spec.get("FunctionPayloadType", "TOKEN")
        if kind not in ("TOKEN", "REQUEST"):
            raise ValueError(f"{where}.FunctionPayloadType: {kind!r} is not supported (TOKEN or REQUEST)")
        function = _function_from_arn(where, spec.get("FunctionArn"))
        if function not in function_names:
            raise ValueError(f"{where}: function {function!r} has no deployed name")
        identity = spec.get("Identity") or {}
        for unsupported in ("StageVariables", "Context"):
            if identity.get(unsupported):
                raise ValueError(f"{where}.Identity.{unsupported}: not supported by the local gateway")
        found[name] = Authorizer(
            name=name,
            function_name=function_names[function],
            type=kind,
            identity_header=identity.get("Header", "Authorization"),
            ttl_seconds=int(identity.get("ReauthorizeEvery", 300)),
            validation_expression=identity.get("ValidationExpression"),
            identity_headers=tuple(identity.get("Headers") or ()),
            identity_query_strings=tuple(identity.get("QueryStrings") or ()),
        )
    return found


def _route_from_event(
    where: str,
    logical_id: str,
    props: Mapping[str, Any],
    function_names: Mapping[str, str],
    apis: _SamApis,
) -> tuple[str, Route]:
    unsupported = sorted(set(props) - {"Path", "Method", "RestApiId", "Auth"})
    if unsupported:
        raise ValueError(
            f"{where}: Api event properties not supported by the local gateway: {', '.join(unsupported)}"
        )
    path, method = props.get("Path"), props.get("Method")
    if not isinstance(path, str) or not isinstance(method, str):
        raise ValueError(f"{where}: Path and Method must be plain strings")
    rest_api = props.get("RestApiId", {"Ref": _IMPLICIT_API})
    if not (isinstance(rest_api, dict) and set(rest_api) == {"Ref"}):
        raise ValueError(f"{where}.RestApiId: expected !Ref <Api>, got {rest_api!r}")
    api_id = str(rest_api["Ref"])
    auth = props.get("Auth") or {}
    extra = sorted(k for k, v in auth.items() if k != "Authorizer" and v)
    if extra:
        raise ValueError(f"{where}.Auth: not supported by the local gateway: {', '.join(extra)}")
    props_of_api, authorizers = apis.get(api_id)
    default = (props_of_api.get("Auth") or {}).get("DefaultAuthorizer")
    chosen = auth.get("Authorizer", default)
    authorizer: Authorizer | None = None
    if chosen not in (None, "NONE"):
        if chosen not in authorizers:
            raise ValueError(f"{where}: authorizer {chosen!r} is not declared in {api_id}.Auth.Authorizers")
        authorizer = authorizers[chosen]
    if logical_id not in function_names:
        raise ValueError(f"{where}: function {logical_id!r} has no deployed name")
    return api_id, Route(
        method=method.upper(), path=path, function_name=function_names[logical_id], authorizer=authorizer
    )
