"""terraform/deployer-policy.json covers every resource type the root module and its modules use.

Each type maps to the actions applying and destroying it needs (a representative set per type:
create, read, update, delete, tags). A type missing from the map fails the test, so a new resource
type cannot be added without deciding what the deployer needs for it.
"""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
TERRAFORM = REPO / "terraform"
POLICY = TERRAFORM / "deployer-policy.json"
# IAM's limit on a managed policy, whitespace excluded (IAM User Guide, "IAM and AWS STS quotas").
MANAGED_POLICY_MAX_CHARS = 6144

_BLOCK = re.compile(r'^(resource|data)\s+"([a-z0-9_]+)"', re.MULTILINE)

# Resource (and data source) type -> actions the deployer needs for it. [] = no AWS call.
REQUIRED_ACTIONS: dict[str, list[str]] = {
    "data.aws_caller_identity": [],  # sts:GetCallerIdentity needs no permission
    "data.aws_region": [],
    "data.aws_iam_policy_document": [],  # rendered locally
    "data.aws_kms_key": ["kms:DescribeKey"],
    "resource.terraform_data": [],
    "resource.time_sleep": [],
    "resource.aws_dynamodb_table": [
        "dynamodb:CreateTable",
        "dynamodb:DescribeTable",
        "dynamodb:UpdateTable",
        "dynamodb:DeleteTable",
        "dynamodb:DescribeContinuousBackups",
        "dynamodb:UpdateContinuousBackups",
        "dynamodb:DescribeTimeToLive",
        "dynamodb:UpdateTimeToLive",
        "dynamodb:TagResource",
        "dynamodb:ListTagsOfResource",
        "kms:CreateGrant",
        "kms:DescribeKey",
    ],
    # DynamoDB Developer Guide, "Using IAM policies for Amazon Kinesis Data Streams and DynamoDB".
    "resource.aws_dynamodb_kinesis_streaming_destination": [
        "dynamodb:EnableKinesisStreamingDestination",
        "dynamodb:DescribeKinesisStreamingDestination",
        "dynamodb:DisableKinesisStreamingDestination",
        "kinesis:ListStreams",
        "kinesis:PutRecords",
        "kinesis:DescribeStream",
        "iam:CreateServiceLinkedRole",
    ],
    "resource.aws_kinesis_stream": [
        "kinesis:CreateStream",
        "kinesis:DescribeStreamSummary",
        "kinesis:DeleteStream",
        "kinesis:AddTagsToStream",
        "kinesis:ListTagsForStream",
        "kinesis:IncreaseStreamRetentionPeriod",
        "kinesis:DecreaseStreamRetentionPeriod",
        "kinesis:StartStreamEncryption",
        "kinesis:UpdateStreamMode",
    ],
    "resource.aws_kinesis_firehose_delivery_stream": [
        "firehose:CreateDeliveryStream",
        "firehose:DescribeDeliveryStream",
        "firehose:UpdateDestination",
        "firehose:DeleteDeliveryStream",
        "firehose:TagDeliveryStream",
        "firehose:ListTagsForDeliveryStream",
        "iam:PassRole",
    ],
    "resource.aws_iam_role": [
        "iam:CreateRole",
        "iam:GetRole",
        "iam:DeleteRole",
        "iam:UpdateAssumeRolePolicy",
        "iam:TagRole",
        "iam:ListRolePolicies",
        "iam:ListAttachedRolePolicies",
        "iam:ListInstanceProfilesForRole",
    ],
    "resource.aws_iam_role_policy": [
        "iam:PutRolePolicy",
        "iam:GetRolePolicy",
        "iam:DeleteRolePolicy",
    ],
    "resource.aws_lambda_function": [
        "lambda:CreateFunction",
        "lambda:GetFunction",
        "lambda:UpdateFunctionCode",
        "lambda:UpdateFunctionConfiguration",
        "lambda:DeleteFunction",
        "lambda:ListVersionsByFunction",
        "lambda:GetFunctionCodeSigningConfig",
        "lambda:TagResource",
        "iam:PassRole",
    ],
    "resource.aws_cloudwatch_log_group": [
        "logs:CreateLogGroup",
        "logs:DescribeLogGroups",
        "logs:PutRetentionPolicy",
        "logs:DeleteLogGroup",
        "logs:TagResource",
        "logs:ListTagsForResource",
    ],
    "resource.aws_cloudwatch_log_stream": [
        "logs:CreateLogStream",
        "logs:DescribeLogStreams",
        "logs:DeleteLogStream",
    ],
    "resource.aws_s3_bucket": [
        "s3:CreateBucket",
        "s3:ListBucket",
        "s3:GetBucketTagging",
        "s3:PutBucketTagging",
        "s3:GetBucketPolicy",
        "s3:GetBucketAcl",
        "s3:GetBucketCORS",
        "s3:GetBucketWebsite",
        "s3:GetBucketLogging",
        "s3:GetBucketRequestPayment",
        "s3:GetBucketObjectLockConfiguration",
        "s3:GetAccelerateConfiguration",
        "s3:GetReplicationConfiguration",
        "s3:GetLifecycleConfiguration",
        "s3:GetEncryptionConfiguration",
        "s3:DeleteBucket",
        "s3:ListBucketVersions",
        "s3:DeleteObjectVersion",
    ],
    "resource.aws_s3_bucket_public_access_block": [
        "s3:PutBucketPublicAccessBlock",
        "s3:GetBucketPublicAccessBlock",
    ],
    "resource.aws_s3_bucket_ownership_controls": [
        "s3:PutBucketOwnershipControls",
        "s3:GetBucketOwnershipControls",
    ],
    "resource.aws_s3_bucket_versioning": ["s3:PutBucketVersioning", "s3:GetBucketVersioning"],
    "resource.aws_s3_bucket_server_side_encryption_configuration": [
        "s3:PutEncryptionConfiguration",
        "s3:GetEncryptionConfiguration",
    ],
    "resource.aws_s3_bucket_lifecycle_configuration": [
        "s3:PutLifecycleConfiguration",
        "s3:GetLifecycleConfiguration",
    ],
    "resource.aws_s3_bucket_policy": [
        "s3:PutBucketPolicy",
        "s3:GetBucketPolicy",
        "s3:DeleteBucketPolicy",
    ],
    "resource.aws_cloudwatch_metric_alarm": [
        "cloudwatch:PutMetricAlarm",
        "cloudwatch:DescribeAlarms",
        "cloudwatch:DeleteAlarms",
        "cloudwatch:TagResource",
        "cloudwatch:ListTagsForResource",
    ],
    "resource.aws_cloudwatch_dashboard": [
        "cloudwatch:PutDashboard",
        "cloudwatch:GetDashboard",
        "cloudwatch:DeleteDashboards",
    ],
    "resource.aws_sns_topic": [
        "sns:CreateTopic",
        "sns:GetTopicAttributes",
        "sns:SetTopicAttributes",
        "sns:DeleteTopic",
        "sns:TagResource",
        "sns:ListTagsForResource",
    ],
    "resource.aws_glue_catalog_database": [
        "glue:CreateDatabase",
        "glue:GetDatabase",
        "glue:UpdateDatabase",
        "glue:DeleteDatabase",
    ],
    "resource.aws_glue_catalog_table": [
        "glue:CreateTable",
        "glue:GetTable",
        "glue:UpdateTable",
        "glue:DeleteTable",
    ],
    "resource.aws_athena_workgroup": [
        "athena:CreateWorkGroup",
        "athena:GetWorkGroup",
        "athena:UpdateWorkGroup",
        "athena:DeleteWorkGroup",
        "athena:TagResource",
        "athena:ListTagsForResource",
    ],
    "resource.aws_athena_named_query": [
        "athena:CreateNamedQuery",
        "athena:GetNamedQuery",
        "athena:DeleteNamedQuery",
    ],
}


def used_types() -> set[str]:
    """Every `resource`/`data` type declared in terraform/ (root and modules, tests excluded)."""
    found = set()
    for path in TERRAFORM.rglob("*.tf"):
        if ".terraform" in path.parts:
            continue
        for kind, name in _BLOCK.findall(path.read_text(encoding="utf-8")):
            found.add(f"{kind}.{name}")
    return found


def allowed_patterns(policy: dict[str, Any]) -> list[str]:
    patterns: list[str] = []
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow", statement.get("Sid")
        actions = statement["Action"]
        patterns += [actions] if isinstance(actions, str) else actions
    return patterns


def is_allowed(action: str, patterns: list[str]) -> bool:
    # IAM action names are case-insensitive; * matches any run of characters.
    return any(fnmatchcase(action.lower(), pattern.lower()) for pattern in patterns)


@pytest.fixture(scope="module")
def policy() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(POLICY.read_text(encoding="utf-8"))
    return loaded


def test_every_used_type_is_mapped() -> None:
    # GIVEN the resource and data source types in terraform/
    used = used_types()
    # THEN each one has its deployer actions decided
    assert used, "no resource found: wrong directory?"
    unmapped = sorted(used - set(REQUIRED_ACTIONS))
    assert not unmapped, f"map these types to the actions they need: {unmapped}"


def test_policy_allows_every_needed_action(policy: dict[str, Any]) -> None:
    # GIVEN the policy's allowed actions
    patterns = allowed_patterns(policy)
    # WHEN each used type's actions are checked against them
    missing = {
        kind: [action for action in REQUIRED_ACTIONS[kind] if not is_allowed(action, patterns)]
        for kind in sorted(used_types() & set(REQUIRED_ACTIONS))
    }
    # THEN none is missing
    missing = {kind: actions for kind, actions in missing.items() if actions}
    assert not missing, f"terraform/deployer-policy.json lacks: {missing}"


def test_policy_scopes_resources_by_name(policy: dict[str, Any]) -> None:
    # GIVEN the statements / THEN only list, describe and through-a-service key actions use "*"
    for statement in policy["Statement"]:
        resources = statement["Resource"]
        resources = [resources] if isinstance(resources, str) else resources
        if "*" in resources:
            assert statement["Sid"] in {"ListAndDescribeAnywhere", "KeysThroughTheirServices"}
            assert statement["Sid"] == "ListAndDescribeAnywhere" or "Condition" in statement
        else:
            assert all(
                "change-archive" in arn
                or "change_archive" in arn
                or arn.endswith(":catalog")
                or "kinesisreplication.dynamodb" in arn
                for arn in resources
            ), statement["Sid"]


def test_policy_fits_a_managed_policy(policy: dict[str, Any]) -> None:
    # GIVEN the document without whitespace / THEN IAM accepts it as one managed policy
    assert len(json.dumps(policy, separators=(",", ":"))) <= MANAGED_POLICY_MAX_CHARS


def test_is_allowed_matches_wildcards_only_where_written() -> None:
    # GIVEN patterns with and without wildcards / THEN matching is exact unless * says otherwise
    assert is_allowed("s3:GetBucketTagging", ["s3:GetBucket*"])
    assert is_allowed("S3:getbuckettagging", ["s3:GetBucket*"])
    assert not is_allowed("s3:GetObject", ["s3:GetBucket*"])
    assert not is_allowed("iam:PassRole", ["iam:PassRoles"])


def _default_bucket_names() -> dict[str, str]:
    """Each bucket name terraform/locals.tf makes, with the default name_prefix and a sample
    account and region (the policy is written for the default prefix)."""
    text = (TERRAFORM / "locals.tf").read_text(encoding="utf-8")
    names = dict(re.findall(r'^\s+(\w+)\s+=\s+"([^"]*)"', text, re.MULTILINE))
    rendered = {
        key: value.replace("${var.name_prefix}", "change-archive")
        .replace("${local.account_id}", "123456789012")
        .replace("${local.region}", "eu-west-1")
        for key, value in names.items()
    }
    return {key: value for key, value in rendered.items() if key.endswith(("_bucket", "_results"))}


def test_policy_covers_every_bucket_the_module_names(policy: dict[str, Any]) -> None:
    # GIVEN every bucket name locals.tf makes (archive, query results) for the default prefix
    buckets = _default_bucket_names()
    assert {"archive_bucket", "query_results"} <= set(buckets)
    # WHEN the policy's statements are matched against the bucket's ARN
    for name in buckets.values():
        arn = f"arn:aws:s3:::{name}"
        creates = [
            statement
            for statement in policy["Statement"]
            if is_allowed("s3:CreateBucket", _as_list(statement["Action"]))
            and any(fnmatchcase(arn, pattern) for pattern in _as_list(statement["Resource"]))
        ]
        empties = [
            statement
            for statement in policy["Statement"]
            if is_allowed("s3:DeleteObject", _as_list(statement["Action"]))
            and any(
                fnmatchcase(f"{arn}/key", pattern) for pattern in _as_list(statement["Resource"])
            )
        ]
        # THEN the deployer may create it and empty it (force_destroy)
        assert creates, f"no statement lets the deployer create bucket {name}"
        assert empties, f"no statement lets the deployer empty bucket {name}"


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value
