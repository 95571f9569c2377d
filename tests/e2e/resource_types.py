"""How each Terraform resource type of the stack is created and deleted with boto3.

One function per type: it reads the instance's arguments (as Terraform evaluated them) through
`Args`, and returns the boto3 calls that create it, the real values of its computed attributes,
and how to delete it. Every non-null argument must be read or be in the function's `ignored`
(with the reason); anything else fails the run (`Args.unread`), so a setting Terraform passes can
never be dropped silently. Adding a type = one function here + one line in TYPES (or SKIPPED).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from waits import DELIVERY_STREAM_ACTIVE_TIMEOUT, RESOURCE_READY_TIMEOUT

# Types LocalStack community (with scripts/localstack.sh's SERVICES) cannot run: not created. An
# instance whose arguments use a skipped instance's computed value fails the run instead.
SKIPPED = {
    "aws_glue_catalog_database": "LocalStack community has no Glue",
    "aws_glue_catalog_table": "LocalStack community has no Glue",
    "aws_athena_workgroup": "LocalStack community has no Athena",
    "aws_athena_named_query": "LocalStack community has no Athena",
    "aws_sns_topic": "SNS is not among the services LocalStack runs (scripts/localstack.sh)",
    "aws_kms_key": "KMS is not among the services LocalStack runs (scripts/localstack.sh)",
}

# Arguments no type turns into an AWS call.
COMMON_IGNORED = {"timeouts": "Terraform's own wait limits; the provisioner has its own"}


class ArgumentError(Exception):
    """An instance's arguments do not fit its type's function (unread, or of the wrong shape)."""


class Args:
    """An instance's arguments; remembers which were read, to find those nobody read."""

    def __init__(self, values: Mapping[str, Any], path: str = "") -> None:
        self._values = values
        self._path = path
        self._read: set[str] = set()
        self._children: list[Args] = []

    def __getitem__(self, name: str) -> Any:
        self._read.add(name)
        return self._values.get(name)

    def blocks(self, name: str) -> list[Args]:
        """A nested block list (Terraform renders every block as a list)."""
        self._read.add(name)
        values = self._values.get(name) or []
        children = [
            Args(value, f"{self._path}{name}[{index}].") for index, value in enumerate(values)
        ]
        self._children.extend(children)
        return children

    def block(self, name: str) -> Args | None:
        """A nested block that appears at most once."""
        found = self.blocks(name)
        if len(found) > 1:
            raise ArgumentError(f"{self._path}{name} has {len(found)} blocks, expected at most 1")
        return found[0] if found else None

    def unread(self, ignored: Mapping[str, str]) -> list[str]:
        """Paths of non-null arguments neither read nor ignored (matched without list indexes)."""
        found = []
        for name, value in self._values.items():
            if value is None or value in ([], {}) or name in self._read:
                continue
            if _unindexed(f"{self._path}{name}") not in ignored:
                found.append(f"{self._path}{name}")
        for child in self._children:
            found.extend(child.unread(ignored))
        return found


def _unindexed(path: str) -> str:
    parts = [part.split("[", 1)[0] for part in path.split(".")]
    return ".".join(parts)


@dataclass(frozen=True)
class Call:
    """One boto3 call: client(service).<operation>(**params)."""

    service: str
    operation: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class Wait:
    """Poll until ready(aws) is true (e.g. a table ACTIVE), at most `timeout` seconds."""

    what: str
    ready: Callable[[Any], bool]
    timeout: float = RESOURCE_READY_TIMEOUT


@dataclass(frozen=True)
class Steps:
    """What one instance needs: calls/waits in order, its computed attributes, its deletion."""

    create: list[Call | Wait] = field(default_factory=list)
    # (aws, responses of the create calls) -> real values of the computed attributes
    attributes: Callable[[Any, list[Any]], Mapping[str, Any]] = lambda aws, responses: {}
    delete: Callable[[Any], None] = lambda aws: None


@dataclass(frozen=True)
class Context:
    region: str
    account_id: str
    deleting: bool = False  # steps() called only for their delete (files may be gone)


@dataclass(frozen=True)
class ResourceType:
    steps: Callable[[Args, Context], Steps]
    ignored: Mapping[str, str] = field(default_factory=dict)


def _tags(value: Mapping[str, str] | None) -> dict[str, str]:
    return dict(value or {})


def _tag_list(tags: Mapping[str, str] | None) -> list[dict[str, str]]:
    """Tags as the AWS APIs that take a list of them want them: ``[{"Key": k, "Value": v}]``."""
    return [{"Key": k, "Value": v} for k, v in (tags or {}).items()]


def _compact(params: Mapping[str, Any]) -> dict[str, Any]:
    """Drop None: an unset optional argument is left to AWS's default, as the provider does."""
    return {key: value for key, value in params.items() if value is not None}


def poll(what: str, ready: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(1.0)


# ---------------------------------------------------------------------------------------------
# Data sources
# ---------------------------------------------------------------------------------------------


def caller_identity(a: Args, ctx: Context) -> Steps:
    def attributes(aws: Any, responses: list[Any]) -> Mapping[str, Any]:
        identity = aws.client("sts").get_caller_identity()
        return {
            "account_id": identity["Account"],
            "arn": identity["Arn"],
            "user_id": identity["UserId"],
            "id": identity["Account"],
        }

    return Steps(attributes=attributes)


def region(a: Args, ctx: Context) -> Steps:
    wanted = a["region"]
    if wanted is not None and wanted != ctx.region:
        raise ArgumentError(f"region {wanted} is not the endpoint's region {ctx.region}")
    real = {"region": ctx.region, "name": ctx.region, "id": ctx.region}
    return Steps(attributes=lambda aws, responses: real)


def partition(a: Args, ctx: Context) -> Steps:
    """LocalStack answers as the commercial partition (its ARNs are arn:aws:...)."""
    real = {
        "partition": "aws",
        "id": "aws",
        "dns_suffix": "amazonaws.com",
        "reverse_dns_prefix": "com.amazonaws",
    }
    return Steps(attributes=lambda aws, responses: real)


def _one_or_list(values: list[str]) -> str | list[str]:
    """The provider writes a one-element list as a plain string."""
    return values[0] if len(values) == 1 else values


def _principals(blocks: list[Args]) -> Any:
    principals: dict[str, list[str]] = {}
    for block in blocks:
        principals.setdefault(block["type"], []).extend(block["identifiers"])
    if principals == {"*": ["*"]}:
        return "*"
    return {kind: _one_or_list(sorted(ids)) for kind, ids in principals.items()}


def render_policy_document(a: Args) -> str:
    """aws_iam_policy_document's `json`: what the provider renders from the same arguments."""
    statements = []
    for statement in a.blocks("statement"):
        rendered: dict[str, Any] = {}
        if statement["sid"]:
            rendered["Sid"] = statement["sid"]
        rendered["Effect"] = statement["effect"] or "Allow"
        for name, key in (
            ("actions", "Action"),
            ("not_actions", "NotAction"),
            ("resources", "Resource"),
            ("not_resources", "NotResource"),
        ):
            if statement[name]:
                rendered[key] = _one_or_list(sorted(statement[name]))
        for name, key in (("principals", "Principal"), ("not_principals", "NotPrincipal")):
            blocks = statement.blocks(name)
            if blocks:
                rendered[key] = _principals(blocks)
        conditions: dict[str, dict[str, Any]] = {}
        for condition in statement.blocks("condition"):
            conditions.setdefault(condition["test"], {})[condition["variable"]] = _one_or_list(
                condition["values"]
            )
        if conditions:
            rendered["Condition"] = conditions
        statements.append(rendered)
    document: dict[str, Any] = {"Version": a["version"] or "2012-10-17"}
    if a["policy_id"]:
        document["Id"] = a["policy_id"]
    document["Statement"] = statements
    return json.dumps(document, indent=2)


def policy_document(a: Args, ctx: Context) -> Steps:
    rendered = render_policy_document(a)
    minified = json.dumps(json.loads(rendered), separators=(",", ":"))
    digest = str(int(hashlib.sha256(rendered.encode()).hexdigest()[:8], 16))
    return Steps(
        attributes=lambda aws, responses: {
            "json": rendered,
            "minified_json": minified,
            "id": digest,
        }
    )


# ---------------------------------------------------------------------------------------------
# Archive bucket
# ---------------------------------------------------------------------------------------------


def s3_bucket(a: Args, ctx: Context) -> Steps:
    bucket, force_destroy, tags = a["bucket"], a["force_destroy"], _tags(a["tags"])
    params: dict[str, Any] = {"Bucket": bucket}
    if ctx.region != "us-east-1":  # us-east-1 takes no LocationConstraint
        params["CreateBucketConfiguration"] = {"LocationConstraint": ctx.region}
    create: list[Call | Wait] = [Call("s3", "create_bucket", params)]
    if tags:
        create.append(
            Call(
                "s3",
                "put_bucket_tagging",
                {
                    "Bucket": bucket,
                    "Tagging": {"TagSet": _tag_list(tags)},
                },
            )
        )

    def delete(aws: Any) -> None:
        s3 = aws.client("s3")
        if force_destroy:  # as the provider: every version and delete marker first
            for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
                doomed = [
                    {"Key": v["Key"], "VersionId": v["VersionId"]}
                    for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
                ]
                if doomed:
                    s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})
        s3.delete_bucket(Bucket=bucket)

    return Steps(
        create=create,
        attributes=lambda aws, responses: {
            "id": bucket,
            "bucket": bucket,
            "arn": f"arn:aws:s3:::{bucket}",
        },
        delete=delete,
    )


def s3_public_access_block(a: Args, ctx: Context) -> Steps:
    bucket = a["bucket"]
    configuration = {
        "BlockPublicAcls": bool(a["block_public_acls"]),
        "BlockPublicPolicy": bool(a["block_public_policy"]),
        "IgnorePublicAcls": bool(a["ignore_public_acls"]),
        "RestrictPublicBuckets": bool(a["restrict_public_buckets"]),
    }
    return Steps(
        create=[
            Call(
                "s3",
                "put_public_access_block",
                {"Bucket": bucket, "PublicAccessBlockConfiguration": configuration},
            )
        ],
        attributes=lambda aws, responses: {"id": bucket},
        delete=lambda aws: aws.client("s3").delete_public_access_block(Bucket=bucket),
    )


def s3_ownership_controls(a: Args, ctx: Context) -> Steps:
    bucket = a["bucket"]
    rules = [{"ObjectOwnership": rule["object_ownership"]} for rule in a.blocks("rule")]
    return Steps(
        create=[
            Call(
                "s3",
                "put_bucket_ownership_controls",
                {"Bucket": bucket, "OwnershipControls": {"Rules": rules}},
            )
        ],
        attributes=lambda aws, responses: {"id": bucket},
        delete=lambda aws: aws.client("s3").delete_bucket_ownership_controls(Bucket=bucket),
    )


def s3_versioning(a: Args, ctx: Context) -> Steps:
    bucket = a["bucket"]
    configuration = a.block("versioning_configuration")
    assert configuration is not None  # required by the schema
    params = _compact(
        {
            "Bucket": bucket,
            "ExpectedBucketOwner": a["expected_bucket_owner"],
            "MFA": a["mfa"],
            "VersioningConfiguration": _compact(
                {"Status": configuration["status"], "MFADelete": configuration["mfa_delete"]}
            ),
        }
    )
    # Deleting it (the provider suspends versioning) changes nothing before the bucket goes.
    return Steps(
        create=[Call("s3", "put_bucket_versioning", params)],
        attributes=lambda aws, responses: {"id": bucket},
    )


def s3_encryption(a: Args, ctx: Context) -> Steps:
    bucket = a["bucket"]
    rules = []
    for rule in a.blocks("rule"):
        default = rule.block("apply_server_side_encryption_by_default")
        rules.append(
            _compact(
                {
                    "ApplyServerSideEncryptionByDefault": None
                    if default is None
                    else _compact(
                        {
                            "SSEAlgorithm": default["sse_algorithm"],
                            "KMSMasterKeyID": default["kms_master_key_id"],
                        }
                    ),
                    "BucketKeyEnabled": rule["bucket_key_enabled"],
                }
            )
        )
    params = _compact(
        {
            "Bucket": bucket,
            "ExpectedBucketOwner": a["expected_bucket_owner"],
            "ServerSideEncryptionConfiguration": {"Rules": rules},
        }
    )
    return Steps(
        create=[Call("s3", "put_bucket_encryption", params)],
        attributes=lambda aws, responses: {"id": bucket},
        delete=lambda aws: aws.client("s3").delete_bucket_encryption(Bucket=bucket),
    )


def _lifecycle_filter(block: Args | None) -> dict[str, Any]:
    if block is None:
        return {}
    tags = [{"Key": t["key"], "Value": t["value"]} for t in block.blocks("tag")]
    conditions = _compact(
        {
            "Prefix": block["prefix"],
            "ObjectSizeGreaterThan": block["object_size_greater_than"],
            "ObjectSizeLessThan": block["object_size_less_than"],
        }
    )
    for both in block.blocks("and"):
        conditions.update(
            _compact(
                {
                    "Prefix": both["prefix"],
                    "ObjectSizeGreaterThan": both["object_size_greater_than"],
                    "ObjectSizeLessThan": both["object_size_less_than"],
                }
            )
        )
        tags.extend(_tag_list(both["tags"]))
        return {"And": {**conditions, **({"Tags": tags} if tags else {})}}
    if tags:
        conditions["Tag"] = tags[0]
    return conditions


def s3_lifecycle(a: Args, ctx: Context) -> Steps:
    bucket = a["bucket"]
    rules = []
    for rule in a.blocks("rule"):
        rendered: dict[str, Any] = {
            "ID": rule["id"],
            "Status": rule["status"],
            "Filter": _lifecycle_filter(rule.block("filter")),
        }
        if rule["prefix"]:
            rendered["Prefix"] = rule["prefix"]
        transitions = [
            _compact({"Days": t["days"], "Date": t["date"], "StorageClass": t["storage_class"]})
            for t in rule.blocks("transition")
        ]
        if transitions:
            rendered["Transitions"] = transitions
        for expiration in rule.blocks("expiration"):
            rendered["Expiration"] = _compact(
                {
                    "Days": expiration["days"],
                    "Date": expiration["date"],
                    "ExpiredObjectDeleteMarker": expiration["expired_object_delete_marker"],
                }
            )
        for noncurrent in rule.blocks("noncurrent_version_expiration"):
            rendered["NoncurrentVersionExpiration"] = _compact(
                {
                    "NoncurrentDays": noncurrent["noncurrent_days"],
                    "NewerNoncurrentVersions": noncurrent["newer_noncurrent_versions"],
                }
            )
        noncurrent_transitions = [
            _compact(
                {
                    "NoncurrentDays": t["noncurrent_days"],
                    "NewerNoncurrentVersions": t["newer_noncurrent_versions"],
                    "StorageClass": t["storage_class"],
                }
            )
            for t in rule.blocks("noncurrent_version_transition")
        ]
        if noncurrent_transitions:
            rendered["NoncurrentVersionTransitions"] = noncurrent_transitions
        for abort in rule.blocks("abort_incomplete_multipart_upload"):
            rendered["AbortIncompleteMultipartUpload"] = {
                "DaysAfterInitiation": abort["days_after_initiation"]
            }
        rules.append(rendered)
    params = _compact(
        {
            "Bucket": bucket,
            "ExpectedBucketOwner": a["expected_bucket_owner"],
            "TransitionDefaultMinimumObjectSize": a["transition_default_minimum_object_size"],
            "LifecycleConfiguration": {"Rules": rules},
        }
    )
    return Steps(
        create=[Call("s3", "put_bucket_lifecycle_configuration", params)],
        attributes=lambda aws, responses: {"id": bucket},
        delete=lambda aws: aws.client("s3").delete_bucket_lifecycle(Bucket=bucket),
    )


def s3_bucket_policy(a: Args, ctx: Context) -> Steps:
    bucket, policy = a["bucket"], a["policy"]
    return Steps(
        create=[Call("s3", "put_bucket_policy", {"Bucket": bucket, "Policy": policy})],
        attributes=lambda aws, responses: {"id": bucket},
        delete=lambda aws: aws.client("s3").delete_bucket_policy(Bucket=bucket),
    )


# ---------------------------------------------------------------------------------------------
# Table and change stream
# ---------------------------------------------------------------------------------------------


def kinesis_stream(a: Args, ctx: Context) -> Steps:
    name = a["name"]
    mode = a.block("stream_mode_details")
    stream_mode = mode["stream_mode"] if mode is not None else "PROVISIONED"
    retention, tags = a["retention_period"], _tags(a["tags"])
    create: list[Call | Wait] = [
        Call(
            "kinesis",
            "create_stream",
            _compact(
                {
                    "StreamName": name,
                    "ShardCount": a["shard_count"],
                    "StreamModeDetails": {"StreamMode": stream_mode},
                    "Tags": tags or None,
                }
            ),
        ),
        Wait(
            f"stream {name} to be ACTIVE",
            lambda aws: (
                aws.client("kinesis").describe_stream_summary(StreamName=name)[
                    "StreamDescriptionSummary"
                ]["StreamStatus"]
                == "ACTIVE"
            ),
        ),
    ]
    if retention is not None and retention > 24:  # 24 h is Kinesis's default and minimum
        create.append(
            Call(
                "kinesis",
                "increase_stream_retention_period",
                {"StreamName": name, "RetentionPeriodHours": retention},
            )
        )
    encryption, key = a["encryption_type"], a["kms_key_id"]
    if encryption == "KMS":
        create.append(
            Call(
                "kinesis",
                "start_stream_encryption",
                {"StreamName": name, "EncryptionType": "KMS", "KeyId": key},
            )
        )
    if a["shard_level_metrics"]:
        create.append(
            Call(
                "kinesis",
                "enable_enhanced_monitoring",
                {"StreamName": name, "ShardLevelMetrics": sorted(a["shard_level_metrics"])},
            )
        )
    enforce = bool(a["enforce_consumer_deletion"])

    def attributes(aws: Any, responses: list[Any]) -> Mapping[str, Any]:
        arn = aws.client("kinesis").describe_stream_summary(StreamName=name)[
            "StreamDescriptionSummary"
        ]["StreamARN"]
        return {"arn": arn, "id": arn, "name": name}

    return Steps(
        create=create,
        attributes=attributes,
        delete=lambda aws: aws.client("kinesis").delete_stream(
            StreamName=name, EnforceConsumerDeletion=enforce
        ),
    )


def dynamodb_table(a: Args, ctx: Context) -> Steps:
    name, billing = a["name"], a["billing_mode"]
    keys = [(a["hash_key"], "HASH")] + ([(a["range_key"], "RANGE")] if a["range_key"] else [])
    params: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": [
            {"AttributeName": attribute["name"], "AttributeType": attribute["type"]}
            for attribute in a.blocks("attribute")
        ],
        "KeySchema": [{"AttributeName": key, "KeyType": kind} for key, kind in keys],
        "BillingMode": billing,
        "DeletionProtectionEnabled": bool(a["deletion_protection_enabled"]),
    }
    if billing == "PROVISIONED":
        params["ProvisionedThroughput"] = {
            "ReadCapacityUnits": a["read_capacity"],
            "WriteCapacityUnits": a["write_capacity"],
        }
    if a["table_class"]:
        params["TableClass"] = a["table_class"]
    if a["stream_enabled"]:
        params["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": a["stream_view_type"],
        }
    encryption = a.block("server_side_encryption")
    if encryption is not None and encryption["enabled"]:
        params["SSESpecification"] = _compact(
            {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": encryption["kms_key_arn"]}
        )
    tags = _tags(a["tags"])
    if tags:
        params["Tags"] = _tag_list(tags)
    create: list[Call | Wait] = [
        Call("dynamodb", "create_table", params),
        Wait(
            f"table {name} to be ACTIVE",
            lambda aws: (
                aws.client("dynamodb").describe_table(TableName=name)["Table"]["TableStatus"]
                == "ACTIVE"
            ),
        ),
    ]
    recovery = a.block("point_in_time_recovery")
    if recovery is not None and recovery["enabled"]:
        create.append(
            Call(
                "dynamodb",
                "update_continuous_backups",
                {
                    "TableName": name,
                    "PointInTimeRecoverySpecification": _compact(
                        {
                            "PointInTimeRecoveryEnabled": True,
                            "RecoveryPeriodInDays": recovery["recovery_period_in_days"],
                        }
                    ),
                },
            )
        )
    for ttl in a.blocks("ttl"):
        if ttl["enabled"]:
            create.append(
                Call(
                    "dynamodb",
                    "update_time_to_live",
                    {
                        "TableName": name,
                        "TimeToLiveSpecification": {
                            "Enabled": True,
                            "AttributeName": ttl["attribute_name"],
                        },
                    },
                )
            )

    def attributes(aws: Any, responses: list[Any]) -> Mapping[str, Any]:
        arn = responses[0]["TableDescription"]["TableArn"]
        return {"arn": arn, "id": name, "name": name}

    return Steps(
        create=create,
        attributes=attributes,
        delete=lambda aws: aws.client("dynamodb").delete_table(TableName=name),
    )


def dynamodb_streaming_destination(a: Args, ctx: Context) -> Steps:
    table, stream = a["table_name"], a["stream_arn"]
    precision = a["approximate_creation_date_time_precision"]
    params: dict[str, Any] = {"TableName": table, "StreamArn": stream}
    if precision is not None:
        params["EnableKinesisStreamingConfiguration"] = {
            "ApproximateCreationDateTimePrecision": precision
        }
    return Steps(
        create=[
            Call("dynamodb", "enable_kinesis_streaming_destination", params),
            Wait(
                f"the streaming destination of {table} to be ACTIVE",
                lambda aws: any(
                    d.get("DestinationStatus") == "ACTIVE"
                    for d in aws.client("dynamodb").describe_kinesis_streaming_destination(
                        TableName=table
                    )["KinesisDataStreamDestinations"]
                ),
            ),
        ],
        attributes=lambda aws, responses: {"id": f"{table},{stream}"},
        delete=lambda aws: aws.client("dynamodb").disable_kinesis_streaming_destination(
            TableName=table, StreamArn=stream
        ),
    )


# ---------------------------------------------------------------------------------------------
# Logs, IAM, transform function
# ---------------------------------------------------------------------------------------------


def log_group(a: Args, ctx: Context) -> Steps:
    name, retention, skip_destroy = a["name"], a["retention_in_days"], a["skip_destroy"]
    create: list[Call | Wait] = [
        Call(
            "logs",
            "create_log_group",
            _compact(
                {
                    "logGroupName": name,
                    "kmsKeyId": a["kms_key_id"],
                    "logGroupClass": a["log_group_class"],
                    "tags": _tags(a["tags"]) or None,
                }
            ),
        )
    ]
    if retention:
        create.append(
            Call(
                "logs",
                "put_retention_policy",
                {"logGroupName": name, "retentionInDays": retention},
            )
        )

    def delete(aws: Any) -> None:
        if not skip_destroy:
            aws.client("logs").delete_log_group(logGroupName=name)

    return Steps(
        create=create,
        attributes=lambda aws, responses: {
            # The provider's arn has no trailing ":*" (DescribeLogGroups' has).
            "arn": f"arn:aws:logs:{ctx.region}:{ctx.account_id}:log-group:{name}",
            "id": name,
            "name": name,
        },
        delete=delete,
    )


def log_stream(a: Args, ctx: Context) -> Steps:
    name, group = a["name"], a["log_group_name"]
    group_arn = f"arn:aws:logs:{ctx.region}:{ctx.account_id}:log-group:{group}"
    return Steps(
        create=[Call("logs", "create_log_stream", {"logGroupName": group, "logStreamName": name})],
        attributes=lambda aws, responses: {
            "arn": f"{group_arn}:log-stream:{name}",
            "id": name,
            "name": name,
        },
        delete=lambda aws: aws.client("logs").delete_log_stream(
            logGroupName=group, logStreamName=name
        ),
    )


def iam_role(a: Args, ctx: Context) -> Steps:
    name = a["name"]
    tags = _tags(a["tags"])
    params = _compact(
        {
            "RoleName": name,
            "AssumeRolePolicyDocument": a["assume_role_policy"],
            "Description": a["description"],
            "Path": a["path"],
            "MaxSessionDuration": a["max_session_duration"],
            "PermissionsBoundary": a["permissions_boundary"],
            "Tags": _tag_list(tags) or None,
        }
    )
    force_detach = bool(a["force_detach_policies"])

    def delete(aws: Any) -> None:
        iam = aws.client("iam")
        if force_detach:
            for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
                iam.delete_role_policy(RoleName=name, PolicyName=policy)
        iam.delete_role(RoleName=name)

    def attributes(aws: Any, responses: list[Any]) -> Mapping[str, Any]:
        role = responses[0]["Role"]
        return {"arn": role["Arn"], "id": name, "name": name, "unique_id": role["RoleId"]}

    return Steps(create=[Call("iam", "create_role", params)], attributes=attributes, delete=delete)


def iam_role_policy(a: Args, ctx: Context) -> Steps:
    role, name, policy = a["role"], a["name"], a["policy"]
    return Steps(
        create=[
            Call(
                "iam",
                "put_role_policy",
                {"RoleName": role, "PolicyName": name, "PolicyDocument": policy},
            )
        ],
        attributes=lambda aws, responses: {"id": f"{role}:{name}", "name": name},
        delete=lambda aws: aws.client("iam").delete_role_policy(RoleName=role, PolicyName=name),
    )


def lambda_function(a: Args, ctx: Context) -> Steps:
    name, filename, planned_hash = a["function_name"], a["filename"], a["source_code_hash"]
    code = b"" if ctx.deleting else Path(filename).read_bytes()
    digest = base64.b64encode(hashlib.sha256(code).digest()).decode()
    if not ctx.deleting and planned_hash not in (None, digest):
        raise ArgumentError(
            f"{filename} changed since Terraform planned it (source_code_hash differs)"
        )
    environment = a.block("environment")
    tags = _tags(a["tags"])
    params = _compact(
        {
            "FunctionName": name,
            "Role": a["role"],
            "Code": {"ZipFile": code},
            "Handler": a["handler"],
            "Runtime": a["runtime"],
            "Architectures": a["architectures"],
            "MemorySize": a["memory_size"],
            "Timeout": a["timeout"],
            "Description": a["description"],
            "Publish": a["publish"],
            "Environment": None
            if environment is None
            else {"Variables": dict(environment["variables"] or {})},
            "Tags": tags or None,
        }
    )

    def attributes(aws: Any, responses: list[Any]) -> Mapping[str, Any]:
        arn = responses[0]["FunctionArn"]
        return {
            "arn": arn,
            "id": name,
            "function_name": name,
            "qualified_arn": f"{arn}:$LATEST",
            "invoke_arn": f"arn:aws:apigateway:{ctx.region}:lambda:path/2015-03-31/functions/"
            f"{arn}/invocations",
        }

    return Steps(
        create=[
            Call("lambda", "create_function", params),
            Wait(
                f"function {name} to be Active",
                lambda aws: (
                    aws.client("lambda").get_function_configuration(FunctionName=name)["State"]
                    == "Active"
                ),
            ),
        ],
        attributes=attributes,
        delete=lambda aws: aws.client("lambda").delete_function(FunctionName=name),
    )


# ---------------------------------------------------------------------------------------------
# Delivery stream
# ---------------------------------------------------------------------------------------------


def _processing(block: Args | None) -> dict[str, Any] | None:
    if block is None:
        return None
    return {
        "Enabled": bool(block["enabled"]),
        "Processors": [
            {
                "Type": processor["type"],
                "Parameters": [
                    {
                        "ParameterName": parameter["parameter_name"],
                        "ParameterValue": parameter["parameter_value"],
                    }
                    for parameter in processor.blocks("parameters")
                ],
            }
            for processor in block.blocks("processors")
        ],
    }


def delivery_stream(a: Args, ctx: Context) -> Steps:
    name = a["name"]
    if a["destination"] != "extended_s3":
        raise ArgumentError(f"destination {a['destination']} (only extended_s3 is provisioned)")
    s3 = a.block("extended_s3_configuration")
    assert s3 is not None  # required with destination extended_s3
    logging = s3.block("cloudwatch_logging_options")
    partitioning = s3.block("dynamic_partitioning_configuration")
    destination = _compact(
        {
            "RoleARN": s3["role_arn"],
            "BucketARN": s3["bucket_arn"],
            "Prefix": s3["prefix"],
            "ErrorOutputPrefix": s3["error_output_prefix"],
            "CompressionFormat": s3["compression_format"],
            "FileExtension": s3["file_extension"],
            "CustomTimeZone": s3["custom_time_zone"],
            "BufferingHints": {
                "SizeInMBs": s3["buffering_size"],
                "IntervalInSeconds": s3["buffering_interval"],
            },
            "EncryptionConfiguration": {"KMSEncryptionConfig": {"AWSKMSKeyARN": s3["kms_key_arn"]}}
            if s3["kms_key_arn"]
            else None,
            "S3BackupMode": s3["s3_backup_mode"],
            "ProcessingConfiguration": _processing(s3.block("processing_configuration")),
            "DynamicPartitioningConfiguration": None
            if partitioning is None
            else _compact(
                {
                    "Enabled": bool(partitioning["enabled"]),
                    "RetryOptions": None
                    if partitioning["retry_duration"] is None
                    else {"DurationInSeconds": partitioning["retry_duration"]},
                }
            ),
            "CloudWatchLoggingOptions": None
            if logging is None
            else _compact(
                {
                    "Enabled": bool(logging["enabled"]),
                    "LogGroupName": logging["log_group_name"],
                    "LogStreamName": logging["log_stream_name"],
                }
            ),
        }
    )
    source = a.block("kinesis_source_configuration")
    params: dict[str, Any] = {
        "DeliveryStreamName": name,
        "ExtendedS3DestinationConfiguration": destination,
    }
    if source is not None:
        params["DeliveryStreamType"] = "KinesisStreamAsSource"
        params["KinesisStreamSourceConfiguration"] = {
            "KinesisStreamARN": source["kinesis_stream_arn"],
            "RoleARN": source["role_arn"],
        }
    else:
        params["DeliveryStreamType"] = "DirectPut"
    tags = _tags(a["tags"])
    if tags:
        params["Tags"] = _tag_list(tags)
    stream_name = source["kinesis_stream_arn"].rsplit("/", 1)[-1] if source is not None else None

    def delete(aws: Any) -> None:
        aws.client("firehose").delete_delivery_stream(
            DeliveryStreamName=name, AllowForceDelete=True
        )
        # LocalStack's Kinesis source runs a KCL consumer that keeps its leases in DynamoDB
        # tables named <stream>-firehose-<delivery stream>...: remove them with it.
        if stream_name is not None:
            dynamodb = aws.client("dynamodb")
            prefix = f"{stream_name}-firehose-{name}"
            for page in dynamodb.get_paginator("list_tables").paginate():
                for table in page["TableNames"]:
                    if table.startswith(prefix):
                        dynamodb.delete_table(TableName=table)

    def attributes(aws: Any, responses: list[Any]) -> Mapping[str, Any]:
        arn = responses[0]["DeliveryStreamARN"]
        return {"arn": arn, "id": arn, "name": name}

    return Steps(
        create=[
            Call("firehose", "create_delivery_stream", params),
            Wait(
                f"delivery stream {name} to be ACTIVE (LocalStack: 13-30 s)",
                lambda aws: (
                    aws.client("firehose").describe_delivery_stream(DeliveryStreamName=name)[
                        "DeliveryStreamDescription"
                    ]["DeliveryStreamStatus"]
                    == "ACTIVE"
                ),
                timeout=DELIVERY_STREAM_ACTIVE_TIMEOUT,
            ),
        ],
        attributes=attributes,
        delete=delete,
    )


# ---------------------------------------------------------------------------------------------
# Monitoring
# ---------------------------------------------------------------------------------------------


def _metric_query(query: Args) -> dict[str, Any]:
    rendered = _compact(
        {
            "Id": query["id"],
            "Expression": query["expression"],
            "Label": query["label"],
            "ReturnData": query["return_data"],
            "Period": query["period"],
            "AccountId": query["account_id"],
        }
    )
    for metric in query.blocks("metric"):
        rendered["MetricStat"] = _compact(
            {
                "Metric": _compact(
                    {
                        "Namespace": metric["namespace"],
                        "MetricName": metric["metric_name"],
                        "Dimensions": [
                            {"Name": k, "Value": v} for k, v in (metric["dimensions"] or {}).items()
                        ],
                    }
                ),
                "Period": metric["period"],
                "Stat": metric["stat"],
                "Unit": metric["unit"],
            }
        )
    return rendered


def metric_alarm(a: Args, ctx: Context) -> Steps:
    name = a["alarm_name"]
    tags = _tags(a["tags"])
    params = _compact(
        {
            "AlarmName": name,
            "AlarmDescription": a["alarm_description"],
            "ActionsEnabled": a["actions_enabled"],
            "AlarmActions": a["alarm_actions"],
            "OKActions": a["ok_actions"],
            "InsufficientDataActions": a["insufficient_data_actions"],
            "Namespace": a["namespace"],
            "MetricName": a["metric_name"],
            "Dimensions": [{"Name": k, "Value": v} for k, v in (a["dimensions"] or {}).items()]
            or None,
            "Statistic": a["statistic"],
            "ExtendedStatistic": a["extended_statistic"],
            "Unit": a["unit"],
            "Period": a["period"],
            "EvaluationPeriods": a["evaluation_periods"],
            "DatapointsToAlarm": a["datapoints_to_alarm"],
            "Threshold": a["threshold"],
            "ThresholdMetricId": a["threshold_metric_id"],
            "ComparisonOperator": a["comparison_operator"],
            "TreatMissingData": a["treat_missing_data"],
            "EvaluateLowSampleCountPercentile": a["evaluate_low_sample_count_percentiles"],
            "Metrics": [_metric_query(query) for query in a.blocks("metric_query")] or None,
            "Tags": _tag_list(tags) or None,
        }
    )

    def attributes(aws: Any, responses: list[Any]) -> Mapping[str, Any]:
        alarms = aws.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
        return {"arn": alarms[0]["AlarmArn"], "id": name, "alarm_name": name}

    return Steps(
        create=[Call("cloudwatch", "put_metric_alarm", params)],
        attributes=attributes,
        delete=lambda aws: aws.client("cloudwatch").delete_alarms(AlarmNames=[name]),
    )


def dashboard(a: Args, ctx: Context) -> Steps:
    name, body = a["dashboard_name"], a["dashboard_body"]
    return Steps(
        create=[
            Call("cloudwatch", "put_dashboard", {"DashboardName": name, "DashboardBody": body})
        ],
        attributes=lambda aws, responses: {
            "id": name,
            "dashboard_arn": f"arn:aws:cloudwatch::{ctx.account_id}:dashboard/{name}",
        },
        delete=lambda aws: aws.client("cloudwatch").delete_dashboards(DashboardNames=[name]),
    )


# ---------------------------------------------------------------------------------------------
# Terraform's own terraform_data, and hashicorp/time
# ---------------------------------------------------------------------------------------------


def terraform_data(a: Args, ctx: Context) -> Steps:
    """A value kept in Terraform's state only: nothing to create, its `output` is its `input`."""
    value = a["input"]
    return Steps(attributes=lambda aws, responses: {"output": value})


# ---------------------------------------------------------------------------------------------
# hashicorp/time
# ---------------------------------------------------------------------------------------------


def _seconds(duration: str | None) -> float:
    """A Go duration as time_sleep takes it ("30s", "1m30s", "2h") in seconds."""
    if not duration:
        return 0.0
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    if "".join(number + unit for number, unit in parts) != duration:
        raise ArgumentError(f"cannot read the duration {duration!r}")
    return sum(float(number) * units[unit] for number, unit in parts)


def time_sleep(a: Args, ctx: Context) -> Steps:
    pause = _seconds(a["create_duration"])
    return Steps(
        create=[Wait(f"{pause:g} s (create_duration)", _slept(pause), timeout=pause + 1)]
        if pause
        else [],
        attributes=lambda aws, responses: {"id": "slept"},
    )


def _slept(pause: float) -> Callable[[Any], bool]:
    until = []

    def ready(aws: Any) -> bool:
        if not until:
            until.append(time.monotonic() + pause)
        return time.monotonic() >= until[0]

    return ready


_MOCKED = "computed by the data source: the plan holds the mock's value, the real one is read"

# (mode, type) -> how to create it. Keep in the order the data flows, as terraform/main.tf.
TYPES: dict[tuple[str, str], ResourceType] = {
    ("data", "aws_caller_identity"): ResourceType(caller_identity, {"id": _MOCKED}),
    ("data", "aws_region"): ResourceType(
        region, {"id": _MOCKED, "name": _MOCKED, "endpoint": _MOCKED, "description": _MOCKED}
    ),
    ("data", "aws_partition"): ResourceType(
        partition, {"id": _MOCKED, "dns_suffix": _MOCKED, "reverse_dns_prefix": _MOCKED}
    ),
    ("data", "aws_iam_policy_document"): ResourceType(policy_document, {"id": _MOCKED}),
    ("managed", "aws_dynamodb_table"): ResourceType(dynamodb_table),
    ("managed", "aws_dynamodb_kinesis_streaming_destination"): ResourceType(
        dynamodb_streaming_destination
    ),
    ("managed", "aws_kinesis_stream"): ResourceType(kinesis_stream),
    ("managed", "aws_cloudwatch_log_group"): ResourceType(log_group),
    ("managed", "aws_cloudwatch_log_stream"): ResourceType(log_stream),
    ("managed", "aws_iam_role"): ResourceType(iam_role),
    ("managed", "aws_iam_role_policy"): ResourceType(iam_role_policy),
    ("managed", "aws_lambda_function"): ResourceType(lambda_function),
    ("managed", "aws_kinesis_firehose_delivery_stream"): ResourceType(delivery_stream),
    ("managed", "aws_s3_bucket"): ResourceType(s3_bucket),
    ("managed", "aws_s3_bucket_public_access_block"): ResourceType(s3_public_access_block),
    ("managed", "aws_s3_bucket_ownership_controls"): ResourceType(s3_ownership_controls),
    ("managed", "aws_s3_bucket_versioning"): ResourceType(s3_versioning),
    ("managed", "aws_s3_bucket_server_side_encryption_configuration"): ResourceType(s3_encryption),
    ("managed", "aws_s3_bucket_lifecycle_configuration"): ResourceType(s3_lifecycle),
    ("managed", "aws_s3_bucket_policy"): ResourceType(s3_bucket_policy),
    ("managed", "aws_cloudwatch_metric_alarm"): ResourceType(metric_alarm),
    ("managed", "aws_cloudwatch_dashboard"): ResourceType(dashboard),
    ("managed", "terraform_data"): ResourceType(
        terraform_data,
        {
            "triggers_replace": "decide when Terraform replaces it; a disposable stack is never"
            " replaced"
        },
    ),
    ("managed", "time_sleep"): ResourceType(
        time_sleep,
        {
            "destroy_duration": "lets a replaced delivery stream drain before it is deleted;"
            " down deletes the whole disposable stack, there is nothing to drain into",
            "triggers": "decide when Terraform replaces the sleep; a disposable stack is never"
            " replaced",
        },
    ),
}
