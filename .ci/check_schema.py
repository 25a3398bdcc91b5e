#!/usr/bin/env python3
"""Every testdata case's `x-ecs` blocks (top level, services, volumes) against `x-ecs.schema.json`,
with the jsonschema library cfn-lint brings into the validators' venv; `err-` cases are left out
(some are wrong on purpose). Values written with `${VAR}` are dropped: compose2ecs reads them
after interpolation.

Usage: check_schema.py SCHEMA CASE_DIR...    Exit 0 when every block is valid, 1 otherwise.
"""
import json
import sys
from pathlib import Path

import jsonschema
import yaml

class ComposeLoader(yaml.SafeLoader):
    """Compose's `!reset` and `!override` tags, read as the values they tag."""


def untagged(loader, _suffix, node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_scalar(node)


ComposeLoader.add_multi_constructor("!", untagged)

def without_variables(value):
    """The document without the values written with `${VAR}`, which compose2ecs reads after
    interpolation: their keys go with them."""
    if isinstance(value, dict):
        return {k: without_variables(v) for k, v in value.items() if not (isinstance(v, str) and "${" in v)}
    if isinstance(value, list):
        return [without_variables(v) for v in value if not (isinstance(v, str) and "${" in v)]
    return value


schema = json.loads(Path(sys.argv[1]).read_text())
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
checked = failed = 0
for case in map(Path, sys.argv[2:]):
    if case.name.startswith("err-"):
        continue
    for compose in sorted(case.glob("*.y*ml")):
        document = without_variables(yaml.load(compose.read_text(), Loader=ComposeLoader))
        if not isinstance(document, dict):
            continue
        blocks = any(
            "x-ecs" in (entry or {})
            for section in ("services", "volumes")
            for entry in (document.get(section) or {}).values()
            if isinstance(entry, dict) or entry is None
        ) or "x-ecs" in document
        if not blocks:
            continue
        checked += 1
        for error in validator.iter_errors(document):
            failed += 1
            where = ".".join(str(p) for p in error.absolute_path)
            print(f"{compose}: {where}: {error.message}")
print(f"check_schema: {checked} files with x-ecs blocks checked, {failed} problem(s)")
sys.exit(1 if failed else 0)
