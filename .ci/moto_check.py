#!/usr/bin/env python3
"""What .ci/deploy_proof asks moto, in one process each (the aws CLI takes half a second a call).

Usage (AWS_ENDPOINT_URL and AWS_DEFAULT_REGION name the moto server and region):
  moto_check.py network MOUNT_TARGETS     make a VPC, max(2, MOUNT_TARGETS) private subnets and two
                                          public ones in as many zones; print "VPC PRIVATE PUBLIC"
                                          (each list comma-separated)
  moto_check.py deployed PLAN_JSON OUTPUT every stack of the plan CREATE_COMPLETE with its outputs
                                          saved in OUTPUT/stacks/; each load balancer with every
                                          listener (and rule) its template declares; a service per
                                          task, ACTIVE; the autoscaling template's scalable targets
                                          and policies registered (moto deploys them as nothing)
  moto_check.py gone PLAN_JSON OUTPUT     no stack of the plan, no ACTIVE service or task
                                          definition revision of its tasks, no saved outputs
Exit 0 when the check holds, 1 with the reason otherwise.
"""

import json
import os
import sys
from pathlib import Path

import botocore.session
import yaml

session = botocore.session.get_session()


def client(service):
    return session.create_client(service, region_name=os.environ["AWS_DEFAULT_REGION"])


def fail(reason):
    print(reason)
    sys.exit(1)


def network(mount_targets):
    ec2, region = client("ec2"), os.environ["AWS_DEFAULT_REGION"]
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]

    def subnets(count, third):
        return ",".join(
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{third + i}.0/24", AvailabilityZone=f"{region}{'abcdef'[i]}")[
                "Subnet"
            ]["SubnetId"]
            for i in range(count)
        )

    print(vpc, subnets(max(2, mount_targets), 1), subnets(2, 11))


def listeners_declared(template, kinds):
    resources = yaml.safe_load(template.read_text())["Resources"].values()
    return sum(1 for r in resources if r["Type"] in kinds)


def deployed(plan, output):
    cloudformation, elbv2, ecs = client("cloudformation"), client("elbv2"), client("ecs")
    for stack in plan["stacks"]:
        status = cloudformation.describe_stacks(StackName=stack["name"])["Stacks"][0]["StackStatus"]
        if status != "CREATE_COMPLETE":
            fail(f"stack {stack['name']} is {status}")
        saved = output / "stacks" / f"{stack['name']}.json"
        if not saved.is_file():
            fail(f"stack {stack['name']}: no saved outputs in {saved}")
    balancers = elbv2.describe_load_balancers()["LoadBalancers"]
    for kind, template, declared in (
        ("application", "alb.yaml", ("AWS::ElasticLoadBalancingV2::Listener", "AWS::ElasticLoadBalancingV2::ListenerRule")),
        ("network", "nlb.yaml", ("AWS::ElasticLoadBalancingV2::Listener",)),
    ):
        if not (output / "cloudformation" / template).is_file():
            continue
        balancer = next(b for b in balancers if b["Type"] == kind)
        got = 0
        for listener in elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]:
            got += 1
            if kind == "application":
                got += sum(1 for r in elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"] if not r["IsDefault"])
        want = listeners_declared(output / "cloudformation" / template, declared)
        if got != want:
            fail(f"the {kind} load balancer has {got} listeners and rules, {template} declares {want}")
        print(f"   {got} listeners and rules on the {kind} load balancer")
    cluster, names = plan["deployment"]["cluster"], [t["service_name"] for t in plan["tasks"]]
    for start in range(0, len(names), 10):
        for service in ecs.describe_services(cluster=cluster, services=names[start : start + 10])["services"]:
            if service["status"] != "ACTIVE":
                fail(f"service {service['serviceName']} is {service['status']}")
    register_scaling(output / "cloudformation" / "autoscaling.yaml")


def register_scaling(template):
    """moto deploys AWS::ApplicationAutoScaling::* as nothing: each scalable target and policy of
    the template registered here, so moto checks that its ECS service exists."""
    if not template.is_file():
        return
    scaling = client("application-autoscaling")
    resources = yaml.safe_load(template.read_text())["Resources"]
    for logical_id, target in resources.items():
        if target["Type"] != "AWS::ApplicationAutoScaling::ScalableTarget":
            continue
        p = target["Properties"]
        scaling.register_scalable_target(
            ServiceNamespace=p["ServiceNamespace"], ScalableDimension=p["ScalableDimension"], ResourceId=p["ResourceId"],
            MinCapacity=p["MinCapacity"], MaxCapacity=p["MaxCapacity"],
        )
        for policy in (
            r["Properties"] for r in resources.values()
            if r["Type"] == "AWS::ApplicationAutoScaling::ScalingPolicy" and r["Properties"]["ScalingTargetId"] == {"Ref": logical_id}
        ):
            scaling.put_scaling_policy(
                ServiceNamespace="ecs", ScalableDimension=p["ScalableDimension"], ResourceId=p["ResourceId"],
                PolicyName=policy["PolicyName"], PolicyType=policy["PolicyType"],
                TargetTrackingScalingPolicyConfiguration=policy["TargetTrackingScalingPolicyConfiguration"],
            )
            print(f"   scaling {p['ResourceId']} {p['MinCapacity']}-{p['MaxCapacity']}: {policy['PolicyName']}")


def gone(plan, output):
    cloudformation, ecs = client("cloudformation"), client("ecs")
    left = {s["StackName"] for s in cloudformation.describe_stacks()["Stacks"] if s["StackStatus"] != "DELETE_COMPLETE"}
    for stack in plan["stacks"]:
        if stack["name"] in left:
            fail(f"stack {stack['name']} is left")
    saved = sorted(p.name for p in (output / "stacks").glob("*")) if (output / "stacks").is_dir() else []
    if saved:
        fail(f"saved outputs are left: {saved}")
    active = ecs.list_task_definitions(status="ACTIVE")["taskDefinitionArns"]
    for task in plan["tasks"]:
        family = task["service_name"]
        if any(arn.rsplit("/", 1)[1].rsplit(":", 1)[0] == family for arn in active):
            fail(f"task definition {family} has an active revision")
    cluster = plan["deployment"]["cluster"]
    clusters = ecs.describe_clusters(clusters=[cluster])["clusters"]
    if clusters and clusters[0]["status"] == "ACTIVE":
        names = [t["service_name"] for t in plan["tasks"]]
        for start in range(0, len(names), 10):
            for service in ecs.describe_services(cluster=cluster, services=names[start : start + 10])["services"]:
                if service["status"] == "ACTIVE":
                    fail(f"service {service['serviceName']} is still active")


def main():
    if sys.argv[1] == "network":
        network(int(sys.argv[2]))
    else:
        plan = json.load(open(sys.argv[2]))["plan"]
        {"deployed": deployed, "gone": gone}[sys.argv[1]](plan, Path(sys.argv[3]))


main()
