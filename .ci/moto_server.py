#!/usr/bin/env python3
"""moto's server on 127.0.0.1 for .ci/deploy_proof, with one fix to moto itself.

Usage: moto_server.py -H 127.0.0.1 -p PORT    (the arguments of moto_server)

moto 5.2.5 creates a stack from a change set (what `aws cloudformation deploy` does) but keeps
the outputs of the empty template the change set started from, so `describe-stacks` shows no
Outputs. The fix below rebuilds them after the change set is applied, as `update-stack` already
does in moto. Nothing else differs from `moto_server`.
"""

import sys

from moto.cloudformation import models
from moto.server import main

_apply = models.ChangeSet.apply


def apply_and_keep_outputs(self):
    _apply(self)
    self.stack.template = self.template
    self.stack.template_dict = self.template_dict
    self.stack.output_map = self.stack._create_output_map()


models.ChangeSet.apply = apply_and_keep_outputs
main(sys.argv[1:])
