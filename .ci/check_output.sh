#!/usr/bin/env bash
# Check one compose2ecs output folder offline: its layout, its ECS JSON against botocore's model
# of the ECS API, and that JSON wrapped as CloudFormation plus every template with cfn-lint
# (errors and warnings fail; informational findings are shown but pass). The checks are
# .ci/check_outputs.py's, which also checks many folders in one run (.ci/corpus_check).
# Usage: check_output.sh VENV DIR    (VENV has cfn-lint and botocore; see .ci/run)
# Exit 0 when everything passes, 1 otherwise (the failed files are listed at the end), 2 on usage error.
set -uo pipefail
[ $# -eq 2 ] && [ -d "$2" ] || { echo "usage: $0 VENV DIR" >&2; exit 2; }
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec "$1/bin/python" "$here/check_outputs.py" --cfn-lint "$1/bin/cfn-lint" "${2%/}"
