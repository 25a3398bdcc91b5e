"""Prints, one per line and JSON-quoted (a valid YAML key), the names of a case's volumes that are
existing EFS file systems (`name: fs-…`) or networks that are existing security groups (`name: sg-…`,
`x-aws-securitygroup`), in the files given, for .ci/deploy_proof to swap moto's in.

Usage: existing_names.py volumes|networks FILE..."""
import json
import sys

import yaml


class Loader(yaml.SafeLoader):
    """Reads compose's own tags (`!reset`, `!override`) as their plain values."""


def plain(loader, suffix, node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


Loader.add_multi_constructor("!", plain)


def existing(section, settings):
    settings = settings if isinstance(settings, dict) else {}
    external = settings.get("external")
    name = external.get("name") if isinstance(external, dict) else (settings.get("name") if external else None)
    prefix = {"volumes": "fs-", "networks": "sg-"}[section]
    if section == "networks" and "x-aws-securitygroup" in settings:
        return True
    name = str(name or "")
    return name.startswith(prefix) or (name.startswith("arn:") and ("/" + prefix) in name)


def main():
    section, paths = sys.argv[1], sys.argv[2:]
    seen = []
    for path in paths:
        with open(path, encoding="utf-8") as file:
            document = yaml.load(file, Loader=Loader) or {}
        for name, settings in (document.get(section) or {}).items():
            if existing(section, settings) and name not in seen:
                seen.append(name)
    for name in seen:
        print(json.dumps(str(name)))


if __name__ == "__main__":
    main()
