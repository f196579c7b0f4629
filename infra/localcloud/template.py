"""Read a SAM template and translate it offline to CloudFormation, as `sam deploy` would."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import yaml

CODE_BUCKET = "lockgate-local-code"


class TemplateError(Exception):
    """The template cannot be deployed locally; the message names the resource and property."""


class _Loader(yaml.SafeLoader):
    pass


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        return {"Fn::GetAtt": value.split(".", 1)}
    return {f"Fn::{suffix}": value}


_Loader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path) -> dict[str, Any]:
    data = yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(data, dict) or "Resources" not in data:
        raise TemplateError(f"{path} is not a CloudFormation/SAM template (no Resources)")
    return data


class _StaticPolicyLoader:
    """SAM resolves managed policy names to ARNs through IAM; offline, AWS's ARN scheme is enough."""

    def load(self) -> dict[str, str]:
        return _ManagedPolicies()


class _ManagedPolicies(dict[str, str]):
    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and not key.startswith("arn:")

    def __getitem__(self, key: str) -> str:
        return f"arn:aws:iam::aws:policy/{key}"

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default


def translate(sam: dict[str, Any], root: Path, parameters: dict[str, str], region: str) -> dict[str, Any]:
    """SAM → CloudFormation. Local paths (CodeUri, ContentUri, DefinitionUri) are rewritten first."""
    from samtranslator.translator.transform import transform  # noqa: PLC0415 - heavy import boundary

    sam = copy.deepcopy(sam)
    for logical_id, resource in sam["Resources"].items():
        props = resource.get("Properties") or {}
        rtype = resource["Type"]
        if rtype == "AWS::Serverless::Function" and props.get("PackageType") == "Image":
            # `sam build` fills ImageUri with the image it built; locally the Dockerfile is read instead.
            props.setdefault("ImageUri", f"lockgate-local/{logical_id.lower()}:latest")
        elif rtype == "AWS::Serverless::Function":
            props["CodeUri"] = _code_uri(
                root,
                props.get("CodeUri", sam.get("Globals", {}).get("Function", {}).get("CodeUri")),
                logical_id,
            )
        elif rtype == "AWS::Serverless::LayerVersion":
            props["ContentUri"] = _code_uri(root, props.get("ContentUri"), logical_id)
        elif rtype == "AWS::Serverless::StateMachine" and isinstance(props.get("DefinitionUri"), str):
            path = root / props.pop("DefinitionUri")
            if not path.is_file():
                raise TemplateError(f"{logical_id}: DefinitionUri {path} does not exist")
            props["Definition"] = json.loads(path.read_text())
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    try:
        result: dict[str, Any] = transform(sam, parameters, _StaticPolicyLoader())
        return result
    except Exception as exc:  # samtranslator raises InvalidDocumentException with causes
        causes = getattr(exc, "causes", None)
        detail = "; ".join(str(c) for c in causes) if causes else str(exc)
        raise TemplateError(f"SAM translation failed: {detail}") from exc


def _code_uri(root: Path, uri: Any, logical_id: str) -> str:
    if not isinstance(uri, str):
        raise TemplateError(
            f"{logical_id}: CodeUri/ContentUri must be a local folder for the local cloud, got {uri!r}"
        )
    if uri.startswith("s3://"):
        return uri
    path = (root / uri).resolve()
    if not path.is_dir():
        raise TemplateError(f"{logical_id}: code folder {uri} does not exist")
    return f"s3://{CODE_BUCKET}/{path.relative_to(root.resolve())}"


def local_path(root: Path, code: dict[str, Any]) -> Path:
    """Inverse of the CodeUri rewrite: the local folder behind a translated Code/Content property."""
    if code.get("S3Bucket") != CODE_BUCKET:
        raise TemplateError(
            f"code at s3://{code.get('S3Bucket')}/{code.get('S3Key')} is not local; the local cloud runs local folders only"
        )
    return root / str(code["S3Key"])
