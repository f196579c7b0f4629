"""Routes and authorizers of the local API Gateway, read from a SAM template's Api events."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from localcloud.apigateway import Authorizer, LocalApiGateway, Route, api_from_sam, routes_from_sam

FUNCTION_NAMES = {
    "PredictFunction": "lockgate-dev-predict",
    "AuthorizerFunction": "lockgate-dev-authorizer",
}


def api_event(path: str, method: str, **extra: Any) -> dict[str, Any]:
    return {
        "Type": "Api",
        "Properties": {"Path": path, "Method": method, "RestApiId": {"Ref": "LockgateApi"}, **extra},
    }


def template() -> dict[str, Any]:
    return {
        "Transform": "AWS::Serverless-2016-10-31",
        "Parameters": {"Env": {"Type": "String", "Default": "dev"}},
        "Resources": {
            "LockgateApi": {
                "Type": "AWS::Serverless::Api",
                "Properties": {
                    "StageName": "v1",
                    "TracingEnabled": True,
                    "Auth": {
                        "DefaultAuthorizer": "TokenAuth",
                        "Authorizers": {
                            "TokenAuth": {
                                "FunctionArn": {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]},
                                "Identity": {"Header": "X-Token", "ReauthorizeEvery": 60},
                            },
                            "KeyAuth": {
                                "FunctionPayloadType": "REQUEST",
                                "FunctionArn": {"Fn::GetAtt": "AuthorizerFunction.Arn"},
                                "Identity": {"Headers": ["X-Api-Key"], "QueryStrings": ["tenant"]},
                            },
                        },
                    },
                },
            },
            "PredictFunction": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Handler": "app.handler",
                    "Events": {
                        "Predict": api_event("/models/{model}/predict", "post"),
                        "Health": api_event("/health", "get", Auth={"Authorizer": "NONE"}),
                        "Keyed": api_event("/keyed/{proxy+}", "any", Auth={"Authorizer": "KeyAuth"}),
                        "Nightly": {"Type": "Schedule", "Properties": {"Schedule": "rate(1 day)"}},
                    },
                },
            },
            "AuthorizerFunction": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"Handler": "app.handler"},
            },
            "DataBucket": {"Type": "AWS::S3::Bucket"},
        },
    }


TOKEN_AUTH = Authorizer(
    name="TokenAuth", function_name="lockgate-dev-authorizer", identity_header="X-Token", ttl_seconds=60
)
KEY_AUTH = Authorizer(
    name="KeyAuth",
    function_name="lockgate-dev-authorizer",
    type="REQUEST",
    identity_headers=("X-Api-Key",),
    identity_query_strings=("tenant",),
)


def test_api_events_become_routes_with_their_authorizers() -> None:
    # WHEN the routes are read from a template with a default authorizer and per-event overrides
    api = api_from_sam(template(), FUNCTION_NAMES)

    # THEN each Api event is a route to the deployed function, guarded as the template says
    assert api.logical_id == "LockgateApi"
    assert api.stage_name == "v1"
    assert api.routes == [
        Route("POST", "/models/{model}/predict", "lockgate-dev-predict", TOKEN_AUTH),
        Route("GET", "/health", "lockgate-dev-predict", None),
        Route("ANY", "/keyed/{proxy+}", "lockgate-dev-predict", KEY_AUTH),
    ]
    assert routes_from_sam(template(), FUNCTION_NAMES) == ("LockgateApi", api.routes)
    # AND they are routes the gateway accepts
    LocalApiGateway(api.routes, lambda name, event: (b"{}", False), rest_api_id="abc")


def test_a_stage_name_given_by_a_parameter_resolves_to_its_default_or_override() -> None:
    sam = template()
    sam["Resources"]["LockgateApi"]["Properties"]["StageName"] = {"Ref": "Env"}

    assert api_from_sam(sam, FUNCTION_NAMES).stage_name == "dev"
    assert api_from_sam(sam, FUNCTION_NAMES, parameters={"Env": "prod"}).stage_name == "prod"


def test_events_without_rest_api_id_use_sams_implicit_api_and_prod_stage() -> None:
    sam = {
        "Resources": {
            "PredictFunction": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Events": {"Get": {"Type": "Api", "Properties": {"Path": "/x", "Method": "get"}}}
                },
            }
        }
    }

    api = api_from_sam(sam, FUNCTION_NAMES)

    assert (api.logical_id, api.stage_name) == ("ServerlessRestApi", "Prod")
    assert api.routes == [Route("GET", "/x", "lockgate-dev-predict", None)]


def _with(change: Any) -> dict[str, Any]:
    sam = copy.deepcopy(template())
    change(sam)
    return sam


def _event_props(sam: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = sam["Resources"]["PredictFunction"]["Properties"]["Events"]["Predict"][
        "Properties"
    ]
    return props


def _authorizers(sam: dict[str, Any]) -> dict[str, Any]:
    auth: dict[str, Any] = sam["Resources"]["LockgateApi"]["Properties"]["Auth"]["Authorizers"]
    return auth


def _point_predict_at_a_second_api(sam: dict[str, Any]) -> None:
    sam["Resources"]["OtherApi"] = {"Type": "AWS::Serverless::Api", "Properties": {"StageName": "v1"}}
    _event_props(sam)["RestApiId"] = {"Ref": "OtherApi"}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (
            lambda sam: _event_props(sam).update(RequestParameters=["method.request.header.X"]),
            "RequestParameters",
        ),
        (lambda sam: _event_props(sam).update(Auth={"Authorizer": "Nobody"}), "'Nobody' is not declared"),
        (lambda sam: _event_props(sam).update(Auth={"ApiKeyRequired": True}), "ApiKeyRequired"),
        (lambda sam: _authorizers(sam)["TokenAuth"].update(FunctionPayloadType="JWT"), "FunctionPayloadType"),
        (lambda sam: _authorizers(sam).update(Pool={"UserPoolArn": "arn:pool"}), "Cognito"),
        (lambda sam: _authorizers(sam)["TokenAuth"].update(FunctionArn="arn:aws:lambda:x"), "FunctionArn"),
        (lambda sam: sam["Resources"]["LockgateApi"]["Properties"].update(Cors="'*'"), "Cors"),
        (
            lambda sam: sam["Resources"]["LockgateApi"]["Properties"].update(DefinitionBody={}),
            "DefinitionBody",
        ),
        (
            lambda sam: sam["Resources"]["PredictFunction"]["Properties"]["Events"].update(
                V2={"Type": "HttpApi", "Properties": {"Path": "/v2", "Method": "get"}}
            ),
            "HttpApi",
        ),
        (_point_predict_at_a_second_api, "several REST APIs"),
    ],
    ids=[
        "event-property",
        "unknown-authorizer",
        "api-key",
        "payload-type",
        "cognito",
        "literal-arn",
        "cors",
        "openapi-body",
        "http-api",
        "two-apis",
    ],
)
def test_unsupported_shapes_fail_loudly_naming_what_is_unsupported(change: Any, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        api_from_sam(_with(change), FUNCTION_NAMES)


def test_a_function_without_a_deployed_name_is_refused() -> None:
    with pytest.raises(ValueError, match="PredictFunction"):
        api_from_sam(template(), {"AuthorizerFunction": "lockgate-dev-authorizer"})
