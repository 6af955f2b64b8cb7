#!/usr/bin/env python3
"""Test helper for tests/sam_expansion.rs: runs the real SAM transform (aws-sam-translator,
the way tests/e2e/local_aws.py runs it for the local CloudFormation) over SAM templates and
prints what it generates.

    .tools/venv/bin/python tests/sam_translate.py TEMPLATE...

Prints one JSON object: {TEMPLATE: {"resources": {logical id: type}} or {"error": text}}.

Local artifact paths are first replaced the way `sam package` replaces them (S3 URIs for code,
definitions and schemas, an ECR image for image functions): the translator accepts only
packaged templates, and which URI it gets changes no resource it generates. No network: the
managed-policy names come from moto's list, as in local_aws.py.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "e2e"))

import local_aws  # noqa: E402  (the e2e suite's SAM transform)
from samtranslator.yaml_helper import yaml_parse  # noqa: E402

ACCOUNT = "123456789012"
REGION = "us-east-1"
S3_URI = "s3://sampipe-artifacts/packaged"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/app:latest"

# (resource type, property) holding a local path that `sam package` uploads.
PACKAGED = {
    ("AWS::Serverless::Function", "CodeUri"),
    ("AWS::Serverless::LayerVersion", "ContentUri"),
    ("AWS::Serverless::StateMachine", "DefinitionUri"),
    ("AWS::Serverless::Api", "DefinitionUri"),
    ("AWS::Serverless::HttpApi", "DefinitionUri"),
    ("AWS::Serverless::GraphQLApi", "SchemaUri"),
    ("AWS::Lambda::LayerVersion", "Content"),
}


def local(value: Any) -> bool:
    return isinstance(value, str) and not value.startswith(("s3://", "https://", "http://"))


def package(template: dict[str, Any]) -> dict[str, Any]:
    functions = ((template.get("Globals") or {}).get("Function")) or {}
    if local(functions.get("CodeUri")):
        functions["CodeUri"] = S3_URI
    for resource in (template.get("Resources") or {}).values():
        if not isinstance(resource, dict):
            continue
        kind = resource.get("Type")
        props = resource.setdefault("Properties", {}) if kind == "AWS::Serverless::Function" else resource.get("Properties")
        if not isinstance(props, dict):
            continue
        for key in list(props):
            if (kind, key) in PACKAGED and local(props[key]):
                props[key] = S3_URI
        if kind == "AWS::Serverless::Function":
            package_type = props.get("PackageType") or functions.get("PackageType")
            if package_type == "Image" and "ImageUri" not in props:
                props["ImageUri"] = IMAGE
            elif package_type != "Image" and not any(k in props or k in functions for k in ("CodeUri", "InlineCode")):
                props["CodeUri"] = S3_URI
        if kind == "AWS::Serverless::Application" and local(props.get("Location")):
            props["Location"] = "https://s3.amazonaws.com/sampipe-artifacts/app.template"
        if kind == "AWS::Serverless::GraphQLApi":
            for group in (props.get("Resolvers") or {}).values():
                for resolver in (group or {}).values():
                    if isinstance(resolver, dict) and local(resolver.get("CodeUri")):
                        resolver["CodeUri"] = S3_URI
            for function in (props.get("Functions") or {}).values():
                if isinstance(function, dict) and local(function.get("CodeUri")):
                    function["CodeUri"] = S3_URI
    return template


def translate(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        template = package(yaml_parse(f.read()))
    try:
        out = local_aws.sam_transform(template, {}, ACCOUNT, REGION)
    except Exception as e:  # the transform's refusal, as text for the test's message
        return {"error": f"{type(e).__name__}: {getattr(e, 'message', None) or e}"}
    return {"resources": {rid: r.get("Type") for rid, r in (out.get("Resources") or {}).items()}}


def main() -> None:
    # The translator logs "unpublished metrics" warnings for every template.
    logging.getLogger("samtranslator").setLevel(logging.ERROR)
    json.dump({path: translate(path) for path in sys.argv[1:]}, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
