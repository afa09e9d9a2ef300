"""Which AWS call a request is, how to answer it with an error in its own
protocol, and the Smithy RPC v2 CBOR bridge.

Recent botocore releases call CodeDeploy over Smithy RPC v2 CBOR
(POST /service/<ServiceShape>/operation/<Operation>, application/cbor), which
moto does not speak. The bridge turns such a request into the equivalent
awsJson 1.1 request for moto and turns moto's JSON answer back into CBOR,
typed by the botocore output shape (timestamps as CBOR tag 1)."""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import botocore.session
import cbor2

# X-Amz-Target prefixes of the JSON services greenlight uses, and a few more.
TARGET_PREFIXES = {
    "AmazonEC2ContainerServiceV20141113": "ecs",
    "CodeDeploy_20141006": "codedeploy",
    "AmazonEC2ContainerRegistry_V20150921": "ecr",
    "Logs_20140328": "logs",
    "secretsmanager": "secretsmanager",
    "AmazonSSM": "ssm",
    "TrentService": "kms",
    "AWSEvents": "events",
    "AWSCognitoIdentityProviderService": "cognito-idp",
    "DynamoDB_20120810": "dynamodb",
    "AmazonSQS": "sqs",
}

# SigV4 signing names that differ from the service name we report.
SIGNING_NAMES = {"monitoring": "cloudwatch", "email": "ses", "states": "stepfunctions"}

_CBOR_PATH = re.compile(r"^/service/([^/]+)/operation/([^/]+)/?$")
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")


@dataclass
class RequestInfo:
    service: str | None
    action: str | None
    protocol: str  # json | cbor | query | rest
    json_version: str = "1.1"
    target_prefix: str | None = None


def _signing_scope(environ: dict[str, Any]) -> tuple[str | None, str | None]:
    """(signing name, region) from a SigV4 Authorization header."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    match = _CREDENTIAL_SCOPE.search(auth)
    if not match:
        return None, None
    region, service = match.group(1), match.group(2)
    return service, region


@cache
def _cbor_service(target_prefix: str, signing_name: str | None) -> tuple[str | None, str]:
    """(botocore service name, awsJson version) for a Smithy service shape name."""
    name = TARGET_PREFIXES.get(target_prefix) or SIGNING_NAMES.get(signing_name or "", signing_name)
    version = "1.1"
    if name:
        try:
            model = service_model(name)
            version = str(model.metadata.get("jsonVersion", "1.1"))
        except Exception:  # noqa: BLE001 - unknown to botocore: keep the default
            pass
    return name, version


@cache
def service_model(name: str) -> Any:
    return botocore.session.get_session().get_service_model(name)


def identify(environ: dict[str, Any], body: bytes) -> RequestInfo:
    path = environ.get("PATH_INFO", "") or ""
    signing_name, _region = _signing_scope(environ)
    content_type = (environ.get("CONTENT_TYPE") or "").lower()

    cbor_match = _CBOR_PATH.match(path)
    if cbor_match and ("cbor" in content_type or environ.get("HTTP_SMITHY_PROTOCOL") == "rpc-v2-cbor"):
        prefix, operation = cbor_match.group(1), cbor_match.group(2)
        service, version = _cbor_service(prefix, signing_name)
        return RequestInfo(service, operation, "cbor", version, prefix)

    target = environ.get("HTTP_X_AMZ_TARGET")
    if target and "." in target:
        prefix, action = target.rsplit(".", 1)
        service = TARGET_PREFIXES.get(prefix) or SIGNING_NAMES.get(signing_name or "", signing_name)
        version = "1.0" if "1.0" in content_type else "1.1"
        return RequestInfo(service, action, "json", version, prefix)

    params: dict[str, list[str]] = {}
    if environ.get("QUERY_STRING"):
        params.update(parse_qs(environ["QUERY_STRING"]))
    if content_type.startswith("application/x-www-form-urlencoded") and body:
        try:
            params.update(parse_qs(body.decode("utf-8")))
        except UnicodeDecodeError:
            pass
    if "Action" in params:
        action = params["Action"][0]
        service = SIGNING_NAMES.get(signing_name or "", signing_name)
        if service == "elasticloadbalancing":
            version = (params.get("Version") or [""])[0]
            service = "elbv2" if version == "2015-12-01" else "elb"
        return RequestInfo(service, action, "query")

    service = SIGNING_NAMES.get(signing_name or "", signing_name)
    method = environ.get("REQUEST_METHOD", "GET")
    return RequestInfo(service, f"{method} {path}", "rest")


def route_by_target(environ: dict[str, Any], info: RequestInfo) -> None:
    """moto picks the backend from the SigV4 credential scope. For a JSON call whose
    X-Amz-Target names a known service, make the scope agree with it, so that an
    unsigned or loosely signed call (curl, a test harness) reaches that service."""
    if info.protocol not in ("json", "cbor") or info.target_prefix not in TARGET_PREFIXES:
        return
    service = TARGET_PREFIXES[info.target_prefix]
    signing_name, region = _signing_scope(environ)
    if signing_name == service:
        return
    region = region or "us-east-1"
    scope = f"Credential=testing/20000101/{region}/{service}/aws4_request"
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if _CREDENTIAL_SCOPE.search(auth):
        environ["HTTP_AUTHORIZATION"] = _CREDENTIAL_SCOPE.sub(scope, auth, count=1)
    else:
        environ["HTTP_AUTHORIZATION"] = f"AWS4-HMAC-SHA256 {scope}, SignedHeaders=host, Signature=0"


# ----------------------------------------------------------------------
# Errors in the request's own protocol
# ----------------------------------------------------------------------
_STATUS_TEXT = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def status_line(status: int) -> str:
    return f"{status} {_STATUS_TEXT.get(status, 'Error')}"


def error_response(info: RequestInfo, status: int, code: str, message: str) -> tuple[str, list[tuple[str, str]], bytes]:
    request_id = str(uuid.uuid4())
    headers = [("x-amzn-RequestId", request_id)]
    if info.protocol == "cbor":
        body = cbor2.dumps({"__type": code, "message": message})
        headers += [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")]
    elif info.protocol == "query":
        if code == "ThrottlingException":
            code = "Throttling"
        kind = "Sender" if status < 500 else "Receiver"
        body = (
            "<ErrorResponse><Error>"
            f"<Type>{kind}</Type><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers += [("Content-Type", "text/xml")]
    elif info.protocol == "json":
        body = json.dumps({"__type": code, "message": message}).encode()
        headers += [("Content-Type", f"application/x-amz-json-{info.json_version}")]
    else:
        body = json.dumps({"message": message}).encode()
        headers += [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)]
    headers.append(("Content-Length", str(len(body))))
    return status_line(status), headers, body


# ----------------------------------------------------------------------
# CBOR <-> JSON
# ----------------------------------------------------------------------
def _cbor_to_json_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _cbor_to_json_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cbor_to_json_value(v) for v in value]
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.timestamp()
    if isinstance(value, cbor2.CBORTag):
        return _cbor_to_json_value(value.value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode()
    if value is cbor2.undefined:
        return None
    return value


def cbor_request_to_json(body: bytes) -> bytes:
    if not body:
        return b"{}"
    decoded = cbor2.loads(body)
    if decoded is None:
        decoded = {}
    return json.dumps(_cbor_to_json_value(decoded)).encode()


def _typed_for_cbor(value: Any, shape: Any) -> Any:
    if value is None or shape is None:
        return value
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return value
        out = {}
        for key, member in value.items():
            member_shape = shape.members.get(key)
            out[key] = _typed_for_cbor(member, member_shape) if member_shape is not None else member
        return out
    if kind == "list":
        return [_typed_for_cbor(v, shape.member) for v in value] if isinstance(value, list) else value
    if kind == "map":
        return {k: _typed_for_cbor(v, shape.value) for k, v in value.items()} if isinstance(value, dict) else value
    if kind == "timestamp":
        if isinstance(value, (int, float)):
            return cbor2.CBORTag(1, float(value))
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
                return cbor2.CBORTag(1, parsed.timestamp())
            except ValueError:
                return value
        return value
    if kind == "blob" and isinstance(value, str):
        try:
            return base64.b64decode(value)
        except ValueError:
            return value
    if kind in ("double", "float") and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def json_response_to_cbor(service: str | None, operation: str | None, status: int, body: bytes) -> bytes:
    try:
        parsed = json.loads(body) if body else {}
    except ValueError:
        parsed = {"__type": "InternalFailure", "message": body.decode("utf-8", "replace")}
    if status >= 400:
        if not isinstance(parsed, dict):
            parsed = {}
        error = {"__type": str(parsed.get("__type") or parsed.get("code") or "InternalFailure")}
        message = parsed.get("message", parsed.get("Message"))
        if message is not None:
            error["message"] = message
        return cbor2.dumps(error)
    output_shape = None
    if service and operation:
        try:
            output_shape = service_model(service).operation_model(operation).output_shape
        except Exception:  # noqa: BLE001 - no model: encode the JSON value as it is
            output_shape = None
    return cbor2.dumps(_typed_for_cbor(parsed, output_shape) if output_shape is not None else parsed)
