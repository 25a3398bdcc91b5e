#!/usr/bin/env bash
# Check one compose2ecs output folder offline:
#   DIR/taskdefs/*.json  against the ECS RegisterTaskDefinition input shape,
#   DIR/services/*.json  against the ECS CreateService input shape,
#   all of that JSON wrapped as CloudFormation, and every DIR/cloudformation/*.yaml, with cfn-lint
#   (errors and warnings fail; informational findings are shown but pass),
#   plus the folder layout: base.yaml, at least one task, efs.yaml / alb.yaml when used.
# Usage: check_output.sh VENV DIR    (VENV has cfn-lint and botocore; see .ci/run)
# Exit 0 when everything passes, 1 otherwise (the failed files are listed at the end), 2 on usage error.
set -uo pipefail
[ $# -eq 2 ] && [ -d "$2" ] || { echo "usage: $0 VENV DIR" >&2; exit 2; }
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py="$1/bin/python"; cfnlint="$1/bin/cfn-lint"; dir="${2%/}"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
failed=()
shopt -s nullglob
taskdefs=("$dir"/taskdefs/*.json); services=("$dir"/services/*.json); templates=("$dir"/cloudformation/*.yaml)

# Layout.
[ ${#taskdefs[@]} -gt 0 ] || failed+=("$dir/taskdefs/: no task definition")
[ -f "$dir/cloudformation/base.yaml" ] || failed+=("$dir/cloudformation/base.yaml: missing")
for f in "${services[@]}"; do
  [ -f "$dir/taskdefs/${f##*/}" ] || failed+=("$f: no task definition of the same name")
done
if grep -qs '"efsVolumeConfiguration"' "${taskdefs[@]}" /dev/null && [ ! -f "$dir/cloudformation/efs.yaml" ]; then
  failed+=("$dir/cloudformation/efs.yaml: missing, but a task mounts EFS")
fi
if grep -qs '"targetGroupArn"' "${services[@]}" /dev/null && [ ! -f "$dir/cloudformation/alb.yaml" ]; then
  failed+=("$dir/cloudformation/alb.yaml: missing, but a service has a load balancer")
fi

# ECS API input shapes (the validator prints "FILE: INVALID ..." for each bad file).
validate() {  # validate OPERATION FILE...
  [ $# -gt 1 ] || return 0
  "$py" "$here/validate_ecs_json.py" "$@" > "$tmp/validate.out" 2>&1
  local rc=$? f
  cat "$tmp/validate.out"
  [ $rc -lt 2 ] || failed+=("validate_ecs_json.py $1: could not run (exit $rc)")
  while read -r f; do failed+=("$f"); done < <(sed -n 's/: INVALID .*//p' "$tmp/validate.out")
}
validate RegisterTaskDefinition "${taskdefs[@]}"
validate CreateService "${services[@]}"

# cfn-lint, one run over the wrapped JSON and every template (cfn-lint takes a second to start).
# Its exit status is a bit mask: 2 errors, 4 warnings, 8 informational; anything but 8 fails.
# Informational rules are off by default; -c I turns them on as advice (they do not fail).
wrapped="$tmp/ecs-json-wrapped.json"; lint_files=()
if [ ${#taskdefs[@]} -gt 0 ]; then
  wrap_args=("${taskdefs[@]}"); [ ${#services[@]} -eq 0 ] || wrap_args+=(--service "${services[@]}")
  if "$py" "$here/ecs_json_to_cfn.py" "${wrap_args[@]}" >"$wrapped"; then lint_files+=("$wrapped")
  else failed+=("$dir/{taskdefs,services}: ecs_json_to_cfn.py failed"); fi
fi
lint_files+=("${templates[@]}")
if [ ${#lint_files[@]} -gt 0 ]; then
  "$cfnlint" --regions us-east-1 --include-checks I --format json -- "${lint_files[@]}" >"$tmp/lint.json"
  rc=$?
  # Print each finding with its place in the template; list the files with errors or warnings.
  "$py" - "$tmp/lint.json" "$wrapped" "$dir/{taskdefs,services} wrapped as CloudFormation" "$tmp/lint-failed" <<'EOF'
import json, sys
out, wrapped, label, failed = sys.argv[1:]
try:
    findings = json.load(open(out))
except ValueError:
    findings = []
    print(open(out).read())
bad = []
for f in findings:
    name, loc = label if f["Filename"] == wrapped else f["Filename"], f["Location"]
    where = "/".join(map(str, loc["Path"] or []))
    print(f"{name}: {f['Rule']['Id']} {f['Message']}\n    at line {loc['Start']['LineNumber']} {where}")
    if f["Level"] in ("Error", "Warning") and name not in bad:
        bad.append(name)
open(failed, "w").write("".join(f"{b}\n" for b in bad))
EOF
  while read -r f; do failed+=("$f (cfn-lint)"); done <"$tmp/lint-failed"
  if (( rc & ~8 )) && [ ! -s "$tmp/lint-failed" ]; then failed+=("cfn-lint exit $rc on ${lint_files[*]}"); fi
  (( rc & ~8 )) || echo "cfn-lint: ${#lint_files[@]} template(s) ok$( ((rc)) && echo ', informational findings only')"
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "check_output: $dir FAILED:"
  printf '  %s\n' "${failed[@]}"
  exit 1
fi
echo "check_output: $dir ok (${#taskdefs[@]} task definitions, ${#services[@]} services, ${#templates[@]} templates)"
