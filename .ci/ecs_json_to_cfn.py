#!/usr/bin/env python3
"""Wrap compose2ecs's ECS API JSON as one CloudFormation template (on stdout) for cfn-lint.

Usage: ecs_json_to_cfn.py TASKDEF.json... [--service SERVICE.json...] > wrapped.json

cfn-lint knows rules the API model does not (Fargate cpu/memory pairs, awsvpc services
need a network configuration, ...), but only for AWS::ECS::TaskDefinition/Service
resources. So each task definition / service becomes such a resource:
- keys are renamed by walking botocore's ECS model alongside the JSON: camelCase ->
  PascalCase plus the renames in RENAME; members of map shapes (log options,
  dockerLabels, ...) and free-form documents keep their keys; DROP'd API-only
  members are left out;
- every placeholder string "{{Name}}" becomes {"Ref": "Name"} and a String parameter
  Name is declared;
- a service whose taskDefinition names a wrapped family Refs that resource.
Run validate_ecs_json.py first: unknown keys are passed on here unchecked.
.ci/check_outputs.py imports wrap to wrap many folders in one process.
"""

import argparse
import json
import re
import sys
from pathlib import Path

import botocore.session

PLACEHOLDER = re.compile(r"\{\{([A-Za-z0-9]+)\}\}")
RENAME = {  # (botocore shape, API member) -> CloudFormation property, beyond capitalising
    ("Volume", "efsVolumeConfiguration"): "EFSVolumeConfiguration",
    ("Volume", "fsxWindowsFileServerVolumeConfiguration"): "FSxWindowsFileServerVolumeConfiguration",
    ("Volume", "s3filesVolumeConfiguration"): "S3FilesVolumeConfiguration",
    ("EFSVolumeConfiguration", "fileSystemId"): "FilesystemId",
    ("EFSAuthorizationConfig", "iam"): "IAM",
    ("ProxyConfiguration", "properties"): "ProxyConfigurationProperties",
    ("CreateServiceRequest", "placementStrategy"): "PlacementStrategies",
}
DROP = {  # API-only members with no CloudFormation property
    ("RegisterTaskDefinitionRequest", "trustedExecutionConfiguration"),
    ("CreateServiceRequest", "clientToken"),
    ("GatewayConnector", "deregistrationDelay"),
}


def to_cfn(value, shape, params):
    """Convert one API value (described by botocore shape, or None if unknown) to CloudFormation."""
    if isinstance(value, str):
        m = PLACEHOLDER.fullmatch(value)
        if m:
            params.add(m.group(1))
            return {"Ref": m.group(1)}
        return value
    kind = shape.type_name if shape is not None else None
    if isinstance(value, list):
        return [to_cfn(v, shape.member if kind == "list" else None, params) for v in value]
    if not isinstance(value, dict) or (kind == "structure" and shape.metadata.get("document")):
        return value
    if kind == "map":  # user-chosen keys stay as they are
        return {k: to_cfn(v, shape.value, params) for k, v in value.items()}
    members, sname = (shape.members, shape.name) if kind == "structure" else ({}, None)
    out = {}
    for key, sub in value.items():
        if (sname, key) in DROP:
            continue
        name = RENAME.get((sname, key), key[:1].upper() + key[1:])
        out[name] = to_cfn(sub, members.get(key), params)
    return out


def family_of(task_definition):
    """'family', 'family:3' or an ARN '...:task-definition/family:3' -> 'family'."""
    return task_definition.rsplit("/", 1)[-1].split(":")[0]


def wrap(model, taskdefs, services):
    """One CloudFormation template (a dict) holding every task definition and service.

    taskdefs and services are lists of (source file, API JSON object); the source file names
    the resource and goes in its Metadata."""
    params, converted = set(), []  # converted: (id prefix, resource type, path, API JSON, properties)
    for items, op, prefix, rtype in [
        (taskdefs, "RegisterTaskDefinition", "TaskDef", "AWS::ECS::TaskDefinition"),
        (services, "CreateService", "Service", "AWS::ECS::Service"),
    ]:
        shape = model.operation_model(op).input_shape
        for path, api in items:
            converted.append((prefix, rtype, path, api, to_cfn(api, shape, params)))
    used, resources, families = set(params), {}, {}
    for prefix, rtype, path, api, props in converted:
        base = prefix + "".join(w.capitalize() for w in re.split(r"[^A-Za-z0-9]+", Path(path).stem))
        logical, n = base, 1
        while logical in used:  # keep clear of parameter names and other resources
            n += 1
            logical = f"{base}{n}"
        used.add(logical)
        if rtype == "AWS::ECS::TaskDefinition" and isinstance(api.get("family"), str):
            families[api["family"]] = logical
        resources[logical] = {"Type": rtype, "Metadata": {"SourceFile": path}, "Properties": props}
    for res in resources.values():
        td = res["Properties"].get("TaskDefinition")
        if res["Type"] == "AWS::ECS::Service" and isinstance(td, str) and family_of(td) in families:
            res["Properties"]["TaskDefinition"] = {"Ref": families[family_of(td)]}
    template = {"AWSTemplateFormatVersion": "2010-09-09", "Description": "compose2ecs ECS JSON wrapped for cfn-lint"}
    if params:
        template["Parameters"] = {p: {"Type": "String"} for p in sorted(params)}
    template["Resources"] = resources
    return template


def load(path):
    """The API JSON object in path; exits with a message when it cannot be read or is no object."""
    try:
        api = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        sys.exit(f"{path}: {e}")
    if not isinstance(api, dict):
        sys.exit(f"{path}: top level is not a JSON object")
    return api


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("taskdefs", nargs="*", metavar="TASKDEF.json")
    ap.add_argument("--service", nargs="+", action="extend", default=[], metavar="SERVICE.json")
    a = ap.parse_args()
    if not a.taskdefs and not a.service:
        ap.error("give at least one task definition or service file")
    model = botocore.session.get_session().get_service_model("ecs")
    taskdefs = [(path, load(path)) for path in a.taskdefs]
    services = [(path, load(path)) for path in a.service]
    json.dump(wrap(model, taskdefs, services), sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
