"""A stand-in for what moto cannot deploy of data.yaml, for the deploy proof.

moto has no DocumentDB, ElastiCache Serverless or Aurora in CloudFormation, its RDS instance has no
`Endpoint.Address`, and it does not resolve the dynamic references a connection string is built
with. So the proof deploys data.yaml with those resources taken out by an `x-ecs.cloudformation`
patch (the way a user patches a template), each endpoint output a stand-in address and each
connection string a stand-in value; the security groups, the generated secrets (named, as moto
needs) and the execution role's policy stay. The real template is checked by cfn-lint (the proof's step 1) and checkov.
Deletion protection is turned off, so `down` can remove the stand-in.

Usage: moto_standin.py PLAN_JSON DATA_YAML > override.json   (a compose override file: JSON is YAML)
Prints on stderr the resource types it stood in for.
"""
import json
import sys

import yaml


def main() -> None:
    plan = json.load(open(sys.argv[1]))["plan"]
    # CloudFormation's tags (`!Ref`) do not occur: compose2ecs writes long-form intrinsics.
    template = yaml.safe_load(open(sys.argv[2]))
    kept = {"AWS::EC2::SecurityGroup", "AWS::SecretsManager::Secret", "AWS::IAM::Policy"}
    connection_strings = {c["logical_id"] for d in plan["managed"] for c in d["connection_strings"]}
    resources = {}
    replaced = set()
    for logical_id, resource in template["Resources"].items():
        # moto's secrets need a name, which CloudFormation makes up when none is given.
        named = {"Name": f"{plan['project']}-{logical_id}"}
        if logical_id in connection_strings:
            resources[logical_id] = {"Properties": {"SecretString": "stand-in connection string", **named}}
        elif resource["Type"] == "AWS::SecretsManager::Secret":
            resources[logical_id] = {"Properties": named}
        elif resource["Type"] not in kept:
            resources[logical_id] = None
            replaced.add(resource["Type"])
    outputs = {
        f"{d['logical_id']}Endpoint": {"Value": f"{d['service']}.standin.internal"} for d in plan["managed"]
    }
    # The subnets were the stood-in resources' only use; an unused parameter is a cfn-lint warning.
    outputs["StandInSubnets"] = {"Value": {"Fn::Join": [",", {"Ref": "PrivateSubnetIds"}]}}
    override = {
        "services": {
            d["service"]: {"x-ecs": {"managed": {"deletion_protection": False}}} for d in plan["managed"]
        },
        "x-ecs": {"cloudformation": {"data.yaml": {"Resources": resources, "Outputs": outputs}}},
    }
    json.dump(override, sys.stdout, indent=1)
    print(", ".join(sorted(replaced)), file=sys.stderr)


if __name__ == "__main__":
    main()
