#!/usr/bin/env python3
"""moto's server on 127.0.0.1 for .ci/deploy_proof, with two fixes to moto itself.

Usage: moto_server.py -H 127.0.0.1 -p PORT    (the arguments of moto_server)

moto 5.2.5 creates a stack from a change set (what `aws cloudformation deploy` does) but keeps
the outputs of the empty template the change set started from, so `describe-stacks` shows no
Outputs. The fix below rebuilds them after the change set is applied, as `update-stack` already
does in moto. And moto 5.2.5 makes every AWS::ElasticLoadBalancingV2::LoadBalancer of a template
an application load balancer (it drops `Type`), so a network load balancer's TCP or UDP listener
is refused; the second fix passes `Type` on, as `create-load-balancer` already does in moto.
Nothing else differs from `moto_server`.
"""

import sys

from moto.cloudformation import models
from moto.elbv2 import models as elbv2_models
from moto.server import main

_apply = models.ChangeSet.apply


def apply_and_keep_outputs(self):
    _apply(self)
    self.stack.template = self.template
    self.stack.template_dict = self.template_dict
    self.stack.output_map = self.stack._create_output_map()


models.ChangeSet.apply = apply_and_keep_outputs


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
main(sys.argv[1:])
