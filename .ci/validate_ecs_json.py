#!/usr/bin/env python3
"""Check compose2ecs's ECS API JSON against botocore's model of the ECS API, offline.

Usage: validate_ecs_json.py OPERATION FILE...
  OPERATION  an ECS API operation, e.g. RegisterTaskDefinition or CreateService
  FILE       JSON meant for `aws ecs <operation> --cli-input-json file://FILE`

Walks each file along the operation's input shape and reports, with a JSON path:
unknown members, missing required members, nulls, wrong JSON types, enum values,
min/max length and value ranges, tagged unions with other than one member set.
(botocore's own ParamValidator skips enums and maxima, so this walker does it all.)
A string that is exactly {{Name}} is a deploy-time placeholder: any string-typed
member may hold one, but it must be the whole string, except in the free text of an
environment variable's value or a secret's valueFrom (a managed database's endpoint in a
URL, `{{DbSecretArn}}:password::`), where it stands for a value and the rest is checked.

Exit status: 0 every file valid, 1 some file invalid, 2 usage error.
.ci/check_outputs.py imports input_shape and problems to check many folders in one process.
"""

import difflib
import json
import re
import sys

import botocore.session

PLACEHOLDER = re.compile(r"\{\{[A-Za-z0-9]+\}\}")
# Members whose value is free text, where a placeholder may stand inside a longer string.
FREE_TEXT = re.compile(r"\.(environment\[\d+\]\.value|secrets\[\d+\]\.valueFrom)$")
JSON_TYPE = {  # botocore type -> (accepted Python types, name in messages)
    "string": ((str,), "string"),
    "integer": ((int,), "integer"),
    "long": ((int,), "integer"),
    "double": ((int, float), "number"),
    "float": ((int, float), "number"),
    "boolean": ((bool,), "boolean"),
    "list": ((list,), "list"),
    "map": ((dict,), "object"),
    "structure": ((dict,), "object"),
    "blob": ((str,), "string"),
    "timestamp": ((str, int, float), "timestamp"),
}


def check(value, shape, path, errs):
    """Append to errs one message per problem found in value (at JSON path) against shape."""
    where = path or "(top level)"
    meta = shape.metadata
    if shape.type_name == "structure" and meta.get("document"):
        return  # free-form JSON document
    if value is None:
        errs.append(f"{where}: null is not allowed")
        return
    types, tname = JSON_TYPE[shape.type_name]
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        errs.append(f"{where}: expected {tname}, got {type(value).__name__} {json.dumps(value)[:60]}")
        return
    lo, hi = meta.get("min"), meta.get("max")
    if shape.type_name == "structure":
        for name in shape.required_members:
            if name not in value:
                errs.append(f"{where}: missing required member {name!r}")
        for key, sub in value.items():
            if key in shape.members:
                check(sub, shape.members[key], f"{path}.{key}" if path else key, errs)
            else:
                near = difflib.get_close_matches(key, shape.members, 1)
                errs.append(f"{where}: unknown member {key!r}" + (f" (did you mean {near[0]!r}?)" if near else ""))
        if meta.get("union") and len(value) != 1:
            errs.append(f"{where}: set exactly one of {', '.join(shape.members)}")
    elif shape.type_name == "list":
        size, what = len(value), "items"
        for i, item in enumerate(value):
            check(item, shape.member, f"{path}[{i}]", errs)
    elif shape.type_name == "map":
        size, what = len(value), "entries"
        for key, sub in value.items():
            check(key, shape.key, f"{path}{{key {key!r}}}", errs)
            check(sub, shape.value, f"{path}.{key}", errs)
    elif shape.type_name == "string":
        size, what = len(value), "characters"
        if PLACEHOLDER.fullmatch(value):
            return  # placeholder: its real value is checked after deployment
        if PLACEHOLDER.search(value):
            if not FREE_TEXT.search(path):
                errs.append(f"{where}: placeholder inside a longer string {value!r}; it must be the whole string")
            value = PLACEHOLDER.sub("deployed-value", value)
            size = len(value)
        if shape.enum and value not in shape.enum:
            errs.append(f"{where}: {value!r} is not one of {', '.join(shape.enum)}")
    elif shape.type_name in ("integer", "long", "double", "float"):
        if lo is not None and value < lo:
            errs.append(f"{where}: {value} is below the minimum {lo}")
        if hi is not None and value > hi:
            errs.append(f"{where}: {value} is above the maximum {hi}")
        return
    if shape.type_name in ("list", "map", "string"):
        if lo is not None and size < lo:
            errs.append(f"{where}: {size} {what}, at least {lo} needed")
        if hi is not None and size > hi:
            errs.append(f"{where}: {size} {what}, at most {hi} allowed")


def input_shape(operation):
    """The botocore input shape of an ECS operation, or None when ECS has no such operation."""
    model = botocore.session.get_session().get_service_model("ecs")
    return model.operation_model(operation).input_shape if operation in model.operation_names else None


def problems(text, shape):
    """Every problem of the JSON text against shape, as messages with a JSON path; [] when valid."""
    errs = []
    try:
        value = json.loads(text)
    except ValueError as e:
        return [f"not valid JSON: {e}"]
    check(value, shape, "", errs)
    return errs


def main(argv):
    if len(argv) < 2 or argv[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    shape = input_shape(argv[0])
    if shape is None:
        print(f"unknown ECS operation {argv[0]!r}", file=sys.stderr)
        return 2
    status = 0
    for path in argv[1:]:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            print(f"{path}: cannot read: {e}", file=sys.stderr)
            return 2
        errs = problems(text, shape)
        if errs:
            status = 1
            print(f"{path}: INVALID {argv[0]} input ({len(errs)} problem(s))")
            print("".join(f"  - {e}\n" for e in errs), end="")
        else:
            print(f"{path}: ok ({argv[0]})")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
