#!/usr/bin/env python3
"""moto's server on 127.0.0.1 for .ci/deploy_proof, with seven fixes to moto itself.

Usage: moto_server.py -H 127.0.0.1 -p PORT    (the arguments of moto_server)

moto 5.2.5 creates a stack from a change set (what `aws cloudformation deploy` does) but keeps
the outputs of the empty template the change set started from, so `describe-stacks` shows no
Outputs. The fix below rebuilds them after the change set is applied, as `update-stack` already
does in moto. And moto 5.2.5 makes every AWS::ElasticLoadBalancingV2::LoadBalancer of a template
an application load balancer (it drops `Type`), so a network load balancer's TCP or UDP listener
is refused; the second fix passes `Type` on, as `create-load-balancer` already does in moto.
And moto's CloudFormation knows no AWS::ServiceDiscovery::PrivateDnsNamespace or ::Service (a
template that uses their Ref or Fn::GetAtt fails with an internal error): the third makes them
with moto's own Cloud Map backend, as its API does.
And moto shows a List<...> parameter in `describe-stacks` as a Python list (`['subnet-a',
'subnet-b']`), where AWS shows the value it was given (`subnet-a,subnet-b`): the fourth fix
joins it again, so `deploy` reads the parameters it deployed with as AWS gives them.
And moto's CloudFormation deploys AWS::SecretsManager::Secret as nothing (its Ref is "None"):
the fifth makes the secret, without a value, with moto's Secrets Manager backend, as its API does.
And a moto ECS service runs MOTO_ECS_SERVICE_RUNNING tasks (0 by default) whatever its desired
count, so `aws ecs wait services-stable` never ends for one that asks for another number: the
sixth makes it run its desired count at once, as a healthy service does once its tasks start.
And moto's CloudFormation names an AWS::IAM::ManagedPolicy without `ManagedPolicyName` by its
logical id alone, so two stacks with one of the same logical id collide; deleting it (with its
stack, or from a template) neither detaches it nor deletes it, so the role it is attached to cannot
be deleted; and a changed one is dropped, still attached: the seventh names it with a random
suffix, on delete detaches it from its roles, groups and users and deletes it, and on a change
replaces it (CloudFormation updates it in place; what the roles may do after is the same).
Nothing else differs from `moto_server`.
"""

import json
import sys
import uuid

from moto.cloudformation import models
from moto.core.common_models import CloudFormationModel
from moto.ecs import models as ecs_models
from moto.iam import models as iam_models
from moto.elbv2 import models as elbv2_models
from moto.server import main
from moto.secretsmanager.models import secretsmanager_backends
from moto.servicediscovery.models import servicediscovery_backends

_apply = models.ChangeSet.apply


def apply_and_keep_outputs(self):
    _apply(self)
    self.stack.template = self.template
    self.stack.template_dict = self.template_dict
    self.stack.output_map = self.stack._create_output_map()


models.ChangeSet.apply = apply_and_keep_outputs


def parameters_as_given(self):
    return [
        {
            "ParameterKey": key,
            "ParameterValue": ",".join(value) if isinstance(value, list) else value,
        }
        for key, value in self.resource_map.resolved_parameters.items()
    ]


models.Stack.parameter_list = property(parameters_as_given)


@classmethod
def load_balancer_from_template(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    properties = cloudformation_json["Properties"]
    return elbv2_models.elbv2_backends[account_id][region_name].create_load_balancer(
        resource_name,
        properties.get("SecurityGroups"),
        properties.get("Subnets"),
        scheme=properties.get("Scheme", "internet-facing"),
        loadbalancer_type=properties.get("Type"),
    )


elbv2_models.FakeLoadBalancer.create_from_cloudformation_json = load_balancer_from_template


_service_init = ecs_models.Service.__init__


def service_running_its_tasks(self, *args, **kwargs):
    _service_init(self, *args, **kwargs)
    self.running_count, self.pending_count = self.desired_count, 0
    for deployment in self.deployments:
        deployment.update(runningCount=self.desired_count, pendingCount=0, rolloutState="COMPLETED")


ecs_models.Service.__init__ = service_running_its_tasks

_managed_policy_from_template = iam_models.ManagedPolicy.create_from_cloudformation_json.__func__


@classmethod
def managed_policy_named_as_cloudformation_names_it(cls, resource_name, cloudformation_json, *args, **kwargs):
    properties = cloudformation_json.setdefault("Properties", {})
    if "ManagedPolicyName" not in properties:
        properties = dict(properties, ManagedPolicyName=f"{resource_name}-{uuid.uuid4().hex[:12].upper()}")
        cloudformation_json = dict(cloudformation_json, Properties=properties)
    return _managed_policy_from_template(cls, resource_name, cloudformation_json, *args, **kwargs)


def delete_managed_policy(self, account_id, region_name):
    backend = self.backend
    for holders in (backend.roles.values(), backend.groups.values(), backend.users.values()):
        for holder in list(holders):
            if self.arn in holder.managed_policies:
                self.detach_from(holder)
    backend.delete_policy(self.arn)


@classmethod
def replace_managed_policy(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
    original_resource.delete(account_id, region_name)
    return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)


iam_models.ManagedPolicy.create_from_cloudformation_json = managed_policy_named_as_cloudformation_names_it
iam_models.ManagedPolicy.delete = delete_managed_policy
iam_models.ManagedPolicy.update_from_cloudformation_json = replace_managed_policy


class CloudMapResource:
    """A Cloud Map namespace or service of a template, made by moto's Cloud Map backend (moto
    finds the direct subclasses of CloudFormationModel, so each resource below is one)."""

    def __init__(self, made):
        self.made = made

    @staticmethod
    def cloudformation_name_type():
        return "Name"

    @classmethod
    def has_cfn_attr(cls, attr):
        return attr in ("Id", "Arn")

    @property
    def physical_resource_id(self):
        return self.made.id

    def get_cfn_attribute(self, attribute_name):
        return {"Id": self.made.id, "Arn": self.made.arn}[attribute_name]


class PrivateDnsNamespace(CloudMapResource, CloudFormationModel):
    # moto files its models by the service their module names.
    __module__ = "moto.servicediscovery.models"

    @staticmethod
    def cloudformation_type():
        return "AWS::ServiceDiscovery::PrivateDnsNamespace"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        backend = servicediscovery_backends[account_id][region_name]
        backend.create_private_dns_namespace(
            name=properties["Name"],
            creator_request_id=resource_name,
            description=properties.get("Description", ""),
            vpc=properties["Vpc"],
            tags=[],
            properties={},
        )
        made = next(n for n in backend.namespaces.values() if n.name == properties["Name"])
        return cls(made)


class DiscoveryService(CloudMapResource, CloudFormationModel):
    __module__ = "moto.servicediscovery.models"

    @staticmethod
    def cloudformation_type():
        return "AWS::ServiceDiscovery::Service"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        made = servicediscovery_backends[account_id][region_name].create_service(
            name=properties["Name"],
            namespace_id=properties["NamespaceId"],
            creator_request_id=resource_name,
            description=properties.get("Description", ""),
            dns_config=properties.get("DnsConfig"),
            health_check_config=None,
            health_check_custom_config=properties.get("HealthCheckCustomConfig"),
            tags=[],
            service_type="DNS",
        )
        return cls(made)


class SecretsManagerSecret(CloudFormationModel):
    __module__ = "moto.secretsmanager.models"

    def __init__(self, arn):
        self.arn = arn

    @staticmethod
    def cloudformation_type():
        return "AWS::SecretsManager::Secret"

    @staticmethod
    def cloudformation_name_type():
        return "Name"

    @classmethod
    def has_cfn_attr(cls, attr):
        return attr == "Id"

    @property
    def physical_resource_id(self):
        return self.arn

    def get_cfn_attribute(self, attribute_name):
        return self.arn

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        made = secretsmanager_backends[account_id][region_name].create_secret(
            name=properties["Name"],
            secret_string=None,
            secret_binary=None,
            description=properties.get("Description"),
            tags=[],
            kms_key_id=None,
            client_request_token=None,
            replica_regions=[],
            force_overwrite=False,
        )
        return cls(json.loads(made)["ARN"])


main(sys.argv[1:])
