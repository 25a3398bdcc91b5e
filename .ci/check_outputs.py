#!/usr/bin/env python3
"""Check compose2ecs output folders offline, any number of them in one run.

Usage: check_outputs.py [--cfn-lint PATH] [--jobs N] [--quiet] [--dirs-from FILE] [DIR...]

For each DIR (an output folder of `compose2ecs convert -o DIR`):
  the layout: base.yaml, at least one task, a task definition for each service, efs.yaml /
    alb.yaml / nlb.yaml when a task mounts EFS / a service has a (network) load balancer;
  DIR/taskdefs/*.json against the ECS RegisterTaskDefinition input shape and
  DIR/services/*.json against CreateService (validate_ecs_json.py's checks, in this process);
  that JSON wrapped as CloudFormation (ecs_json_to_cfn.py's wrap) and every
  DIR/cloudformation/*.yaml with cfn-lint: errors and warnings fail, informational findings pass.
cfn-lint takes a second to start, so it runs once over the templates of all folders (split over
--jobs processes); byte-identical templates are linted once.

Prints every problem under its folder, then `check_output: DIR ok (...)` or `check_output: DIR
FAILED:` with the list; with --quiet only failed folders are printed, and informational findings
are counted by rule. The last line sums up.
Exit status: 0 every folder passes, 1 some folder fails, 2 usage error or a checker that could not run.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import botocore.session

# The two checkers beside this file are imported, not run per file; no __pycache__ is left in .ci.
sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from ecs_json_to_cfn import wrap  # noqa: E402
from validate_ecs_json import problems  # noqa: E402

# cfn-lint's exit status is a bit mask of the levels it found; any other bit means it failed.
LINT_LEVEL_BITS = 2 | 4 | 8
FAILING_LEVELS = ("Error", "Warning")


class Folder:
    """One output folder and what was found in it."""

    def __init__(self, path):
        self.path = path
        self.taskdefs = sorted(Path(path, "taskdefs").glob("*.json"))
        self.services = sorted(Path(path, "services").glob("*.json"))
        self.templates = sorted(Path(path, "cloudformation").glob("*.yaml"))
        self.failures = []  # one message per problem, each starting with the file it is in
        self.findings = []  # every cfn-lint finding, printed unless --quiet

    def summary(self):
        return f"{len(self.taskdefs)} task definitions, {len(self.services)} services, {len(self.templates)} templates"


def check_layout(folder):
    """The files a deployable folder must have, given what its tasks and services use."""
    d = folder.path
    if not folder.taskdefs:
        folder.failures.append(f"{d}/taskdefs/: no task definition")
    if not Path(d, "cloudformation", "base.yaml").is_file():
        folder.failures.append(f"{d}/cloudformation/base.yaml: missing")
    for service in folder.services:
        if not Path(d, "taskdefs", service.name).is_file():
            folder.failures.append(f"{service}: no task definition of the same name")
    if any('"efsVolumeConfiguration"' in f.read_text(encoding="utf-8") for f in folder.taskdefs):
        if not Path(d, "cloudformation", "efs.yaml").is_file():
            folder.failures.append(f"{d}/cloudformation/efs.yaml: missing, but a task mounts EFS")
    # A placeholder names the template whose output fills it (`{{NetworkTargetGroup…Arn}}`:
    # nlb.yaml, `{{TargetGroup…Arn}}`: alb.yaml); a known ARN needs one of them.
    arns = [
        line.split('"targetGroupArn"', 1)[1]
        for f in folder.services
        for line in f.read_text(encoding="utf-8").splitlines()
        if '"targetGroupArn"' in line
    ]
    alb = Path(d, "cloudformation", "alb.yaml").is_file()
    nlb = Path(d, "cloudformation", "nlb.yaml").is_file()
    if any("{{TargetGroup" in arn for arn in arns) and not alb:
        folder.failures.append(f"{d}/cloudformation/alb.yaml: missing, but a service has a load balancer")
    if any("{{NetworkTargetGroup" in arn for arn in arns) and not nlb:
        folder.failures.append(f"{d}/cloudformation/nlb.yaml: missing, but a service has a network load balancer")
    if any("{{" not in arn for arn in arns) and not (alb or nlb):
        folder.failures.append(f"{d}/cloudformation/: no load balancer's template, but a service has a load balancer")


def check_api_json(folder, model):
    """Checks the JSON against the ECS API model; returns the wrapped template's text, or None
    when some file is not a JSON object (its problem is already recorded)."""
    wrappable = {"taskdefs": [], "services": []}
    for kind, files, operation in [
        ("taskdefs", folder.taskdefs, "RegisterTaskDefinition"),
        ("services", folder.services, "CreateService"),
    ]:
        shape = model.operation_model(operation).input_shape
        for f in files:
            text = f.read_text(encoding="utf-8")
            errs = problems(text, shape)
            if errs:
                folder.failures.append(
                    f"{f}: INVALID {operation} input ({len(errs)} problem(s))" + "".join(f"\n    - {e}" for e in errs)
                )
            try:
                api = json.loads(text)
            except ValueError:
                return None
            if not isinstance(api, dict):
                return None
            # Paths relative to the folder, so that identical folders wrap to identical bytes.
            wrappable[kind].append((str(f.relative_to(folder.path)), api))
    if not wrappable["taskdefs"] and not wrappable["services"]:
        return None
    return json.dumps(wrap(model, wrappable["taskdefs"], wrappable["services"]), indent=2) + "\n"


def lint(cfn_lint, jobs, documents, workdir):
    """Runs cfn-lint over documents (name -> text), split over `jobs` processes.

    Returns (findings by document name, messages of runs that failed)."""
    names = sorted(documents)
    file_of, name_of = {}, {}
    for i, name in enumerate(names):
        path = Path(workdir, f"{i}{Path(name).suffix}")
        path.write_text(documents[name], encoding="utf-8")
        file_of[name], name_of[str(path)] = str(path), name
    chunks = [names[i::jobs] for i in range(jobs) if names[i::jobs]]
    runs = []
    for n, chunk in enumerate(chunks):
        out = Path(workdir, f"lint-{n}.json")
        files = [file_of[name] for name in chunk]
        command = [cfn_lint, "--regions", "us-east-1", "--include-checks", "I", "--format", "json", "--", *files]
        runs.append((out, subprocess.Popen(command, stdout=out.open("w"), stderr=subprocess.PIPE, text=True)))
    findings, broken = {name: [] for name in names}, []
    for out, process in runs:
        _, stderr = process.communicate()
        try:
            results = json.loads(out.read_text())
        except ValueError:
            results = None
        if results is None or process.returncode & ~LINT_LEVEL_BITS:
            broken.append(f"cfn-lint exit {process.returncode}: {stderr.strip() or out.read_text()[:2000]}")
            continue
        for finding in results:
            findings[name_of[finding["Filename"]]].append(finding)
    return findings, broken


def describe(finding, label):
    where = finding["Location"]
    path = "/".join(map(str, where["Path"] or []))
    return f"{label}: {finding['Rule']['Id']} {finding['Message']}\n    at line {where['Start']['LineNumber']} {path}"


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", nargs="*", metavar="DIR")
    ap.add_argument("--dirs-from", metavar="FILE", help="more folders, one a line")
    ap.add_argument("--cfn-lint", default=str(Path(sys.executable).parent / "cfn-lint"), help="the cfn-lint to run")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="cfn-lint processes at once")
    ap.add_argument("--quiet", action="store_true", help="print only failed folders and the sums")
    a = ap.parse_args(argv)
    if a.dirs_from:
        a.dirs += [line for line in Path(a.dirs_from).read_text(encoding="utf-8").splitlines() if line]
    if a.jobs < 1:
        ap.error("--jobs must be at least 1")
    if not a.dirs or not all(Path(d).is_dir() for d in a.dirs):
        ap.error("give at least one DIR; every DIR must be a folder: " + ", ".join(d for d in a.dirs if not Path(d).is_dir()))
    model = botocore.session.get_session().get_service_model("ecs")

    folders = [Folder(d.rstrip("/") or d) for d in a.dirs]
    # Every document to lint, by content hash: (text, [(folder, label)]).
    documents = {}

    def to_lint(folder, label, suffix, text):
        key = hashlib.sha256(text.encode()).hexdigest()[:16] + suffix
        documents.setdefault(key, (text, []))[1].append((folder, label))

    for folder in folders:
        check_layout(folder)
        wrapped = check_api_json(folder, model)
        if wrapped is not None:
            to_lint(folder, f"{folder.path}/{{taskdefs,services}} wrapped as CloudFormation", ".json", wrapped)
        for template in folder.templates:
            to_lint(folder, str(template), ".yaml", template.read_text(encoding="utf-8"))

    linted = sum(len(users) for _, users in documents.values())
    with tempfile.TemporaryDirectory() as workdir:
        findings, broken = lint(a.cfn_lint, a.jobs, {k: text for k, (text, _) in documents.items()}, workdir)
    informational = Counter()
    for key, (_, users) in documents.items():
        for finding in findings[key]:
            for folder, label in users:
                folder.findings.append(describe(finding, label))
                if finding["Level"] in FAILING_LEVELS:
                    folder.failures.append(describe(finding, label) + " (cfn-lint)")
                else:
                    informational[finding["Rule"]["Id"]] += 1

    failed = [f for f in folders if f.failures]
    for folder in folders:
        if a.quiet and not folder.failures:
            continue
        if not a.quiet:
            print("".join(f"{line}\n" for line in folder.findings), end="")
        if folder.failures:
            print(f"check_output: {folder.path} FAILED:")
            print("".join(f"  {line}\n" for line in folder.failures), end="")
        else:
            print(f"check_output: {folder.path} ok ({folder.summary()})")
    for message in broken:
        print(f"check_outputs: {message}", file=sys.stderr)
    if len(folders) > 1:
        counts = Counter()
        for folder in folders:
            counts.update(taskdefs=len(folder.taskdefs), services=len(folder.services), templates=len(folder.templates))
        print(
            f"check_outputs: {len(folders)} folders, {counts['taskdefs']} task definitions, {counts['services']} services,"
            f" {counts['templates']} templates; cfn-lint read {len(documents)} distinct of {linted} templates"
            f" (the ECS JSON of each folder wrapped as one) in {min(a.jobs, len(documents))} processes"
        )
        if informational:
            print("  informational findings (they pass): " + ", ".join(f"{r} {n}" for r, n in sorted(informational.items())))
        print(f"  {len(folders) - len(failed)} folders passed, {len(failed)} failed")
    if broken:
        return 2
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
