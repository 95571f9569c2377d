"""Provision the pipeline with boto3 on a bare LocalStack, as `tflocal apply` of terraform/ would.

Names come from terraform/locals.tf and settings from terraform/variables.tf defaults, overridden
by terraform/localstack.tfvars when present (both read by change_archive.stack.RootModule). Every
variable must be known here, either used or ignored with its reason: a new variable, or an
interpolation locals.tf gains, fails the run instead of drifting silently.
"""

from __future__ import annotations

import io
import json
import platform
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from change_archive.aws import client
from change_archive.stack import RootModule, Stack

REPO = Path(__file__).resolve().parents[2]
TERRAFORM_ROOT = REPO / "terraform"
LOCALSTACK_TFVARS = TERRAFORM_ROOT / "localstack.tfvars"
BUILDER = REPO / "scripts" / "build_artifact.py"

USED_VARIABLES = frozenset(
    {
        "name_prefix",
        "table_key_schema",
        "table_billing_mode",
        "table_read_capacity",
        "table_write_capacity",
        "table_deletion_protection_enabled",
        "table_ttl_attribute_name",
        "table_streaming_destination_precision",
        "change_stream_mode",
        "change_stream_shard_count",
        "change_stream_retention_hours",
        "transform_architecture",
        "transform_memory_size",
        "transform_timeout",
        "transform_archive_event_names",
        "transform_archive_table_names",
        "transform_log_level",
        "delivery_compression_format",
        "delivery_buffering_size",
        "delivery_buffering_interval",
        "delivery_dynamic_partitioning_enabled",
        "delivery_processor_buffer_size",
        "delivery_processor_buffer_interval",
        "delivery_processor_retries",
        "archive_prefix",
        "error_prefix",
    }
)
IGNORED_VARIABLES = {
    "region": "the endpoint's region is used (AWS_DEFAULT_REGION)",
    "tags": "tags change no behaviour the tests observe",
    "enable_alarms": "monitoring is not part of the data path",
    "enable_alarm_topic": "monitoring is not part of the data path",
    "enable_dashboard": "monitoring is not part of the data path",
    "enable_archive_catalog": "the catalog is metadata only; LocalStack community has no Glue",
    "enable_archive_queries": "LocalStack community has no Athena (the CLI reads the archive)",
    "alarm_topic_kms_key_id": "monitoring is not part of the data path",
    "alarm_actions": "monitoring is not part of the data path",
    "alarm_iterator_age_threshold_ms": "monitoring is not part of the data path",
    "alarm_data_freshness_threshold_seconds": "monitoring is not part of the data path",
    "log_retention_days": "log groups are not part of the data path",
    "table_point_in_time_recovery_enabled": "backups are not part of the data path",
    "table_server_side_encryption_enabled": "encryption at rest is not observable on LocalStack",
    "table_kms_key_arn": "encryption at rest is not observable on LocalStack",
    "change_stream_kms_key_id": "encryption at rest is not observable on LocalStack",
    "archive_kms_key_arn": "encryption at rest is not observable on LocalStack",
    "archive_transition_days": "lifecycle rules act after days, not within a test",
    "archive_transition_storage_class": "lifecycle rules act after days, not within a test",
    "archive_expiration_days": "lifecycle rules act after days, not within a test",
    "archive_noncurrent_version_expiration_days": "lifecycle rules act after days",
    "archive_force_destroy": "the fixture empties the bucket before deleting it",
    "transform_artifact_path": "the fixture builds its own artifact with scripts/build_artifact.py",
    "archive_catalog_first_year": "the catalog is metadata only; LocalStack community has no Glue",
    "archive_catalog_last_year": "the catalog is metadata only; LocalStack community has no Glue",
}
USED_NAMES = frozenset(
    {"table", "change_stream", "transform", "transform_role", "delivery_stream", "delivery_role"}
)
USED_NAMES_BUCKET = "archive_bucket"
IGNORED_NAMES = {
    "delivery_log_group": "log groups are not part of the data path",
    "alarm_topic": "monitoring is not part of the data path",
    "alarm_prefix": "monitoring is not part of the data path",
    "dashboard": "monitoring is not part of the data path",
    "catalog_database": "the catalog is metadata only; LocalStack community has no Glue",
    "catalog_table": "the catalog is metadata only; LocalStack community has no Glue",
    "query_workgroup": "LocalStack community has no Athena",
    "query_results": "Athena's results bucket: LocalStack community has no Athena",
}
USED_STRINGS = frozenset(
    {
        "transform_handler",
        "transform_runtime",
        "archive_time_partition",
        "archive_dynamic_partition",
        "error_output_type",
    }
)

ACTIVE_TIMEOUT = 120.0  # LocalStack's Kinesis-source delivery stream: ACTIVE after 13-30 s (README)


class ProvisioningError(Exception):
    """The stack could not be created; the message says which step and why."""


def check_known(module: RootModule) -> None:
    """Fail on any variable, name or local this provisioner does not know."""
    problems = []
    unknown = sorted(set(module.variables) - USED_VARIABLES - set(IGNORED_VARIABLES))
    if unknown:
        problems.append(f"variables {', '.join(unknown)} (terraform/variables.tf)")
    unknown = sorted(
        set(module.name_templates) - USED_NAMES - {USED_NAMES_BUCKET} - set(IGNORED_NAMES)
    )
    if unknown:
        problems.append(f"locals.names {', '.join(unknown)} (terraform/locals.tf)")
    unknown = sorted(set(module.strings) - USED_STRINGS)
    if unknown:
        problems.append(f"locals {', '.join(unknown)} (terraform/locals.tf)")
    missing = sorted(
        (USED_VARIABLES - set(module.variables))
        | (USED_NAMES - set(module.name_templates))
        | (USED_STRINGS - set(module.strings))
    )
    if missing:
        problems.append(f"no longer defines {', '.join(missing)}")
    if problems:
        raise ProvisioningError(
            "the root module changed in ways tests/e2e/provision.py does not handle: "
            + "; ".join(problems)
            + ". Provision them there (or list them as ignored, with the reason)."
        )


def host_architecture() -> str:
    machine = platform.machine().lower()
    return "arm64" if machine in ("arm64", "aarch64") else "x86_64"


def build_artifact(output: Path, architecture: str) -> Path:
    """The transform's deployment package, made by the one builder (scripts/build_artifact.py)."""
    if not BUILDER.is_file():
        raise ProvisioningError(
            f"{BUILDER.relative_to(REPO)} does not exist yet: the transform's builder is needed"
            " (or set PIPELINE_TRANSFORM_ARTIFACT to a built zip)"
        )
    result = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, str(BUILDER), "--arch", architecture, "--output", str(output)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        timeout=600,
    )
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).splitlines()[-15:])
        raise ProvisioningError(f"build_artifact.py failed ({result.returncode}):\n{tail}")
    return output


@contextmanager
def provisioned_stack(
    *, artifact: Path, name_prefix: str | None = None, log: Callable[[str], None] = print
) -> Iterator[Stack]:
    """Create the stack, yield it (ACTIVE, ready for writes), then delete everything created."""
    tfvars = LOCALSTACK_TFVARS if LOCALSTACK_TFVARS.is_file() else None
    module = RootModule.load(TERRAFORM_ROOT, tfvars=tfvars)
    check_known(module)
    settings = dict(module.variables)
    if name_prefix is not None:
        settings["name_prefix"] = name_prefix
        module = RootModule(module.path, settings, module.name_templates, module.strings)

    sts = client("sts")
    account_id = sts.get_caller_identity()["Account"]
    region = sts.meta.region_name
    names = module.names(account_id=account_id, region=region)
    undo: list[tuple[str, Callable[[], object]]] = []
    log(f"provisioning {settings['name_prefix']} in {region} (tfvars: {tfvars})")
    try:
        stack = _create(
            module=module,
            settings=settings,
            names=names,
            artifact=artifact,
            region=region,
            undo=undo,
            log=log,
        )
        yield stack
    finally:
        _teardown(undo, log)


def _create(
    *,
    module: RootModule,
    settings: dict[str, Any],
    names: dict[str, str],
    artifact: Path,
    region: str,
    undo: list[tuple[str, Callable[[], object]]],
    log: Callable[[str], None],
) -> Stack:
    dynamodb, kinesis, s3 = client("dynamodb"), client("kinesis"), client("s3")
    iam, lam, firehose = client("iam"), client("lambda"), client("firehose")

    # Archive bucket
    bucket = names[USED_NAMES_BUCKET]
    s3.create_bucket(
        Bucket=bucket,
        **(
            {}
            if region == "us-east-1"
            else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        ),
    )
    undo.append(("archive bucket", lambda: _delete_bucket(s3, bucket)))

    # Table
    schema = settings["table_key_schema"]
    keys = [(schema["hash_key"], "HASH")]
    if schema.get("range_key"):
        keys.append((schema["range_key"], "RANGE"))
    table_args: dict[str, Any] = {
        "TableName": names["table"],
        "AttributeDefinitions": [
            {"AttributeName": key["name"], "AttributeType": key["type"]} for key, _ in keys
        ],
        "KeySchema": [{"AttributeName": key["name"], "KeyType": kind} for key, kind in keys],
        "BillingMode": settings["table_billing_mode"],
        "DeletionProtectionEnabled": settings["table_deletion_protection_enabled"],
    }
    if settings["table_billing_mode"] == "PROVISIONED":
        table_args["ProvisionedThroughput"] = {
            "ReadCapacityUnits": settings["table_read_capacity"],
            "WriteCapacityUnits": settings["table_write_capacity"],
        }
    table_arn = dynamodb.create_table(**table_args)["TableDescription"]["TableArn"]
    undo.append(("table", lambda: _delete_table(dynamodb, names["table"])))
    dynamodb.get_waiter("table_exists").wait(
        TableName=names["table"], WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    if settings["table_ttl_attribute_name"]:
        dynamodb.update_time_to_live(
            TableName=names["table"],
            TimeToLiveSpecification={
                "Enabled": True,
                "AttributeName": settings["table_ttl_attribute_name"],
            },
        )

    # Change stream and the table's Kinesis streaming destination
    stream_args: dict[str, Any] = {
        "StreamName": names["change_stream"],
        "StreamModeDetails": {"StreamMode": settings["change_stream_mode"]},
    }
    if settings["change_stream_mode"] == "PROVISIONED":
        stream_args["ShardCount"] = settings["change_stream_shard_count"]
    kinesis.create_stream(**stream_args)
    undo.append(("change stream", lambda: _delete_stream(kinesis, names["change_stream"])))
    kinesis.get_waiter("stream_exists").wait(
        StreamName=names["change_stream"], WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    stream_arn = kinesis.describe_stream_summary(StreamName=names["change_stream"])[
        "StreamDescriptionSummary"
    ]["StreamARN"]
    if settings["change_stream_retention_hours"] > 24:
        kinesis.increase_stream_retention_period(
            StreamName=names["change_stream"],
            RetentionPeriodHours=settings["change_stream_retention_hours"],
        )
    precision = settings["table_streaming_destination_precision"]
    dynamodb.enable_kinesis_streaming_destination(
        TableName=names["table"],
        StreamArn=stream_arn,
        **(
            {}  # null: DynamoDB's default precision
            if precision is None
            else {
                "EnableKinesisStreamingConfiguration": {
                    "ApproximateCreationDateTimePrecision": precision
                }
            }
        ),
    )
    undo.append(
        (
            "streaming destination",
            lambda: dynamodb.disable_kinesis_streaming_destination(
                TableName=names["table"], StreamArn=stream_arn
            ),
        )
    )
    _wait(
        "the table's Kinesis streaming destination to be ACTIVE",
        lambda: any(
            d.get("DestinationStatus") == "ACTIVE"
            for d in dynamodb.describe_kinesis_streaming_destination(TableName=names["table"])[
                "KinesisDataStreamDestinations"
            ]
        ),
        timeout=60,
    )

    # IAM roles (LocalStack does not enforce them by default; created as Terraform does)
    log_group_arn = f"arn:aws:logs:{region}:*:log-group:/aws/lambda/{names['transform']}"
    transform_role = _role(
        iam,
        names["transform_role"],
        "lambda.amazonaws.com",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": f"{log_group_arn}:*",
                }
            ],
        },
        undo,
    )
    function_arn = (
        f"arn:aws:lambda:{region}:{table_arn.split(':')[4]}:function:{names['transform']}"
    )
    delivery_role = _role(
        iam,
        names["delivery_role"],
        "firehose.amazonaws.com",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": [
                        "kinesis:DescribeStream",
                        "kinesis:GetShardIterator",
                        "kinesis:GetRecords",
                        "kinesis:ListShards",
                    ],
                    "Resource": stream_arn,
                },
                {
                    "Effect": "Allow",
                    "Action": ["s3:PutObject", "s3:GetBucketLocation", "s3:ListBucket"],
                    "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                },
                {
                    "Effect": "Allow",
                    "Action": ["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"],
                    "Resource": [function_arn, f"{function_arn}:*"],
                },
            ],
        },
        undo,
    )

    # Transform function
    architecture = host_architecture()
    lam.create_function(
        FunctionName=names["transform"],
        Runtime=module.strings["transform_runtime"],
        Handler=module.strings["transform_handler"],
        Role=transform_role,
        Code={"ZipFile": artifact.read_bytes()},
        Architectures=[architecture],
        MemorySize=settings["transform_memory_size"],
        Timeout=settings["transform_timeout"],
        Environment={
            "Variables": {
                "ARCHIVE_EVENT_NAMES": ",".join(settings["transform_archive_event_names"]),
                "ARCHIVE_TABLE_NAMES": ",".join(settings["transform_archive_table_names"]),
                "LOG_LEVEL": settings["transform_log_level"],
            }
        },
    )
    undo.append(("transform", lambda: lam.delete_function(FunctionName=names["transform"])))
    lam.get_waiter("function_active_v2").wait(
        FunctionName=names["transform"], WaiterConfig={"Delay": 1, "MaxAttempts": 120}
    )
    function_arn = lam.get_function(FunctionName=names["transform"])["Configuration"]["FunctionArn"]

    # Delivery stream: Kinesis source -> Lambda processor -> S3
    dynamic = settings["delivery_dynamic_partitioning_enabled"]
    layout = module.strings["archive_dynamic_partition" if dynamic else "archive_time_partition"]
    gzip = settings["delivery_compression_format"] == "GZIP"
    destination: dict[str, Any] = {
        "RoleARN": delivery_role,
        "BucketARN": f"arn:aws:s3:::{bucket}",
        "Prefix": settings["archive_prefix"] + layout,
        "ErrorOutputPrefix": settings["error_prefix"]
        + module.strings["error_output_type"]
        + module.strings["archive_time_partition"],
        "BufferingHints": {
            "SizeInMBs": settings["delivery_buffering_size"],
            "IntervalInSeconds": settings["delivery_buffering_interval"],
        },
        "CompressionFormat": settings["delivery_compression_format"],
        "FileExtension": ".jsonl.gz" if gzip else ".jsonl",
        "ProcessingConfiguration": {
            "Enabled": True,
            "Processors": [
                {
                    "Type": "Lambda",
                    "Parameters": [
                        {"ParameterName": "LambdaArn", "ParameterValue": function_arn},
                        {
                            "ParameterName": "NumberOfRetries",
                            "ParameterValue": str(settings["delivery_processor_retries"]),
                        },
                        {
                            "ParameterName": "BufferSizeInMBs",
                            "ParameterValue": _number_text(
                                settings["delivery_processor_buffer_size"]
                            ),
                        },
                        {
                            "ParameterName": "BufferIntervalInSeconds",
                            "ParameterValue": str(settings["delivery_processor_buffer_interval"]),
                        },
                    ],
                }
            ],
        },
    }
    if dynamic:
        destination["DynamicPartitioningConfiguration"] = {"Enabled": True}
    log(f"creating delivery stream {names['delivery_stream']} (LocalStack: 13-30 s to ACTIVE)")
    firehose.create_delivery_stream(
        DeliveryStreamName=names["delivery_stream"],
        DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={
            "KinesisStreamARN": stream_arn,
            "RoleARN": delivery_role,
        },
        ExtendedS3DestinationConfiguration=destination,
    )
    # LocalStack's Kinesis source runs a KCL consumer that keeps its leases in DynamoDB tables
    # named after the stream and delivery stream: delete them after the delivery stream.
    lease_tables = f"{names['change_stream']}-firehose-{names['delivery_stream']}"
    undo.append(("KCL lease tables", lambda: _delete_tables_named(dynamodb, lease_tables)))
    undo.append(
        (
            "delivery stream",
            lambda: firehose.delete_delivery_stream(
                DeliveryStreamName=names["delivery_stream"], AllowForceDelete=True
            ),
        )
    )
    started = time.monotonic()
    _wait(
        "the delivery stream to be ACTIVE",
        lambda: (
            firehose.describe_delivery_stream(DeliveryStreamName=names["delivery_stream"])[
                "DeliveryStreamDescription"
            ]["DeliveryStreamStatus"]
            == "ACTIVE"
        ),
        timeout=ACTIVE_TIMEOUT,
    )
    log(f"delivery stream ACTIVE after {time.monotonic() - started:.1f} s more")

    return Stack(
        region=region,
        table_name=names["table"],
        table_hash_key=schema["hash_key"]["name"],
        table_range_key=schema["range_key"]["name"] if schema.get("range_key") else None,
        change_stream_name=names["change_stream"],
        change_stream_arn=stream_arn,
        transform_function_name=names["transform"],
        delivery_stream_name=names["delivery_stream"],
        archive_bucket_name=bucket,
        archive_prefix=settings["archive_prefix"],
        error_prefix=settings["error_prefix"],
    )


def _role(
    iam: Any,
    name: str,
    service: str,
    policy: dict[str, Any],
    undo: list[tuple[str, Callable[[], object]]],
) -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
        ],
    }
    arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"][
        "Arn"
    ]
    undo.append((f"role {name}", lambda: iam.delete_role(RoleName=name)))
    iam.put_role_policy(RoleName=name, PolicyName=name, PolicyDocument=json.dumps(policy))
    undo.append(
        (
            f"role policy {name}",
            lambda: iam.delete_role_policy(RoleName=name, PolicyName=name),
        )
    )
    return arn


def _wait(what: str, ready: Callable[[], bool], *, timeout: float, interval: float = 1.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise ProvisioningError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _delete_bucket(s3: Any, bucket: str) -> None:
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        doomed = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        if doomed:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})
    s3.delete_bucket(Bucket=bucket)


def _delete_table(dynamodb: Any, table: str) -> None:
    dynamodb.update_table(TableName=table, DeletionProtectionEnabled=False)
    dynamodb.delete_table(TableName=table)


def _delete_tables_named(dynamodb: Any, prefix: str) -> None:
    for page in dynamodb.get_paginator("list_tables").paginate():
        for table in page["TableNames"]:
            if table.startswith(prefix):
                dynamodb.delete_table(TableName=table)


def _delete_stream(kinesis: Any, stream: str) -> None:
    kinesis.delete_stream(StreamName=stream, EnforceConsumerDeletion=True)


def _teardown(undo: list[tuple[str, Callable[[], object]]], log: Callable[[str], None]) -> None:
    failures = []
    for what, action in reversed(undo):
        try:
            action()
        except Exception as error:
            failures.append(f"{what}: {error}")
    if failures:
        raise ProvisioningError("teardown left resources behind: " + "; ".join(failures))
    log("provisioned stack deleted")


def unique_name_prefix() -> str:
    """A name_prefix for one test session (matches variables.tf's name_prefix rule)."""
    return f"e2e-{uuid.uuid4().hex[:8]}"


def zip_check(artifact: Path, handler: str) -> None:
    """Fail early if the artifact lacks the handler's module."""
    module_path = handler.rsplit(".", 1)[0].replace(".", "/") + ".py"
    with zipfile.ZipFile(io.BytesIO(artifact.read_bytes())) as archive:
        if module_path not in archive.namelist():
            raise ProvisioningError(f"{artifact} has no {module_path} (handler {handler})")
