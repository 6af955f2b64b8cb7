#!/usr/bin/env python3
"""A local AWS for sampipe's end-to-end tests: moto's server, patched where our suite needs
moto to behave like real AWS.

    local-aws --host 127.0.0.1 --port N [--decision-log FILE]
    local-aws --version           # prints moto's version

Everything is local: no patch makes a network call. Each patch says which AWS behaviour
it reproduces and why moto (5.2.5) lacks it:

1. STS AssumeRoleWithWebIdentity enforces trust like STS (moto admits any token for any
   role): the role's account must hold the token's OIDC provider, `aud` must be one of its
   client ids, and the role's trust policy must allow the claims (see `decide`).
2. CloudFormation creates, updates and deletes AWS::IAM::OIDCProvider (moto skips it).
3. CloudFormation expands `Transform: AWS::Serverless-2016-10-31` with samtranslator, with
   the stack's parameter values and no IAM calls (moto ignores the Transform and then
   skips every AWS::Serverless::* resource).
4. Change sets: an executed change set leaves the stack's Outputs, Parameters,
   Description and exports in place (moto kept the Outputs of the empty template the
   change set was created on: null); CreateChangeSet with nothing to change gives a FAILED
   "didn't contain changes" change set (moto raised "No updates are to be performed.");
   a TemplateURL on the local endpoint is read path-style.
5. DeletionPolicy Retain/RetainExceptOnCreate also holds when an update removes the
   resource (moto honours it only on delete-stack).
6. Placeholders (a physical id, no effect) for types SAM templates commonly hold that moto
   cannot create: see PLACEHOLDER_TYPES.
7. API Gateway: a RestApi from its Swagger/OpenAPI Body, real AWS::ApiGateway::Stage,
   HTTP APIs (AWS::ApiGatewayV2::Api from its Body, ::Stage), RestApi deleted with its stack.
8. Lambda: Version (Ref = ARN, GetAtt Version), real Alias, Ref of LayerVersion = ARN, and
   Layers/Architectures/PackageType/TracingConfig/Tags reach the function.
9. AWS::SNS::Subscription subscribes.
10. AWS::StepFunctions::StateMachine: DefinitionSubstitutions are applied to the definition.
11. Calling a deployed REST API: moto's server cannot (it routes by path and signature, not
   by Host, and runs Lambda code only in Docker). Here a request with
   `Host: {api}.execute-api.{region}.amazonaws.com` and path `/{stage}/{path}`, or one to
   `/restapis/{api}/{stage}/_user_request_/{path}` (LocalStack's path form), is answered as
   API Gateway would: the stage's most specific resource and its method (or ANY); a Lambda
   proxy integration runs a Python function's handler on this machine (see `invoke_python`)
   and answers with its statusCode/headers/body; a MOCK integration answers its status.
   API Gateway's errors: 403 "Missing Authentication Token" (no such resource or method),
   403 "Forbidden" (no such stage), 502 "Internal server error" (the function failed, timed
   out, answered malformed, or cannot run here, e.g. a non-Python runtime), each with an
   `x-local-aws-why` header saying which; HTTP APIs and other integrations answer 501.
   Every call is logged as `local-aws: execute-api {...}`, a function's output after it.

Not patched, because moto already does what AWS does: an AWS::IAM::Role's
PermissionsBoundary reaches CreateRole and GetRole reports it, and the SAM transform (3.)
passes a function's or state machine's PermissionsBoundary on to the roles it makes; the
suite checks every deployed role's boundary that way. moto does not evaluate IAM policies
(the execution role's boundary condition is not enforced here), and a stack update that only
changes a role's boundary is not applied (moto's Role update ignores it; no test does that).

Web identity tokens: the runner mints unsigned JWTs,
    base64url('{"alg":"none","typ":"JWT"}') + "." + base64url(claims JSON) + "."
unpadded, as JWTs are; exactly that shape is accepted and `iss` must be an https:// URL.
The answers are real STS's:
    malformed token                         400 InvalidIdentityToken "The ID Token provided is not a valid JWT."
    exp in the past (exp is optional)       400 ExpiredTokenException
    no provider for iss in the role's account  400 InvalidIdentityToken "No OpenIDConnect provider found in your account for <iss>"
    aud not a client id of that provider    400 InvalidIdentityToken "Incorrect token audience"
    no such role / trust policy refuses     403 AccessDenied "Not authorized to perform sts:AssumeRoleWithWebIdentity"
Every decision is logged as one JSON line `local-aws: sts-decision {...}` (role, claims,
decision, error, why) on stderr, and appended to --decision-log FILE (or
$LOCAL_AWS_DECISION_LOG) when given.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import copy
import json
import os
import re
import sys
import threading
import time
import urllib.parse
import warnings
from typing import Any

# moto's model metaclass files every model under the service named by `moto.<service>...`.
MOTO_MODULE = "moto.local_aws"
LOG_LOCK = threading.Lock()
DECISION_LOG: str | None = None


def log_decision(record: dict[str, Any]) -> None:
    line = "local-aws: sts-decision " + json.dumps(record, sort_keys=True)
    with LOG_LOCK:
        print(line, file=sys.stderr, flush=True)
        if DECISION_LOG:
            with open(DECISION_LOG, "a", encoding="utf-8") as f:
                f.write(line + "\n")


# ---------------------------------------------------------------------------------------
# 1. AssumeRoleWithWebIdentity trust evaluation
# ---------------------------------------------------------------------------------------

GITHUB_ISSUER = "token.actions.githubusercontent.com"
# The claims IAM exposes as condition keys `<provider>:<claim>`. For every OIDC provider:
# aud and sub. For GitHub's issuer IAM also exposes these (AWS IAM User Guide, "Available
# keys for AWS web identity federation" / GitHub OIDC claims).
COMMON_KEYS = ("aud", "sub")
GITHUB_KEYS = (
    "actor",
    "actor_id",
    "job_workflow_ref",
    "repository",
    "repository_id",
    "workflow",
    "ref",
    "environment",
    "enterprise_id",
)
EXPECTED_HEADER = {"alg": "none", "typ": "JWT"}


class Refusal(Exception):
    """Why STS refuses: `code` is the STS error code, `status` its HTTP status."""

    def __init__(self, code: str, status: int, message: str, why: str):
        super().__init__(message)
        self.code, self.status, self.message, self.why = code, status, message, why


def access_denied(why: str) -> Refusal:
    return Refusal(
        "AccessDenied", 403, "Not authorized to perform sts:AssumeRoleWithWebIdentity", why
    )


def b64url_json(part: str, what: str) -> Any:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", part):
        raise ValueError(f"{what} is not base64url")
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        return json.loads(raw.decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{what} is not base64url JSON: {e}") from e


def decode_token(token: str) -> dict[str, Any]:
    """The claims of an unsigned test JWT; raises Refusal(InvalidIdentityToken) otherwise."""
    try:
        if not isinstance(token, str):
            raise ValueError("no token")
        parts = token.split(".")
        if len(parts) != 3 or parts[2] != "":
            raise ValueError("not header.claims. (three parts, empty signature)")
        header = b64url_json(parts[0], "header")
        if header != EXPECTED_HEADER:
            raise ValueError(f"header must be {EXPECTED_HEADER}, got {header}")
        claims = b64url_json(parts[1], "claims")
        if not isinstance(claims, dict):
            raise ValueError("claims are not a JSON object")
        iss = claims.get("iss")
        if not isinstance(iss, str) or not iss.startswith("https://"):
            raise ValueError("iss must be an https:// URL")
    except ValueError as e:
        # Real STS: InvalidIdentityToken (400) for a token it cannot parse.
        raise Refusal(
            "InvalidIdentityToken", 400, "The ID Token provided is not a valid JWT.", str(e)
        ) from e
    exp = claims.get("exp")
    if isinstance(exp, (int, float)) and not isinstance(exp, bool) and exp <= time.time():
        # Real STS refuses an expired token (ExpiredTokenException, 400). No exp: no check.
        raise Refusal("ExpiredTokenException", 400, "Token expired", f"exp {exp} is past")
    return claims


def like(pattern: str, value: str) -> bool:
    """IAM StringLike: `*` any run of characters (including none and `/`), `?` one."""
    rx = "".join(
        ".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern
    )
    return re.fullmatch(rx, value, flags=re.DOTALL) is not None


def listify(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


def claim_for_key(key: str, provider_url: str, claims: dict[str, Any]) -> list[str] | None:
    """The token's values for condition key `key`, or None when IAM has no such key for
    this token (another provider's key, a claim IAM does not expose, an absent claim)."""
    # Condition key names are case-insensitive in IAM; claim names are lower case.
    prefix = provider_url.lower() + ":"
    if not key.lower().startswith(prefix):
        return None
    claim = key[len(prefix):].lower()
    exposed = COMMON_KEYS + (GITHUB_KEYS if provider_url == GITHUB_ISSUER else ())
    if claim not in exposed or claim not in claims:
        return None
    return [str(v) for v in listify(claims[claim])]


def condition_holds(condition: Any, provider_url: str, claims: dict[str, Any]) -> tuple[bool, str]:
    """Evaluates a statement's Condition block (all operators and keys must hold: AND;
    the values listed for one key: OR)."""
    if condition is None:
        return True, "no condition"
    if not isinstance(condition, dict):
        raise access_denied(f"malformed Condition {condition!r}")
    for operator, keys in condition.items():
        qualifier, _, op = operator.rpartition(":")
        if op not in ("StringEquals", "StringLike", "StringNotEquals", "StringNotLike") or (
            qualifier not in ("", "ForAnyValue", "ForAllValues")
        ):
            # Fail closed: an operator we do not model must not let a token in (nor let a
            # Deny be skipped), so the whole request is refused.
            raise access_denied(f"condition operator {operator} is not modelled by local-aws")
        if not isinstance(keys, dict):
            raise access_denied(f"malformed condition {operator}: {keys!r}")
        for key, wanted in keys.items():
            patterns = [str(w) for w in listify(wanted)]
            values = claim_for_key(key, provider_url, claims)
            if values is None:
                # StringEquals/StringLike are not ...IfExists: a missing key fails them.
                # (IAM evaluates the negated forms to true on a missing key.)
                if op.startswith("StringNot"):
                    continue
                return False, f"{operator} {key}: no such key for this token"
            match = like if op.endswith("Like") else (lambda p, v: p == v)

            def one(v: str) -> bool:
                hit = any(match(p, v) for p in patterns)
                return not hit if op.startswith("StringNot") else hit

            ok = all(one(v) for v in values) if qualifier == "ForAllValues" else any(
                one(v) for v in values
            )
            if not ok:
                return False, f"{operator} {key}: {values} against {patterns}"
    return True, "conditions hold"


def statement_applies(stmt: dict[str, Any], provider_arn: str) -> bool:
    principal = stmt.get("Principal")
    if not isinstance(principal, dict):
        return False
    if provider_arn not in listify(principal.get("Federated", [])):
        return False
    actions = [str(a).lower() for a in listify(stmt.get("Action", []))]
    return any(like(a, "sts:assumerolewithwebidentity") for a in actions)


def decide(role_arn: str, claims: dict[str, Any]) -> tuple[str, str]:
    """Returns (provider ARN, why) when STS would admit the token; raises Refusal otherwise."""
    from moto.iam.models import iam_backends

    m = re.fullmatch(r"arn:(aws[a-z-]*):iam::(\d{12}):role/(.+)", role_arn or "")
    if not m:
        raise Refusal("ValidationError", 400, f"{role_arn} is invalid", "malformed role ARN")
    partition, account, _ = m.groups()
    iam = iam_backends[account][partition]
    issuer = claims["iss"][len("https://"):].rstrip("/")
    provider_arn = f"arn:{partition}:iam::{account}:oidc-provider/{issuer}"
    provider = iam.open_id_providers.get(provider_arn)
    if provider is None:
        # Real STS answers InvalidIdentityToken (400) when the role's account has no
        # provider for the token's issuer.
        raise Refusal(
            "InvalidIdentityToken",
            400,
            f"No OpenIDConnect provider found in your account for {claims['iss']}",
            f"no {provider_arn}",
        )
    auds = [str(a) for a in listify(claims.get("aud"))]
    if not any(a in provider.client_id_list for a in auds):
        # Real STS: InvalidIdentityToken "Incorrect token audience" (400).
        raise Refusal(
            "InvalidIdentityToken",
            400,
            "Incorrect token audience",
            f"aud {auds} not in the provider's client ids {provider.client_id_list}",
        )
    try:
        role = iam.get_role_by_arn(role_arn)
    except Exception:
        raise access_denied(f"no role {role_arn} in account {account}")
    policy = role.assume_role_policy_document
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except json.JSONDecodeError:
            raise access_denied("trust policy is not JSON")
    statements = [s for s in listify(policy.get("Statement", [])) if isinstance(s, dict)]
    allowed, refused = None, []
    for i, stmt in enumerate(statements):
        if not statement_applies(stmt, provider_arn):
            continue
        holds, why = condition_holds(stmt.get("Condition"), issuer, claims)
        sid = stmt.get("Sid", f"#{i}")
        if holds and stmt.get("Effect") == "Deny":
            raise access_denied(f"explicit Deny in statement {sid}: {why}")
        if holds and stmt.get("Effect") == "Allow":
            allowed = allowed or f"statement {sid}: {why}"
        elif not holds:
            refused.append(f"statement {sid}: {why}")
    if allowed is None:
        raise access_denied(
            "; ".join(refused) or f"no statement trusts {provider_arn} for sts:AssumeRoleWithWebIdentity"
        )
    return provider_arn, allowed


def patch_sts() -> None:
    from moto.core.responses import ActionResult
    from moto.sts.exceptions import STSClientError
    from moto.sts.responses import TokenResponse

    original = TokenResponse.assume_role_with_web_identity

    def assume_role_with_web_identity(self: Any) -> Any:
        role_arn = self._get_param("RoleArn")
        token = self._get_param("WebIdentityToken")
        record: dict[str, Any] = {"role": role_arn}
        try:
            claims = decode_token(token)
            record["claims"] = claims
            provider_arn, why = decide(role_arn, claims)
        except Refusal as refusal:
            record.update(decision="deny", error=refusal.code, why=refusal.why)
            log_decision(record)
            error = STSClientError(refusal.code, refusal.message)
            status, headers, body = self.serialized(ActionResult(error))
            headers["status"] = refusal.status
            return body, headers
        record.update(decision="allow", provider=provider_arn, why=why)
        log_decision(record)
        # moto's own implementation then mints keys that moto maps to the role's account
        # (sts/models.py _create_access_key), so the session acts in that account.
        return original(self)

    TokenResponse.assume_role_with_web_identity = assume_role_with_web_identity


# ---------------------------------------------------------------------------------------
# 2. AWS::IAM::OIDCProvider in CloudFormation
# ---------------------------------------------------------------------------------------


def patch_oidc_provider_resource() -> None:
    from moto.core.common_models import CloudFormationModel
    from moto.iam.models import iam_backends
    from moto.utilities.utils import get_partition

    class CfnOIDCProvider(CloudFormationModel):
        """AWS::IAM::OIDCProvider: Ref and GetAtt Arn are the provider's ARN. Changing Url
        replaces the provider; ClientIdList/ThumbprintList/Tags update it in place."""

        __module__ = MOTO_MODULE

        def __init__(self, account_id: str, partition: str, arn: str):
            self.account_id, self.partition, self.arn = account_id, partition, arn

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::IAM::OIDCProvider"

        @staticmethod
        def cloudformation_name_type() -> str:
            return ""

        @property
        def physical_resource_id(self) -> str:
            return self.arn

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr == "Arn"

        def get_cfn_attribute(self, attribute_name: str) -> str:
            if attribute_name == "Arn":
                return self.arn
            from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

            raise UnformattedGetAttTemplateException()

        @classmethod
        def create_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> "CfnOIDCProvider":
            props = cloudformation_json.get("Properties", {})
            partition = get_partition(region_name)
            tags = [{"Key": t["Key"], "Value": t["Value"]} for t in props.get("Tags", [])]
            provider = iam_backends[account_id][partition].create_open_id_connect_provider(
                props["Url"], props.get("ThumbprintList", []), props.get("ClientIdList", []), tags
            )
            return cls(account_id, partition, provider.arn)

        @classmethod
        def update_from_cloudformation_json(  # type: ignore[override]
            cls, original_resource: "CfnOIDCProvider", new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
        ) -> "CfnOIDCProvider":
            props = cloudformation_json.get("Properties", {})
            iam = iam_backends[original_resource.account_id][original_resource.partition]
            provider = iam.open_id_providers.get(original_resource.arn)
            parsed = urllib.parse.urlparse(props["Url"])
            if provider is None or provider.url != parsed.netloc + parsed.path:
                new = cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
                iam.delete_open_id_connect_provider(original_resource.arn)
                return new
            provider.client_id_list = list(props.get("ClientIdList", []))
            provider.thumbprint_list = list(props.get("ThumbprintList", []))
            return original_resource

        def delete(self, account_id: str, region_name: str) -> None:
            iam_backends[self.account_id][self.partition].delete_open_id_connect_provider(self.arn)

    globals()["CfnOIDCProvider"] = CfnOIDCProvider


# ---------------------------------------------------------------------------------------
# 6. Placeholders for resource types moto's CloudFormation does not model
# ---------------------------------------------------------------------------------------

PLACEHOLDER_TYPES = (
    "AWS::ApiGateway::Account",
    "AWS::ApiGateway::BasePathMapping",
    "AWS::ApiGateway::DomainName",
    "AWS::ApiGatewayV2::Integration",
    "AWS::ApiGatewayV2::Route",
    "AWS::ApiGatewayV2::Authorizer",
    "AWS::ApiGatewayV2::ApiMapping",
    "AWS::ApiGatewayV2::DomainName",
    "AWS::Lambda::Url",
    "AWS::Lambda::EventInvokeConfig",
    "AWS::SQS::QueuePolicy",
    "AWS::SNS::TopicPolicy",
    "AWS::Scheduler::Schedule",
    "AWS::CloudWatch::Alarm",
    "AWS::CodeDeploy::Application",
    "AWS::CodeDeploy::DeploymentGroup",
    # Deliberately not applied: moto enforces a bucket policy's Deny statements without
    # their Conditions, so the pipeline template's DenyInsecureTransport
    # (aws:SecureTransport = false) would refuse every request, including the HTTPS-in-
    # real-life uploads `sam deploy` makes. get-bucket-policy therefore finds nothing.
    "AWS::S3::BucketPolicy",
)


def patch_placeholders() -> list[str]:
    """Registers a placeholder model for each type in PLACEHOLDER_TYPES moto lacks; returns
    the types registered. Real AWS creates these; the e2e suite only needs the stack to reach
    *_COMPLETE and references to them to resolve."""
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel

    known = set(parsing.get_model_map())
    added = []
    for rtype in PLACEHOLDER_TYPES:
        if rtype in known:
            continue
        short = rtype.split("::", 1)[1].replace("::", "")

        def make(rtype: str) -> type:
            class Placeholder(CloudFormationModel):
                __module__ = MOTO_MODULE

                def __init__(self, physical_id: str, properties: dict[str, Any]):
                    self.physical_id = physical_id
                    self.properties = properties

                @staticmethod
                def cloudformation_type() -> str:
                    return rtype

                @staticmethod
                def cloudformation_name_type() -> str:
                    return ""

                @property
                def physical_resource_id(self) -> str:
                    return self.physical_id

                @classmethod
                def has_cfn_attr(cls, attr: str) -> bool:
                    return True

                def get_cfn_attribute(self, attribute_name: str) -> str:
                    # e.g. ApiGatewayV2::Api ApiEndpoint, Lambda::Url FunctionUrl
                    if attribute_name == "FunctionUrl":
                        return f"https://{self.physical_id}.lambda-url.localhost/"
                    return f"{self.physical_id}.{attribute_name}"

                @classmethod
                def create_from_cloudformation_json(  # type: ignore[override]
                    cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
                ) -> "Placeholder":
                    props = cloudformation_json.get("Properties", {})
                    return cls(resource_name, props)

                @classmethod
                def update_from_cloudformation_json(  # type: ignore[override]
                    cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
                ) -> Any:
                    original_resource.properties = cloudformation_json.get("Properties", {})
                    return original_resource

                def delete(self, account_id: str, region_name: str) -> None:
                    pass

            Placeholder.__name__ = Placeholder.__qualname__ = f"Placeholder{short}"
            return Placeholder

        globals()[f"Placeholder{short}"] = make(rtype)
        added.append(rtype)
    return added


# ---------------------------------------------------------------------------------------
# 3. The SAM transform, 4. change sets, 5. Retain on update
# ---------------------------------------------------------------------------------------

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
TRANSLATE_LOCK = threading.Lock()  # samtranslator keeps the region in a class attribute
FUNCTION_LOCK = threading.Lock()


class StaticPolicyLoader:
    """samtranslator's ManagedPolicyLoader without IAM calls: AWS managed policy names to
    ARNs from the list moto ships (moto/iam/aws_managed_policies.py)."""

    def __init__(self, partition: str):
        self.partition = partition

    def load(self) -> dict[str, str]:
        from moto.iam.aws_managed_policies import aws_managed_policies_data

        data = json.loads(aws_managed_policies_data)
        return {
            name: f"arn:{self.partition}:iam::aws:policy{p.get('Path', '/')}{name}"
            for name, p in data.items()
        }


class RegionSession:
    """What samtranslator reads from a boto session: the region."""

    def __init__(self, region_name: str):
        self.region_name = region_name


def has_sam_transform(template: Any) -> bool:
    if not isinstance(template, dict):
        return False
    return SAM_TRANSFORM in listify(template.get("Transform", []))


def sam_transform(template: dict[str, Any], parameters: dict[str, Any], account_id: str, region: str) -> dict[str, Any]:
    """Real CloudFormation expands AWS::Serverless-2016-10-31 before it reads the resources;
    moto has no transforms. Parameter values are the stack's (as CloudFormation passes them)."""
    from moto.cloudformation.exceptions import ValidationError
    from moto.utilities.utils import get_partition
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    partition = get_partition(region)
    values = dict(parameters or {})
    values.setdefault("AWS::AccountId", account_id)
    values.setdefault("AWS::Region", region)
    values.setdefault("AWS::Partition", partition)
    loader = StaticPolicyLoader(partition)
    fragment = copy.deepcopy(template)
    with TRANSLATE_LOCK:
        translator = Translator(None, Parser(), boto_session=RegionSession(region))
        try:
            out = translator.translate(
                fragment, parameter_values=values, get_managed_policy_map=loader.load
            )
        except InvalidDocumentException as e:
            causes = " ".join(c.message for c in e.causes)
            raise ValidationError(message=f"Transform {SAM_TRANSFORM} failed with: {causes}")
    # The Transform is consumed; further transforms (other macros) are not modelled.
    rest = [t for t in listify(out.pop("Transform", [])) if t != SAM_TRANSFORM]
    if rest:
        out["Transform"] = rest
    return out


def patch_cloudformation() -> None:
    from moto.cloudformation import models as cfn_models
    from moto.cloudformation import parsing

    Stack, ChangeSet = cfn_models.Stack, cfn_models.ChangeSet

    # -- 3. transform every template moto parses, with that stack's parameters --
    stack_init = Stack.__init__

    def stack_init_patched(self: Any, *args: Any, **kwargs: Any) -> None:
        # _parse_template runs inside __init__ before moto stores the parameters.
        names = ("stack_id", "name", "template", "parameters", "account_id", "region_name")
        bound = dict(zip(names, args))
        bound.update(kwargs)
        self._local_aws_parameters = bound.get("parameters") or {}
        self._local_aws_region = bound.get("region_name")
        stack_init(self, *args, **kwargs)
        self._local_aws_parameters = None  # from now on self.parameters is right

    def stack_parse_template(self: Any) -> None:
        raw = Stack.parse_template(self.template)
        if has_sam_transform(raw):
            params = getattr(self, "_local_aws_parameters", None)
            if params is None:
                params = getattr(self, "parameters", {})
            region = getattr(self, "region_name", None) or self._local_aws_region
            raw = sam_transform(raw, params, self.account_id, region)
        self.template_dict = raw

    def stack_has_template(self: Any, other_template: str) -> bool:
        # Compare what was submitted, as CloudFormation does, not the expansion.
        if self.template in ({}, None, ""):
            return False
        return Stack.parse_template(self.template) == Stack.parse_template(other_template)

    stack_update = Stack.update

    def stack_update_patched(self: Any, template: str, role_arn: Any = None, parameters: Any = None, tags: Any = None) -> None:
        self._local_aws_parameters = parameters if parameters else self.parameters
        try:
            stack_update(self, template, role_arn, parameters=parameters, tags=tags)
        finally:
            self._local_aws_parameters = None

    Stack.__init__ = stack_init_patched
    Stack._parse_template = stack_parse_template
    Stack.has_template = stack_has_template
    Stack.update = stack_update_patched

    def change_set_parse_template(self: Any) -> None:
        raw = Stack.parse_template(self.template)
        if has_sam_transform(raw):
            raw = sam_transform(raw, self.parameters, self.stack.account_id, self.stack.region_name)
        self.template_dict = raw

    ChangeSet._parse_template = change_set_parse_template

    # -- 4. execute-change-set leaves the stack as an update-stack would --
    backend_cls = cfn_models.CloudFormationBackend
    execute = backend_cls.execute_change_set

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = self.change_sets.get(change_set_name) or next(
            (
                cs
                for cs in self.change_sets.values()
                if cs.change_set_name == change_set_name
                and (stack_name is None or stack_name in (cs.stack_name, cs.stack_id))
            ),
            None,
        )
        if change_set is None:
            return execute(self, change_set_name, stack_name)
        if change_set.execution_status != "AVAILABLE":
            # Real CloudFormation refuses to execute a FAILED (e.g. empty) change set.
            from moto.cloudformation.exceptions import ValidationError

            raise ValidationError(
                message=f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current status of [{change_set.status}]"
            )
        execute(self, change_set.change_set_id, stack_name)
        stack = self.stacks[change_set.stack_id]
        stack.parameters = {
            key: ",".join(str(v) for v in value) if isinstance(value, list) else value
            for key, value in (change_set.parameters or {}).items()
        }
        stack.template_dict = change_set.template_dict
        stack.description = stack.template_dict.get("Description")
        if change_set.tags is not None:
            stack.tags = change_set.tags
        # moto built the OutputMap from the empty template the change set was created on.
        old_exports = {e.name for e in stack.exports}
        stack.output_map = stack._create_output_map()
        for name in old_exports:
            self.exports.pop(name, None)
        self._validate_export_uniqueness(stack)
        for export in stack.exports:
            self.exports[export.name] = export

    backend_cls.execute_change_set = execute_change_set

    # CreateChangeSet with nothing to change succeeds in real CloudFormation: the change set
    # is FAILED with "The submitted information didn't contain changes..." (the backend
    # already does that), which `deploy --no-fail-on-empty-changeset` and `sam deploy`
    # read as "No changes to deploy". moto's response layer instead raises UpdateStack's
    # "No updates are to be performed." before the backend sees the request.
    from moto.cloudformation.responses import CloudFormationResponse

    create_change_set = CloudFormationResponse.create_change_set

    def create_change_set_patched(self: Any) -> Any:
        self._validate_different_update = lambda *args, **kwargs: None
        return create_change_set(self)

    CloudFormationResponse.create_change_set = create_change_set_patched

    # A TemplateURL on the local endpoint (`http://127.0.0.1:PORT/bucket/key`, what
    # `sam deploy` and `aws cloudformation deploy --s3-bucket` produce with a custom endpoint)
    # is path-style, as real S3 URLs are. moto recognises path style only on amazonaws.com
    # or "localhost" and otherwise takes the first label of the host ("127") as the bucket.
    from moto.cloudformation import responses as cfn_responses
    from moto.cloudformation import utils as cfn_utils

    from_s3_url = cfn_utils.get_stack_from_s3_url

    def get_stack_from_s3_url(template_url: str, account_id: str, partition: str) -> str:
        url = urllib.parse.urlparse(template_url)
        host = (url.hostname or "").lower()
        if host and not host.endswith("amazonaws.com") and "localhost" not in template_url:
            template_url = url._replace(netloc="localhost").geturl()
        return from_s3_url(template_url, account_id=account_id, partition=partition)

    cfn_utils.get_stack_from_s3_url = get_stack_from_s3_url
    cfn_responses.get_stack_from_s3_url = get_stack_from_s3_url
    if hasattr(cfn_models, "get_stack_from_s3_url"):
        cfn_models.get_stack_from_s3_url = get_stack_from_s3_url

    # -- 5. Retain on removal during an update --
    delete_resource = parsing.ResourceMap._delete_resource

    def delete_resource_patched(self: Any, parsed_resource: Any, resource_json: dict[str, Any]) -> None:
        if resource_json.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate"):
            return
        delete_resource(self, parsed_resource, resource_json)

    parsing.ResourceMap._delete_resource = delete_resource_patched


# ---------------------------------------------------------------------------------------
# 7. API Gateway from CloudFormation: RestApi Body, Stage
# ---------------------------------------------------------------------------------------


def patch_apigateway() -> None:
    """Real CloudFormation creates a RestApi from its OpenAPI/Swagger `Body` (what SAM's
    `AWS::Serverless::Api` and implicit APIs produce: no `Name`, the name is the document's
    info.title) and creates the `AWS::ApiGateway::Stage` SAM adds (e.g. `Prod`). moto
    requires `Name`, imports only OpenAPI 3 bodies through the API (not from
    CloudFormation), and has no Stage model."""
    from moto.apigateway import models as apigw
    from moto.core.common_models import CloudFormationModel
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    def create_rest_api(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        props = cloudformation_json["Properties"]
        body = props.get("Body")
        location = props.get("BodyS3Location")
        if body is None and isinstance(location, dict):
            key = s3_backends[account_id][get_partition(region_name)].get_object(
                location["Bucket"], location["Key"]
            )
            body = Stack_parse(key.value.decode("utf-8"))
        if isinstance(body, str):
            body = Stack_parse(body)
        title = (body or {}).get("info", {}).get("title") if isinstance(body, dict) else None
        backend = apigw.apigateway_backends[account_id][region_name]
        api = backend.create_rest_api(
            name=props.get("Name") or title or resource_name,
            description=props.get("Description", ""),
            endpoint_configuration=props.get("EndpointConfiguration"),
        )
        if isinstance(body, dict) and isinstance(body.get("paths"), dict):
            doc = {k: v for k, v in body.items() if k != "swagger"}
            doc["openapi"] = "3.0.1"  # moto's importer reads paths the same way for both
            doc["paths"] = {
                path: {
                    ("ANY" if verb == "x-amazon-apigateway-any-method" else verb): op
                    for verb, op in ops.items()
                    if isinstance(op, dict) and (verb.lower() in HTTP_VERBS or verb == "x-amazon-apigateway-any-method")
                }
                for path, ops in body["paths"].items()
                if isinstance(ops, dict)
            }
            backend.put_rest_api(api.id, doc, fail_on_warnings=False, mode="overwrite")
        return api

    apigw.RestAPI.create_from_cloudformation_json = classmethod(create_rest_api)

    # delete-stack deletes the RestApi (moto's model has no delete: it outlived its stack).
    def delete_rest_api(self: Any, account_id: str, region_name: str) -> None:
        apigw.apigateway_backends[self.account_id][self.region_name].apis.pop(self.id, None)

    apigw.RestAPI.delete = delete_rest_api
    # `Ref` to an AWS::ApiGateway::Deployment is its id (moto returns the object, so a
    # Stage's DeploymentId was not a string).
    apigw.Deployment.physical_resource_id = property(lambda self: self.id)

    class CfnStage(CloudFormationModel):
        __module__ = MOTO_MODULE

        def __init__(self, account_id: str, region_name: str, api_id: str, name: str):
            self.account_id, self.region_name, self.api_id, self.name = account_id, region_name, api_id, name

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::ApiGateway::Stage"

        @staticmethod
        def cloudformation_name_type() -> str:
            return "StageName"

        @property
        def physical_resource_id(self) -> str:
            return self.name

        @classmethod
        def create_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> "CfnStage":
            props = cloudformation_json["Properties"]
            backend = apigw.apigateway_backends[account_id][region_name]
            backend.create_stage(
                props["RestApiId"],
                props["StageName"],
                props.get("DeploymentId"),
                variables=props.get("Variables"),
                description=props.get("Description", ""),
                tracing_enabled=props.get("TracingEnabled"),
            )
            return cls(account_id, region_name, props["RestApiId"], props["StageName"])

        @classmethod
        def update_from_cloudformation_json(  # type: ignore[override]
            cls, original_resource: "CfnStage", new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
        ) -> "CfnStage":
            original_resource.delete(account_id, region_name)
            return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

        def delete(self, account_id: str, region_name: str) -> None:
            try:
                apigw.apigateway_backends[self.account_id][self.region_name].delete_stage(self.api_id, self.name)
            except Exception:
                pass  # the RestApi went first

    globals()["CfnStage"] = CfnStage

    # HTTP APIs (SAM's AWS::Serverless::HttpApi and HttpApi events): real CloudFormation
    # creates the API from its OpenAPI `Body` and the `$default` stage; moto's apigatewayv2
    # has the API model (and an OpenAPI import) but no CloudFormation support.
    from moto.apigatewayv2.models import apigatewayv2_backends

    class CfnHttpApi(CloudFormationModel):
        __module__ = MOTO_MODULE

        def __init__(self, account_id: str, region_name: str, api: Any):
            self.account_id, self.region_name, self.api = account_id, region_name, api

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::ApiGatewayV2::Api"

        @staticmethod
        def cloudformation_name_type() -> str:
            return ""

        @property
        def physical_resource_id(self) -> str:
            return self.api.api_id

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr in ("ApiEndpoint", "ApiId")

        def get_cfn_attribute(self, attribute_name: str) -> str:
            if attribute_name == "ApiEndpoint":
                return self.api.api_endpoint
            return self.api.api_id

        @classmethod
        def create_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> "CfnHttpApi":
            props = cloudformation_json["Properties"]
            body = props.get("Body")
            location = props.get("BodyS3Location")
            if body is None and isinstance(location, dict):
                key = s3_backends[account_id][get_partition(region_name)].get_object(
                    location["Bucket"], location["Key"]
                )
                body = Stack_parse(key.value.decode("utf-8"))
            title = body.get("info", {}).get("title") if isinstance(body, dict) else None
            backend = apigatewayv2_backends[account_id][region_name]
            api = backend.create_api(
                api_key_selection_expression=props.get("ApiKeySelectionExpression"),
                cors_configuration=props.get("CorsConfiguration"),
                description=props.get("Description") or (body or {}).get("info", {}).get("description"),
                disable_schema_validation=props.get("DisableSchemaValidation"),
                disable_execute_api_endpoint=props.get("DisableExecuteApiEndpoint"),
                name=props.get("Name") or title or resource_name,
                protocol_type=props.get("ProtocolType", "HTTP"),
                route_selection_expression=props.get("RouteSelectionExpression"),
                tags=props.get("Tags") or {},
                version=props.get("Version"),
            )
            if isinstance(body, dict) and isinstance(body.get("paths"), dict):
                paths = {
                    path: {verb: op for verb, op in ops.items() if isinstance(op, dict)}
                    for path, ops in body["paths"].items()
                    if isinstance(ops, dict)
                }
                api.import_api(json.dumps({"paths": paths}), fail_on_warnings=False)
            return cls(account_id, region_name, api)

        @classmethod
        def update_from_cloudformation_json(  # type: ignore[override]
            cls, original_resource: "CfnHttpApi", new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
        ) -> "CfnHttpApi":
            props = cloudformation_json["Properties"]
            body = props.get("Body")
            if isinstance(body, dict) and isinstance(body.get("paths"), dict):
                paths = {
                    path: {verb: op for verb, op in ops.items() if isinstance(op, dict)}
                    for path, ops in body["paths"].items()
                    if isinstance(ops, dict)
                }
                original_resource.api.import_api(json.dumps({"paths": paths}), fail_on_warnings=False)
            return original_resource

        def delete(self, account_id: str, region_name: str) -> None:
            apigatewayv2_backends[self.account_id][self.region_name].delete_api(self.api.api_id)

    class CfnHttpStage(CloudFormationModel):
        __module__ = MOTO_MODULE

        def __init__(self, account_id: str, region_name: str, api_id: str, name: str):
            self.account_id, self.region_name, self.api_id, self.name = account_id, region_name, api_id, name

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::ApiGatewayV2::Stage"

        @staticmethod
        def cloudformation_name_type() -> str:
            return "StageName"

        @property
        def physical_resource_id(self) -> str:
            return self.name

        @classmethod
        def create_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> "CfnHttpStage":
            props = cloudformation_json["Properties"]
            api = apigatewayv2_backends[account_id][region_name].get_api(props["ApiId"])
            api.create_stage(
                {
                    "stageName": props["StageName"],
                    "autoDeploy": props.get("AutoDeploy"),
                    "description": props.get("Description"),
                    "stageVariables": props.get("StageVariables") or {},
                    "tags": props.get("Tags") or {},
                }
            )
            return cls(account_id, region_name, props["ApiId"], props["StageName"])

        @classmethod
        def update_from_cloudformation_json(  # type: ignore[override]
            cls, original_resource: "CfnHttpStage", new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
        ) -> "CfnHttpStage":
            original_resource.delete(account_id, region_name)
            return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

        def delete(self, account_id: str, region_name: str) -> None:
            backend = apigatewayv2_backends[self.account_id][self.region_name]
            if self.api_id in backend.apis:
                backend.apis[self.api_id].delete_stage(self.name)

    globals()["CfnHttpApi"], globals()["CfnHttpStage"] = CfnHttpApi, CfnHttpStage


HTTP_VERBS = ("get", "put", "post", "delete", "options", "head", "patch")


def Stack_parse(text: str) -> Any:
    from moto.cloudformation.models import Stack

    return Stack.parse_template(text)


# ---------------------------------------------------------------------------------------
# 8. Lambda versions and aliases (SAM's AutoPublishAlias)
# ---------------------------------------------------------------------------------------


def patch_lambda_versions() -> None:
    """`AutoPublishAlias` makes an AWS::Lambda::Version and an AWS::Lambda::Alias whose
    FunctionVersion is `!GetAtt <Version>.Version`. In AWS, Ref of a Version is its ARN and
    the Alias exists in Lambda; moto's Version has no attributes (GetAtt crashes the stack)
    and moto has no Alias model."""
    from moto.awslambda import models as lam
    from moto.core.common_models import CloudFormationModel

    version_create = lam.LambdaVersion.create_from_cloudformation_json.__func__

    def create_version(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        version = version_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        fn = lam.lambda_backends[account_id][region_name].get_function(
            cloudformation_json["Properties"]["FunctionName"]
        )
        version.arn = f"{fn.function_arn}:{version.version}"
        return version

    lam.LambdaVersion.create_from_cloudformation_json = classmethod(create_version)
    lam.LambdaVersion.physical_resource_id = property(lambda self: self.arn)
    lam.LambdaVersion.has_cfn_attr = classmethod(lambda cls, attr: attr in ("Version", "FunctionArn"))
    lam.LambdaVersion.get_cfn_attribute = lambda self, attr: str(self.version) if attr == "Version" else self.arn

    # Ref of an AWS::Lambda::LayerVersion is its ARN (moto returns the object, so a
    # function's `Layers: [!Ref Layer]` and outputs got a Python repr).
    if not isinstance(getattr(lam.LayerVersion, "physical_resource_id", None), property):
        lam.LayerVersion.physical_resource_id = property(lambda self: self.arn)

    # CloudFormation passes every AWS::Lambda::Function property to Lambda; moto's
    # CloudFormation model forwards only a few and drops Layers, Architectures, PackageType
    # (image functions), TracingConfig, Tags... which its Lambda API does model.
    function_create = lam.LambdaFunction.create_from_cloudformation_json.__func__
    forwarded = (
        "Architectures", "EphemeralStorage", "ImageConfig", "KmsKeyArn", "Layers",
        "PackageType", "TracingConfig", "CodeSigningConfigArn", "DeadLetterConfig",
    )

    def create_function(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        props = cloudformation_json["Properties"]
        extra = {k: props[k] for k in forwarded if k in props}
        if "KmsKeyArn" in extra:
            extra["KMSKeyArn"] = extra.pop("KmsKeyArn")
        if isinstance(props.get("Tags"), list):
            extra["Tags"] = {t["Key"]: t["Value"] for t in props["Tags"]}
        backend = lam.lambda_backends[account_id][region_name]
        create = backend.create_function

        def create_with_extra(spec: dict[str, Any]) -> Any:
            return create({**extra, **spec})

        # create_function is looked up on the backend per call: shadow it for this call only
        # (the server is threaded, so under a lock).
        with FUNCTION_LOCK:
            backend.create_function = create_with_extra
            try:
                return function_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
            finally:
                del backend.create_function

    lam.LambdaFunction.create_from_cloudformation_json = classmethod(create_function)

    class CfnAlias(CloudFormationModel):
        __module__ = MOTO_MODULE

        def __init__(self, account_id: str, region_name: str, function: str, alias: Any):
            self.account_id, self.region_name, self.function, self.alias = account_id, region_name, function, alias

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::Lambda::Alias"

        @staticmethod
        def cloudformation_name_type() -> str:
            return "Name"

        @property
        def physical_resource_id(self) -> str:
            return self.alias.arn

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr in ("AliasArn",)

        def get_cfn_attribute(self, attribute_name: str) -> str:
            return self.alias.arn

        @classmethod
        def create_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> "CfnAlias":
            props = cloudformation_json["Properties"]
            backend = lam.lambda_backends[account_id][region_name]
            function = backend.get_function(props["FunctionName"]).function_name
            alias = backend.create_alias(
                props["Name"], function, str(props["FunctionVersion"]),
                props.get("Description", ""), props.get("RoutingConfig"),
            )
            return cls(account_id, region_name, function, alias)

        @classmethod
        def update_from_cloudformation_json(  # type: ignore[override]
            cls, original_resource: "CfnAlias", new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
        ) -> "CfnAlias":
            original_resource.delete(account_id, region_name)
            return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

        def delete(self, account_id: str, region_name: str) -> None:
            try:
                lam.lambda_backends[self.account_id][self.region_name].delete_alias(self.alias.name, self.function)
            except Exception:
                pass  # the function went first, and its aliases with it

    globals()["CfnAlias"] = CfnAlias


# ---------------------------------------------------------------------------------------
# 9. SNS subscriptions
# ---------------------------------------------------------------------------------------


def patch_subscriptions() -> None:
    """AWS::SNS::Subscription (SAM's SNS events) subscribes in AWS; moto's CloudFormation
    skips it although its SNS models subscriptions."""
    from moto.core.common_models import CloudFormationModel
    from moto.sns.models import sns_backends

    class CfnSubscription(CloudFormationModel):
        __module__ = MOTO_MODULE

        def __init__(self, account_id: str, region_name: str, arn: str):
            self.account_id, self.region_name, self.arn = account_id, region_name, arn

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::SNS::Subscription"

        @staticmethod
        def cloudformation_name_type() -> str:
            return ""

        @property
        def physical_resource_id(self) -> str:
            return self.arn

        @classmethod
        def create_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> "CfnSubscription":
            props = cloudformation_json["Properties"]
            backend = sns_backends[account_id][props.get("Region") or region_name]
            sub = backend.subscribe(props["TopicArn"], props["Endpoint"], props["Protocol"])
            for attr in ("FilterPolicy", "RawMessageDelivery", "FilterPolicyScope"):
                if attr in props:
                    value = props[attr]
                    value = json.dumps(value) if isinstance(value, dict) else str(value).lower() if isinstance(value, bool) else value
                    backend.set_subscription_attributes(sub.arn, attr, value)
            return cls(account_id, props.get("Region") or region_name, sub.arn)

        @classmethod
        def update_from_cloudformation_json(  # type: ignore[override]
            cls, original_resource: "CfnSubscription", new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
        ) -> "CfnSubscription":
            original_resource.delete(account_id, region_name)
            return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

        def delete(self, account_id: str, region_name: str) -> None:
            sns_backends[self.account_id][self.region_name].unsubscribe(self.arn)

    globals()["CfnSubscription"] = CfnSubscription


# ---------------------------------------------------------------------------------------
# 10. Step Functions state machines (SAM's AWS::Serverless::StateMachine)
# ---------------------------------------------------------------------------------------


def substitute_definition(properties: dict[str, Any]) -> dict[str, Any]:
    """The state machine's properties with each `${Name}` of DefinitionString replaced by
    DefinitionSubstitutions' Name, as CloudFormation does before it calls Step Functions."""
    substitutions = properties.get("DefinitionSubstitutions")
    definition = properties.get("DefinitionString")
    if not isinstance(substitutions, dict) or not isinstance(definition, str):
        return properties
    for name, value in substitutions.items():
        definition = definition.replace("${" + str(name) + "}", str(value))
    return {**properties, "DefinitionString": definition}


def patch_step_functions() -> None:
    """SAM turns a state machine's inline `Definition` into DefinitionString with
    `${...}` placeholders and DefinitionSubstitutions (GetAtt of the functions it calls, the
    table it writes); CloudFormation substitutes them. moto passes DefinitionString through,
    so the deployed definition named no function."""
    from moto.stepfunctions.models import StateMachine

    create = StateMachine.create_from_cloudformation_json.__func__
    update = StateMachine.update_from_cloudformation_json.__func__

    def create_substituted(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        spec = {**cloudformation_json, "Properties": substitute_definition(cloudformation_json.get("Properties", {}))}
        return create(cls, resource_name, spec, account_id, region_name, **kwargs)

    def update_substituted(cls: Any, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> Any:
        spec = {**cloudformation_json, "Properties": substitute_definition(cloudformation_json.get("Properties", {}))}
        return update(cls, original_resource, new_resource_name, spec, account_id, region_name)

    StateMachine.create_from_cloudformation_json = classmethod(create_substituted)
    StateMachine.update_from_cloudformation_json = classmethod(update_substituted)


def patch_parameter_echo() -> None:
    """DescribeStacks reports each parameter as it was given: CloudFormation echoes a
    CommaDelimitedList as `a,b` and a Number as its text. moto resolves lists to Python
    lists and prints their repr (`['a', 'b']`), so a byte-exact check of a deployed
    parameter could never pass. NoEcho parameters stay masked (moto compared their values
    with the NoEcho key names, so it never masked them)."""
    from moto.cloudformation.models import Stack

    def parameter_list(self: Any) -> list[dict[str, Any]]:
        hidden = self.resource_map.no_echo_parameter_keys
        listed = []
        for key, value in self.resource_map.resolved_parameters.items():
            if key in hidden:
                text = "****"
            elif isinstance(value, list):
                text = ",".join(str(v) for v in value)
            else:
                text = str(value)
            listed.append({"ParameterKey": key, "ParameterValue": text})
        return listed

    Stack.parameter_list = property(parameter_list)  # type: ignore[assignment]

    # `UsePreviousValue` (what `sam deploy` sends for every parameter it does not override)
    # takes moto's resolved value, a list for a CommaDelimitedList: an unchanged stack then
    # looked changed, and a redeploy of the same build was never "No changes to deploy".
    # CloudFormation compares parameters as the text they were given.
    def as_given(parameters: Any) -> dict[str, str]:
        return {
            key: ",".join(str(v) for v in value) if isinstance(value, list) else str(value)
            for key, value in (parameters or {}).items()
        }

    # A parameter left out takes its default, on create and on update alike, so "given the
    # default" and "given nothing" are the same stack.
    def effective(stack: Any, parameters: Any) -> dict[str, str]:
        declared = (stack.template_dict or {}).get("Parameters") or {}
        values = {
            key: as_given({key: spec["Default"]})[key]
            for key, spec in declared.items()
            if isinstance(spec, dict) and "Default" in spec
        }
        values.update(as_given(parameters))
        return values

    Stack.has_parameters = lambda self, other: effective(self, self.parameters) == effective(self, other)  # type: ignore[method-assign]


def patch_template_rules() -> None:
    """CloudFormation evaluates a template's `Rules` before it creates a stack or a change
    set, and refuses the request with the failed assertion's `AssertDescription`; moto
    ignores `Rules`. sampipe's template guards each stage's account and region with rules,
    so a stage deployed with the wrong credentials or region must fail here as it would in
    AWS. The rule functions modelled are the ones such guards use: Ref (parameters and
    pseudo parameters), Fn::Equals, Fn::Not, Fn::And, Fn::Or, Fn::Contains."""
    from moto.cloudformation import models as cfn_models
    from moto.cloudformation.exceptions import ValidationError

    def evaluate(node: Any, values: dict[str, Any]) -> Any:
        if isinstance(node, dict) and len(node) == 1:
            (name, arg), = node.items()
            if name == "Ref":
                if arg not in values:
                    raise ValidationError(message=f"Template error: unresolved reference {arg} in Rules")
                return values[arg]
            if name == "Fn::Equals":
                left, right = (evaluate(a, values) for a in arg)
                return str(left) == str(right)
            if name == "Fn::Not":
                return not evaluate(arg[0], values)
            if name == "Fn::And":
                return all(evaluate(a, values) for a in arg)
            if name == "Fn::Or":
                return any(evaluate(a, values) for a in arg)
            if name == "Fn::Contains":
                members, value = evaluate(arg[0], values), evaluate(arg[1], values)
                return str(value) in [str(m) for m in members]
            raise ValidationError(message=f"Template error: {name} is not modelled in Rules")
        if isinstance(node, list):
            return [evaluate(n, values) for n in node]
        return node

    def check_rules(backend: Any, template: str, parameters: dict[str, Any]) -> None:
        parsed = Stack_parse(template)
        rules = (parsed or {}).get("Rules") or {}
        if not rules:
            return
        values: dict[str, Any] = {
            key: spec.get("Default")
            for key, spec in ((parsed.get("Parameters") or {}).items())
            if isinstance(spec, dict) and "Default" in spec
        }
        values.update(parameters or {})
        values.update(
            {
                "AWS::AccountId": backend.account_id,
                "AWS::Region": backend.region_name,
                "AWS::Partition": "aws",
                "AWS::URLSuffix": "amazonaws.com",
            }
        )
        for name, rule in rules.items():
            if "RuleCondition" in rule and not evaluate(rule["RuleCondition"], values):
                continue
            for assertion in rule.get("Assertions") or []:
                if not evaluate(assertion["Assert"], values):
                    why = assertion.get("AssertDescription") or f"Template assertion failed in rule {name}"
                    raise ValidationError(message=why)

    backend_cls = cfn_models.CloudFormationBackend
    create_stack = backend_cls.create_stack
    create_change_set = backend_cls.create_change_set

    def create_stack_checked(self: Any, name: str, template: str, parameters: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        check_rules(self, template, parameters)
        return create_stack(self, name, template, parameters, *args, **kwargs)

    def create_change_set_checked(self: Any, stack_name: str, change_set_name: str, template: str, parameters: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        check_rules(self, template, parameters)
        return create_change_set(self, stack_name, change_set_name, template, parameters, *args, **kwargs)

    backend_cls.create_stack = create_stack_checked
    backend_cls.create_change_set = create_change_set_checked


# ---------------------------------------------------------------------------------------
# 11. Calling a deployed REST API (execute-api) without Docker
# ---------------------------------------------------------------------------------------

# moto's server ignores the Host header (an unsigned GET to `{id}.execute-api...` reaches its
# S3 backend: 404 NoSuchBucket), has no `/_user_request_/` path (that is LocalStack's), and
# invokes REST APIs only in-process (decorator mode), for HTTP and AWS integrations but not
# AWS_PROXY. Its Lambda needs Docker to run code: without it an invocation answers 200 with
# FunctionError "Handled" and "error running docker: ..."; with `/moto-api/config`
# `{"lambda": {"use_docker": false}}` it answers "Simple Lambda happy path OK" (or echoes the
# payload), but from a second, empty backend, so the stacks' functions vanish from the
# Lambda API. Hence this part of the local AWS.
EXECUTE_API_HOST = re.compile(r"^(?P<api>[a-z0-9]+)\.execute-api\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(:\d+)?$")
USER_REQUEST_PATH = re.compile(r"^/restapis/(?P<api>[^/]+)/(?P<stage>[^/]+)/_user_request_(?P<path>/.*)?$")
LAMBDA_URI = re.compile(r"^arn:[^:]+:apigateway:[^:]+:lambda:path/2015-03-31/functions/(?P<function>arn:[^/]+)/invocations$")
# API Gateway's answer to an unknown resource or method of a REST API, and to a Lambda
# that failed or answered malformed (no details reach the caller).
MISSING_TOKEN = (403, {"message": "Missing Authentication Token"}, "MissingAuthenticationTokenException")
FORBIDDEN = (403, {"message": "Forbidden"}, "ForbiddenException")
INTERNAL = (502, {"message": "Internal server error"}, None)
TIMED_OUT = (504, {"message": "Endpoint request timed out"}, None)
# API Gateway's integration timeout for REST APIs (29 s) and Lambda's allowance for a
# function's init (10 s), which the function's own Timeout does not count.
INTEGRATION_TIMEOUT = 29
INIT_ALLOWANCE = 10
LOCAL_ENDPOINT = "http://127.0.0.1:5000"

# Runs one handler in a fresh interpreter, as Lambda's Python runtime does: the event on
# stdin, the result (or the error) as JSON in the file $LOCAL_AWS_RESULT names, the handler's
# own output on stdout/stderr.
PYTHON_BOOTSTRAP = r"""
import importlib, json, os, signal, sys, time, traceback
result_file = os.environ.pop("LOCAL_AWS_RESULT")
module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
deadline = time.time() + float(os.environ["AWS_LAMBDA_FUNCTION_TIMEOUT"])
class Context:
    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
    invoked_function_arn = os.environ["LOCAL_AWS_FUNCTION_ARN"]
    memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
    aws_request_id = os.environ["LOCAL_AWS_REQUEST_ID"]
    log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
    log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
    def get_remaining_time_in_millis(self):
        return max(0, int((deadline - time.time()) * 1000))
try:
    handler = getattr(importlib.import_module(module_name.replace("/", ".")), function_name)
    event = json.load(sys.stdin)
    def timed_out(*_):
        raise TimeoutError("Task timed out")
    signal.signal(signal.SIGALRM, timed_out)
    signal.setitimer(signal.ITIMER_REAL, float(os.environ["AWS_LAMBDA_FUNCTION_TIMEOUT"]))
    deadline = time.time() + float(os.environ["AWS_LAMBDA_FUNCTION_TIMEOUT"])
    result = handler(event, Context())
    signal.setitimer(signal.ITIMER_REAL, 0)
    answer = {"result": result}
except BaseException as e:
    traceback.print_exc()
    answer = {"errorType": type(e).__name__, "errorMessage": str(e)}
with open(result_file, "w") as out:
    json.dump(answer, out, default=str)
"""


def find_rest_api(api_id: str, region: str | None) -> tuple[str, str, Any] | None:
    """The REST API `api_id` in any account (and region, when given): account, region, API."""
    from moto.apigateway.models import apigateway_backends

    for account_id, region_name, backend in apigateway_backends.iter_backends():
        if (region is None or region == region_name) and api_id in backend.apis:
            return account_id, region_name, backend.apis[api_id]
    return None


def match_resource(api: Any, path: str) -> tuple[Any, dict[str, str]] | None:
    """The resource of `api` that serves `path` (after the stage), with its path parameters:
    the most specific one (literal segments before `{param}` before `{proxy+}`), as API
    Gateway chooses. A trailing `/` is ignored, as API Gateway ignores it."""
    segments = [s for s in path.split("/") if s]
    best: tuple[tuple[int, int], Any, dict[str, str]] | None = None
    for resource in api.resources.values():
        pattern = [s for s in resource.get_path().split("/") if s]
        params: dict[str, str] = {}
        literal = greedy = 0
        ok = True
        for i, part in enumerate(pattern):
            if part.startswith("{") and part.endswith("+}"):
                rest = segments[i:]
                if i != len(pattern) - 1 or not rest:
                    ok = False
                else:
                    params[part[1:-2]] = "/".join(rest)
                    greedy = 1
                break
            if i >= len(segments):
                ok = False
                break
            if part.startswith("{") and part.endswith("}"):
                params[part[1:-1]] = urllib.parse.unquote(segments[i])
            elif part == segments[i]:
                literal += 1
            else:
                ok = False
                break
        else:
            ok = ok and len(pattern) == len(segments)
        if ok:
            rank = (literal, -greedy)
            if best is None or rank > best[0]:
                best = (rank, resource, params)
    return None if best is None else (best[1], best[2])


def proxy_event(account_id: str, api: Any, stage: Any, resource: Any, path: str, params: dict[str, str], environ: dict[str, Any], body: bytes, request_id: str, host: str) -> dict[str, Any]:
    """The Lambda proxy integration's input (payload format 1.0), as API Gateway builds it:
    https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-input-format"""
    headers: dict[str, list[str]] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_") and key != "HTTP_HOST":
            headers.setdefault(key[5:].replace("_", "-").title(), []).append(value)
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers.setdefault(key.replace("_", "-").title(), []).append(value)
    headers["Host"] = [host]
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    try:
        text: str | None = body.decode("utf-8") if body else None
        encoded = False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    method = environ["REQUEST_METHOD"]
    return {
        "resource": resource.get_path(),
        "path": path,
        "httpMethod": method,
        "headers": {k: v[-1] for k, v in headers.items()},
        "multiValueHeaders": headers,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": params or None,
        "stageVariables": getattr(stage, "variables", None) or None,
        "requestContext": {
            "accountId": account_id,
            "apiId": api.id,
            "domainName": host,
            "domainPrefix": api.id,
            "httpMethod": method,
            "identity": {"sourceIp": environ.get("REMOTE_ADDR", "127.0.0.1"), "userAgent": environ.get("HTTP_USER_AGENT")},
            "path": f"/{stage.name}{path}",
            "protocol": environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "requestId": request_id,
            "requestTimeEpoch": int(time.time() * 1000),
            "resourceId": resource.id,
            "resourcePath": resource.get_path(),
            "stage": stage.name,
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


def python_for(runtime: str) -> tuple[str, list[str]] | None:
    """The interpreter for a `pythonX.Y` runtime, and folders to add to its path for the
    packages Lambda's runtime provides (boto3): this server's interpreter when its version
    is X.Y (it has boto3), else `pythonX.Y` from PATH with this server's site-packages."""
    import shutil
    import sysconfig

    match = re.fullmatch(r"python(\d+)\.(\d+)", runtime or "")
    if not match:
        return None
    if (sys.version_info.major, sys.version_info.minor) == (int(match[1]), int(match[2])):
        return sys.executable, []
    found = shutil.which(runtime)
    return (found, [sysconfig.get_paths()["purelib"]]) if found else None


def unzip(data: bytes, target: str) -> None:
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        z.extractall(target)


def invoke_python(fn: Any, event: dict[str, Any], request_id: str) -> tuple[dict[str, Any] | None, str]:
    """Runs the function's handler with `event` on this machine, in its own interpreter,
    with its deployed code in LAMBDA_TASK_ROOT, its layers in /opt's place, its environment
    variables, and credentials of its execution role in its account (everything AWS goes to
    this server). Returns the result (`{"result": ...}` or Lambda's error object) or None
    when it could not run, and why."""
    import subprocess
    import tempfile

    from moto.awslambda.models import lambda_backends
    from moto.sts.models import sts_backends
    from moto.utilities.utils import get_partition

    python = python_for(fn.run_time)
    if python is None:
        return None, f"runtime {fn.run_time} is not emulated (only pythonX.Y found on this machine)"
    interpreter, provided = python
    backend = lambda_backends[fn.account_id][fn.region]
    with tempfile.TemporaryDirectory(prefix="local-aws-lambda-") as root:
        task, opt = os.path.join(root, "task"), os.path.join(root, "opt")
        os.makedirs(task)
        os.makedirs(opt)
        if fn.code_bytes:
            unzip(fn.code_bytes, task)
        for layer in fn.layers:
            version = backend.layers_versions_by_arn(layer["Arn"])
            if version is not None and version.code_bytes:
                unzip(version.code_bytes, opt)
        major_minor = fn.run_time.removeprefix("python")
        role = sts_backends[fn.account_id][get_partition(fn.region)].assume_role(
            fn.region, fn.function_name, fn.role, "", 3600, ""
        )
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "LAMBDA_TASK_ROOT": task,
            "LAMBDA_RUNTIME_DIR": opt,
            "_HANDLER": fn.handler or "",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.run_time}",
            "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": str(getattr(fn, "version", "$LATEST")),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(fn.timeout),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{fn.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"local/{request_id}",
            "AWS_REGION": fn.region,
            "AWS_DEFAULT_REGION": fn.region,
            "AWS_ACCESS_KEY_ID": role.access_key_id,
            "AWS_SECRET_ACCESS_KEY": role.secret_access_key,
            "AWS_SESSION_TOKEN": role.session_token,
            "AWS_ENDPOINT_URL": LOCAL_ENDPOINT,
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_EC2_METADATA_DISABLED": "true",
            "LOCAL_AWS_FUNCTION_ARN": fn.function_arn,
            "LOCAL_AWS_REQUEST_ID": request_id,
            "PYTHONPATH": os.pathsep.join(
                [task, os.path.join(opt, "python"), os.path.join(opt, "python", "lib", f"python{major_minor}", "site-packages")]
                + provided
            ),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        env.update({k: str(v) for k, v in (fn.environment_vars or {}).items()})
        result_file = os.path.join(root, "result.json")
        env["LOCAL_AWS_RESULT"] = result_file
        # The function's own Timeout bounds its handler (in the bootstrap); this bounds the
        # whole run: init allowance plus at most API Gateway's integration timeout.
        limit = min(float(fn.timeout), INTEGRATION_TIMEOUT) + INIT_ALLOWANCE
        try:
            run = subprocess.run(
                [interpreter, "-c", PYTHON_BOOTSTRAP],
                cwd=task,
                env=env,
                input=json.dumps(event).encode(),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                timeout=limit,
            )
        except subprocess.TimeoutExpired as e:
            log_line(f"lambda {fn.function_name} {request_id}: killed after {limit:.0f}s\n{(e.output or b'').decode(errors='replace')}")
            return {"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out"}, "timed out"
        except OSError as e:
            return None, f"cannot start {interpreter}: {e}"
        log_line(f"lambda {fn.function_name} {request_id}: exit {run.returncode}\n{run.stdout.decode(errors='replace')}")
        try:
            with open(result_file, encoding="utf-8") as f:
                return json.load(f), "ran"
        except (OSError, json.JSONDecodeError):
            return {"errorType": "Runtime.ExitError", "errorMessage": f"exit {run.returncode}"}, "no result"


def log_line(text: str) -> None:
    with LOG_LOCK:
        print(f"local-aws: {text.rstrip()}", file=sys.stderr, flush=True)


def proxy_response(answer: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes] | None:
    """API Gateway's response for a Lambda proxy result, or None when the result is not a
    valid proxy response (API Gateway then answers 502)."""
    if "result" not in answer:
        return None
    result = answer["result"]
    if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
        return None
    headers: list[tuple[str, str]] = []
    for name, value in (result.get("headers") or {}).items():
        headers.append((str(name), str(value)))
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), str(v)) for v in values)
    if not any(n.lower() == "content-type" for n, _ in headers):
        headers.append(("Content-Type", "application/json"))
    body = result.get("body")
    data = b"" if body is None else str(body).encode("utf-8")
    if result.get("isBase64Encoded"):
        data = base64.b64decode(data)
    return result["statusCode"], headers, data


def execute(api_id: str, region: str | None, stage_name: str, path: str, environ: dict[str, Any], host: str | None) -> tuple[int, list[tuple[str, str]], bytes, dict[str, Any]]:
    """What API Gateway answers a call to a REST API's stage, and a record of why."""
    import uuid

    request_id = str(uuid.uuid4())
    method = environ.get("REQUEST_METHOD", "GET")
    record: dict[str, Any] = {"api": api_id, "stage": stage_name, "method": method, "path": path}

    def error(answer: tuple[int, dict[str, str], str | None], why: str) -> tuple[int, list[tuple[str, str]], bytes, dict[str, Any]]:
        status, body, kind = answer
        headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id)]
        if kind:
            headers.append(("x-amzn-ErrorType", kind))
        headers.append(("x-local-aws-why", why))
        record.update(status=status, why=why)
        return status, headers, json.dumps(body).encode(), record

    found = find_rest_api(api_id, region)
    if found is None:
        from moto.apigatewayv2.models import apigatewayv2_backends

        if any(api_id in b.apis for _, _, b in apigatewayv2_backends.iter_backends()):
            return error((501, {"message": "local-aws: calling an HTTP API is not emulated"}, None), "HTTP API")
        # On AWS the host name would not resolve.
        return error((404, {"message": f"local-aws: no REST API {api_id}"}, None), "no such API")
    account_id, api_region, api = found
    host = host or f"{api.id}.execute-api.{api_region}.amazonaws.com"
    stage = api.stages.get(stage_name)
    if stage is None:
        return error(FORBIDDEN, f"no stage {stage_name}")
    matched = match_resource(api, path)
    if matched is None:
        return error(MISSING_TOKEN, f"no resource for {path}")
    resource, params = matched
    record["resource"] = resource.get_path()
    api_method = resource.resource_methods.get(method) or resource.resource_methods.get("ANY")
    integration = getattr(api_method, "method_integration", None)
    if api_method is None:
        return error(MISSING_TOKEN, f"no {method} method on {resource.get_path()}")
    if integration is None:
        return error((500, {"message": "Internal server error"}, None), "the method has no integration")
    # OpenAPI's x-amazon-apigateway-integration writes the type in any case (SAM: aws_proxy).
    kind = (integration.integration_type or "").upper()
    record["integration"] = kind
    body = b""
    length = environ.get("CONTENT_LENGTH")
    if length and length.isdigit() and int(length) > 0:
        body = environ["wsgi.input"].read(int(length))
    if kind == "MOCK":
        template = (integration.request_templates or {}).get("application/json") or '{"statusCode": 200}'
        try:
            status = int(json.loads(template).get("statusCode", 200))
        except (ValueError, AttributeError):
            status = 200
        response = (integration.integration_responses or {}).get(str(status))
        text = ((getattr(response, "response_templates", None) or {}).get("application/json") or "")
        record.update(status=status, why="mock integration")
        return status, [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id)], text.encode(), record
    if kind != "AWS_PROXY":
        return error((501, {"message": f"local-aws: a {kind} integration is not emulated"}, None), "integration not emulated")
    uri = LAMBDA_URI.match(integration.uri or "")
    if uri is None:
        return error(INTERNAL, f"not a Lambda invocation URI: {integration.uri}")
    from moto.awslambda.models import lambda_backends

    function_arn = uri["function"]
    arn_parts = function_arn.split(":")
    try:
        fn = lambda_backends[arn_parts[4]][arn_parts[3]].get_function(function_arn)
    except Exception as e:  # moto raises its own not-found errors
        return error(INTERNAL, f"no function {function_arn}: {e}")
    record["function"] = fn.function_arn
    event = proxy_event(account_id, api, stage, resource, path, params, environ, body, request_id, host)
    answer, how = invoke_python(fn, event, request_id)
    if answer is None:
        return error(INTERNAL, how)
    if "errorType" in answer:
        return error(INTERNAL, f"the function failed: {answer['errorType']}: {answer.get('errorMessage')}")
    response = proxy_response(answer)
    if response is None:
        return error(INTERNAL, "malformed Lambda proxy response")
    status, headers, data = response
    record.update(status=status, why="lambda proxy")
    return status, headers + [("x-amzn-RequestId", request_id)], data, record


class ExecuteApi:
    """Serves calls to deployed REST APIs ahead of moto: `Host: {api}.execute-api.{region}.
    amazonaws.com` with the path `/{stage}/{path}`, or (host-less) the path
    `/restapis/{api}/{stage}/_user_request_/{path}`; everything else goes to moto."""

    def __init__(self, app: Any):
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        from http import HTTPStatus

        host = environ.get("HTTP_HOST", "")
        path = environ.get("PATH_INFO", "")
        by_host = EXECUTE_API_HOST.match(host)
        by_path = None if by_host else USER_REQUEST_PATH.match(path)
        host_name: str | None = None
        if by_host:
            api_id, region = by_host["api"], by_host["region"]
            stage, _, rest = path.lstrip("/").partition("/")
            rest = "/" + rest
            host_name = host.split(":")[0]
        elif by_path:
            api_id, region, stage, rest = by_path["api"], None, by_path["stage"], by_path["path"] or "/"
        else:
            return self.app(environ, start_response)
        status, headers, body, record = execute(api_id, region, stage, rest, environ, host_name)
        log_line("execute-api " + json.dumps(record, sort_keys=True))
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Status"
        start_response(f"{status} {phrase}", headers + [("Content-Length", str(len(body)))])
        return [body]


def apply_patches() -> list[str]:
    warnings.filterwarnings("ignore", message=".*not supported by moto's CloudFormation.*")
    from moto.cloudformation import parsing

    patch_sts()
    patch_oidc_provider_resource()
    patch_apigateway()
    patch_lambda_versions()
    patch_subscriptions()
    patch_step_functions()
    patch_parameter_echo()
    patch_template_rules()
    added = patch_placeholders()
    # parsing caches the CloudFormationModel subclasses: forget them so ours count.
    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
    patch_cloudformation()
    return added


def main(argv: list[str] | None = None) -> None:
    global DECISION_LOG
    parser = argparse.ArgumentParser(prog="local-aws", description=__doc__.split("\n\n")[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    parser.add_argument("--decision-log", default=os.environ.get("LOCAL_AWS_DECISION_LOG"))
    parser.add_argument("--version", action="store_true", help="print moto's version")
    args = parser.parse_args(argv)
    if args.version:
        import moto

        print(moto.__version__)
        return
    DECISION_LOG = args.decision_log
    os.environ.setdefault("MOTO_PORT", str(args.port))

    from werkzeug.serving import run_simple

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )

    added = apply_patches()
    print(
        f"local-aws: moto patched (placeholders for {len(added)} types); "
        f"listening on http://{args.host}:{args.port}",
        file=sys.stderr,
        flush=True,
    )
    global LOCAL_ENDPOINT
    LOCAL_ENDPOINT = f"http://{args.host}:{args.port}"
    app = ExecuteApi(DomainDispatcherApplication(create_backend_app))
    run_simple(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
