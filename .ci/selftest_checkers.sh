#!/usr/bin/env bash
# Prove the project's output checkers catch problems before CI trusts them: a small good
# output folder must pass check_output.sh, and each broken copy must fail for the expected
# reason (the checker's output must contain the given pattern).
# Usage: selftest_checkers.sh VENV    (VENV has cfn-lint and botocore; see .ci/run)
set -uo pipefail
[ $# -eq 1 ] || { echo "usage: $0 VENV" >&2; exit 2; }
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$1"; py="$venv/bin/python"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0

expect() {  # expect EXIT_CODE DESCRIPTION PATTERN COMMAND...: COMMAND must exit so and print PATTERN
  local want="$1" what="$2" pattern="$3"; shift 3
  "$@" >"$tmp/out" 2>&1
  local rc=$?
  if [ "$rc" -eq "$want" ] && grep -qE -- "$pattern" "$tmp/out"; then
    pass=$((pass + 1)); echo "ok   $what"
  else
    fail=$((fail + 1)); echo "FAIL $what (exit $rc, wanted $want and /$pattern/)"; sed 's/^/     /' "$tmp/out" | head -30
  fi
}

variant() {  # variant NAME FILE PYTHON: copy the good folder to NAME, run PYTHON on FILE's JSON as d
  cp -r "$tmp/good" "$tmp/$1"
  "$py" -c 'import json, sys
d = json.load(open(sys.argv[1])); exec(sys.argv[2]); json.dump(d, open(sys.argv[1], "w"), indent=2)' \
    "$tmp/$1/$2" "$3"
}

# ---- a good output folder: Fargate task with EFS and an ALB, placeholders where compose2ecs puts them
g="$tmp/good"; mkdir -p "$g/taskdefs" "$g/services" "$g/cloudformation"
cat >"$g/taskdefs/web.json" <<'EOF'
{
  "family": "demo-web",
  "networkMode": "awsvpc",
  "requiresCompatibilities": ["FARGATE"],
  "cpu": "256",
  "memory": "512",
  "executionRoleArn": "{{TaskExecutionRoleArn}}",
  "containerDefinitions": [
    {
      "name": "web",
      "image": "nginx:1.27",
      "essential": true,
      "portMappings": [{"name": "web-80", "containerPort": 80, "protocol": "tcp"}],
      "environment": [{"name": "MODE", "value": "prod"}],
      "mountPoints": [{"sourceVolume": "data", "containerPath": "/data", "readOnly": false}],
      "dockerLabels": {"com.example.team": "web"},
      "logConfiguration": {
        "logDriver": "awslogs",
        "options": {"awslogs-group": "{{LogGroupName}}", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web"}
      }
    }
  ],
  "volumes": [
    {"name": "data", "efsVolumeConfiguration": {"fileSystemId": "{{FileSystemId}}", "transitEncryption": "ENABLED",
      "authorizationConfig": {"accessPointId": "{{AccessPointDataId}}", "iam": "DISABLED"}}}
  ],
  "tags": [{"key": "compose-project", "value": "demo"}]
}
EOF
cat >"$g/services/web.json" <<'EOF'
{
  "cluster": "{{ClusterName}}",
  "serviceName": "web",
  "taskDefinition": "demo-web",
  "desiredCount": 1,
  "launchType": "FARGATE",
  "networkConfiguration": {"awsvpcConfiguration": {
    "subnets": ["{{PrivateSubnetIds}}"], "securityGroups": ["{{TaskSecurityGroupId}}"], "assignPublicIp": "DISABLED"}},
  "loadBalancers": [{"targetGroupArn": "{{TargetGroupWeb80Arn}}", "containerName": "web", "containerPort": 80}]
}
EOF
cat >"$g/cloudformation/base.yaml" <<'EOF'
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  VpcId: {"Type": "AWS::EC2::VPC::Id"}
Resources:
  Cluster:
    Type: "AWS::ECS::Cluster"
  LogGroup:
    Type: "AWS::Logs::LogGroup"
    Properties: {"RetentionInDays": 30}
  TaskSecurityGroup:
    Type: "AWS::EC2::SecurityGroup"
    Properties: {"GroupDescription": "demo tasks", "VpcId": {"Ref": "VpcId"}}
Outputs:
  ClusterName: {"Value": {"Ref": "Cluster"}}
  LogGroupName: {"Value": {"Ref": "LogGroup"}}
  TaskSecurityGroupId: {"Value": {"Fn::GetAtt": ["TaskSecurityGroup", "GroupId"]}}
EOF
cat >"$g/cloudformation/efs.yaml" <<'EOF'
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  FileSystem:
    Type: "AWS::EFS::FileSystem"
    Properties: {"Encrypted": true}
  AccessPointData:
    Type: "AWS::EFS::AccessPoint"
    Properties: {"FileSystemId": {"Ref": "FileSystem"}}
Outputs:
  FileSystemId: {"Value": {"Ref": "FileSystem"}}
  AccessPointDataId: {"Value": {"Ref": "AccessPointData"}}
EOF
cat >"$g/cloudformation/alb.yaml" <<'EOF'
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  VpcId: {"Type": "AWS::EC2::VPC::Id"}
Resources:
  TargetGroupWeb80:
    Type: "AWS::ElasticLoadBalancingV2::TargetGroup"
    Properties: {"TargetType": "ip", "Protocol": "HTTP", "Port": 80, "VpcId": {"Ref": "VpcId"}}
Outputs:
  TargetGroupWeb80Arn: {"Value": {"Ref": "TargetGroupWeb80"}}
EOF
check() { "$here/check_output.sh" "$venv" "$tmp/$1"; }
validate() { "$py" "$here/validate_ecs_json.py" "$@"; }

expect 0 "good folder passes" "check_output: .* ok" check good

# ---- the wrapper: renames, kept map keys, placeholders as Refs to declared parameters, service -> task Ref
"$py" "$here/ecs_json_to_cfn.py" "$g/taskdefs/web.json" --service "$g/services/web.json" >"$tmp/wrapped.json"
expect 0 "wrapper output has the CloudFormation shape" "shape ok" "$py" -c 'import json, sys
t = json.load(open(sys.argv[1])); td = t["Resources"]["TaskDefWeb"]["Properties"]; sv = t["Resources"]["ServiceWeb"]["Properties"]
efs = td["Volumes"][0]["EFSVolumeConfiguration"]; c = td["ContainerDefinitions"][0]
assert efs["FilesystemId"] == {"Ref": "FileSystemId"} and efs["AuthorizationConfig"]["IAM"] == "DISABLED"
assert c["LogConfiguration"]["Options"]["awslogs-group"] == {"Ref": "LogGroupName"}
assert c["DockerLabels"] == {"com.example.team": "web"} and c["PortMappings"][0]["ContainerPort"] == 80
assert sv["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"] == [{"Ref": "PrivateSubnetIds"}]
assert sv["TaskDefinition"] == {"Ref": "TaskDefWeb"}
assert t["Parameters"]["TargetGroupWeb80Arn"] == {"Type": "String"} and len(t["Parameters"]) == 8
print("shape ok")' "$tmp/wrapped.json"

# ---- the API model checks
variant unknown-key taskdefs/web.json 'd["containerDefinitions"][0]["portMapping"] = []'
expect 1 "unknown key" "unknown member 'portMapping'" check unknown-key
variant bad-enum taskdefs/web.json 'd["networkMode"] = "bogus"'
expect 1 "wrong enum networkMode" "networkMode: 'bogus' is not one of" check bad-enum
variant str-for-int taskdefs/web.json 'd["containerDefinitions"][0]["portMappings"][0]["containerPort"] = "80"'
expect 1 "string where an integer is needed" "containerPort: expected integer" check str-for-int
variant bool-for-int services/web.json 'd["desiredCount"] = True'
expect 1 "boolean where an integer is needed" "desiredCount: expected integer" check bool-for-int
variant no-service-name services/web.json 'del d["serviceName"]'
expect 1 "missing required member" "missing required member 'serviceName'" check no-service-name
variant null-value taskdefs/web.json 'd["taskRoleArn"] = None'
expect 1 "null value" "taskRoleArn: null is not allowed" check null-value
variant long-tag taskdefs/web.json 'd["tags"][0]["value"] = "x" * 257'
expect 1 "string over its max length" "tags\[0\]\.value: 257 characters, at most 256" check long-tag
variant out-of-range services/web.json 'd["capacityProviderStrategy"] = [{"capacityProvider": "FARGATE", "weight": 1001}]; del d["launchType"]'
expect 1 "integer over its max value" "weight: 1001 is above the maximum 1000" check out-of-range
variant inner-placeholder taskdefs/web.json 'd["executionRoleArn"] = "arn:aws:iam::{{AccountId}}:role/x"'
expect 1 "placeholder inside a longer string" "placeholder inside a longer string" check inner-placeholder
variant free-text-placeholder taskdefs/web.json 'd["containerDefinitions"][0]["environment"] = [{"name": "URL", "value": "rediss://{{CacheEndpoint}}:6379/0"}]'
expect 0 "placeholder inside a variable's value" "" check free-text-placeholder
printf '{"family": "x",' >"$tmp/broken.json"
expect 1 "not JSON" "not valid JSON" validate RegisterTaskDefinition "$tmp/broken.json"
expect 2 "unknown operation is a usage error" "unknown ECS operation" validate RegisterTaskDef "$g/taskdefs/web.json"

# ---- cfn-lint's ECS rules on the wrapped JSON
variant fargate-cpumem taskdefs/web.json 'd["memory"] = "4096"'
expect 1 "Fargate cpu 256 with memory 4096" "E3047" check fargate-cpumem
variant no-network services/web.json 'del d["networkConfiguration"]'
expect 1 "awsvpc service without networkConfiguration" "E3052" check no-network
variant ec2-only taskdefs/web.json 'd["requiresCompatibilities"] = ["EC2"]; d["networkMode"] = "bridge"'
expect 1 "Fargate service on an EC2-only task definition" "E3054" check ec2-only

# ---- cfn-lint on the templates: errors and warnings fail, informational findings pass
cp -r "$g" "$tmp/cfn-error"; sed -i 's/"RetentionInDays"/"RetentionDays"/' "$tmp/cfn-error/cloudformation/base.yaml"
expect 1 "template error fails" "E3002.*RetentionDays" check cfn-error
cp -r "$g" "$tmp/cfn-warning"
sed -i 's/^Parameters:$/&\n  Unused: {"Type": "String"}/' "$tmp/cfn-warning/cloudformation/base.yaml"
expect 1 "template warning fails" "W2001 Parameter Unused not used" check cfn-warning
cp -r "$g" "$tmp/cfn-info"; sed -i 's/"demo tasks"/{"Fn::Join": ["", ["demo-", {"Ref": "AWS::StackName"}]]}/' "$tmp/cfn-info/cloudformation/base.yaml"
expect 0 "informational finding passes" "I1022" check cfn-info

# ---- folder layout
cp -r "$g" "$tmp/no-base"; rm "$tmp/no-base/cloudformation/base.yaml"
expect 1 "missing base.yaml" "base.yaml: missing" check no-base
cp -r "$g" "$tmp/no-efs"; rm "$tmp/no-efs/cloudformation/efs.yaml"
expect 1 "EFS used but efs.yaml missing" "efs.yaml: missing" check no-efs
cp -r "$g" "$tmp/no-alb"; rm "$tmp/no-alb/cloudformation/alb.yaml"
expect 1 "a load balancer used but alb.yaml missing" "alb.yaml: missing" check no-alb
cp -r "$g" "$tmp/no-nlb"; sed -i 's/{{TargetGroupWeb80Arn}}/{{NetworkTargetGroupPort80Arn}}/' "$tmp/no-nlb/services/web.json"
expect 1 "a network load balancer used but nlb.yaml missing" "nlb.yaml: missing" check no-nlb
cp -r "$g" "$tmp/orphan-service"; mv "$tmp/orphan-service/services/web.json" "$tmp/orphan-service/services/api.json"
expect 1 "service without a task definition of its name" "api.json: no task definition" check orphan-service

# ---- many folders in one run (.ci/corpus_check): each is judged alone, identical templates are linted once
cp -r "$g" "$tmp/good-copy"
batch() { "$py" "$here/check_outputs.py" --cfn-lint "$venv/bin/cfn-lint" --quiet "$@"; }
expect 0 "identical folders are linted once" "2 folders, .* cfn-lint read 4 distinct of 8 templates" batch "$tmp/good" "$tmp/good-copy"
expect 1 "the broken folder of several fails, named" "check_output: $tmp/bad-enum FAILED:" batch "$tmp/good" "$tmp/bad-enum" "$tmp/no-base"
expect 1 "the others are counted" "1 folders passed, 2 failed" batch "$tmp/good" "$tmp/bad-enum" "$tmp/no-base"
cp -r "$g" "$tmp/not-json"; printf '[1,' >"$tmp/not-json/taskdefs/web.json"
expect 1 "a task definition that is not JSON" "- not valid JSON" check not-json

echo "selftest_checkers: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
