"""Offline: the provisioner creates exactly what Terraform plans, and refuses what it cannot.

The tests that plan terraform/ need `terraform` on PATH (skipped otherwise); the rest use small
hand-made plans.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from typing import Any

import pytest
from provision import ProvisioningError, Resolver, SkippedValueError, check
from resource_types import SKIPPED, Args, Call, Context, Wait, render_policy_document
from terraform_plan import TERRAFORM_ROOT, Instance, StackPlan, plan_stack, read_plan_and_state

CTX = Context(region="us-east-1", account_id="000000000000")
ARTIFACT = TERRAFORM_ROOT / "tests" / "fixtures" / "artifact.bin"
needs_terraform = pytest.mark.skipif(
    shutil.which("terraform") is None, reason="terraform not on PATH (plans terraform/)"
)


def delivery_stream(**extended_s3: Any) -> Instance:
    configuration = {
        "role_arn": "roleplc1",
        "bucket_arn": "bucketp1",
        "prefix": "changes/",
        "error_output_prefix": "errors/",
        "compression_format": "GZIP",
        "file_extension": ".jsonl.gz",
        "buffering_size": 64,
        "buffering_interval": 60,
        "processing_configuration": [
            {
                "enabled": True,
                "processors": [
                    {
                        "type": "Lambda",
                        "parameters": [
                            {"parameter_name": "LambdaArn", "parameter_value": "functio1"}
                        ],
                    }
                ],
            }
        ],
        **extended_s3,
    }
    return Instance(
        address="module.delivery_stream.aws_kinesis_firehose_delivery_stream.this",
        mode="managed",
        type="aws_kinesis_firehose_delivery_stream",
        arguments={
            "name": "demo-delivery",
            "destination": "extended_s3",
            "extended_s3_configuration": [configuration],
            "kinesis_source_configuration": [
                {"kinesis_stream_arn": "streamp1", "role_arn": "roleplc1"}
            ],
            "tags": {},
            "timeouts": None,
        },
        placeholders={"arn": "deliver1"},
        depends_on=(),
    )


def create_call(instance: Instance, operation: str) -> Mapping[str, Any]:
    calls = check(StackPlan(instances=(instance,), outputs={}), CTX)[instance.address]
    found = [c for c in calls if isinstance(c, Call) and c.operation == operation]
    assert len(found) == 1
    return found[0].params


def test_every_argument_reaches_the_call() -> None:
    # GIVEN a planned delivery stream / WHEN checked
    params = create_call(delivery_stream(), "create_delivery_stream")
    # THEN its settings are the call's
    destination = params["ExtendedS3DestinationConfiguration"]
    assert destination["FileExtension"] == ".jsonl.gz"
    assert destination["BufferingHints"] == {"SizeInMBs": 64, "IntervalInSeconds": 60}
    assert params["KinesisStreamSourceConfiguration"]["KinesisStreamARN"] == "streamp1"


@pytest.mark.parametrize(
    ("change", "path", "expected"),
    [
        ({"file_extension": ".jsonl"}, ("FileExtension",), ".jsonl"),
        ({"buffering_size": 128}, ("BufferingHints", "SizeInMBs"), 128),
        ({"buffering_interval": 0}, ("BufferingHints", "IntervalInSeconds"), 0),
        ({"prefix": "other/"}, ("Prefix",), "other/"),
    ],
)
def test_a_changed_argument_changes_the_call(
    change: dict[str, Any], path: tuple[str, ...], expected: Any
) -> None:
    # GIVEN the plan with one setting changed / WHEN checked
    value: Any = create_call(delivery_stream(**change), "create_delivery_stream")[
        "ExtendedS3DestinationConfiguration"
    ]
    # THEN the call carries the new value
    for key in path:
        value = value[key]
    assert value == expected


def test_an_argument_nobody_reads_fails_the_run() -> None:
    # GIVEN a plan whose delivery stream has an argument the provisioner does not know
    instance = delivery_stream(new_knob=3)
    # WHEN checked / THEN the run fails, naming the argument and the instance
    with pytest.raises(ProvisioningError, match=r"extended_s3_configuration\[0\]\.new_knob"):
        check(StackPlan(instances=(instance,), outputs={}), CTX)


def test_an_unknown_type_fails_the_run_and_a_skipped_one_does_not() -> None:
    # GIVEN a plan with a type nobody provisions and one LocalStack cannot run
    unknown = Instance("aws_sqs_queue.q", "managed", "aws_sqs_queue", {"name": "q"}, {}, ())
    skipped = Instance(
        "module.catalog.aws_glue_catalog_database.this[0]",
        "managed",
        "aws_glue_catalog_database",
        {"name": "db"},
        {},
        (),
    )
    # WHEN checked / THEN only the unknown type fails, by name
    with pytest.raises(ProvisioningError, match="resource type aws_sqs_queue is not known"):
        check(StackPlan(instances=(unknown, skipped), outputs={}), CTX)
    assert check(StackPlan(instances=(skipped,), outputs={}), CTX) == {}
    assert all(reason for reason in SKIPPED.values())


def test_placeholders_become_real_values_and_skipped_ones_fail() -> None:
    # GIVEN a bucket, a policy using its ARN, and a skipped topic an alarm uses
    bucket = Instance("aws_s3_bucket.b", "managed", "aws_s3_bucket", {}, {"arn": "bucketp1"}, ())
    topic = Instance("aws_sns_topic.t", "managed", "aws_sns_topic", {}, {"arn": "topicpl1"}, ())
    resolver = Resolver(StackPlan(instances=(bucket, topic), outputs={}))
    resolver.created(bucket, {"arn": "arn:aws:s3:::real"})
    resolver.skipped(topic, SKIPPED["aws_sns_topic"])
    # WHEN resolved / THEN the bucket's placeholder is its real ARN, inside strings too
    assert resolver.resolve({"r": ["bucketp1", "bucketp1/*"]}, "x") == {
        "r": ["arn:aws:s3:::real", "arn:aws:s3:::real/*"]
    }
    # AND a value of the skipped topic stops the run, saying why
    with pytest.raises(
        SkippedValueError, match=r"aws_sns_topic\.t\.arn, which is not created: SNS"
    ):
        resolver.resolve(["topicpl1"], "aws_cloudwatch_metric_alarm.a")


def test_policy_document_renders_as_the_provider_does() -> None:
    # GIVEN a trust policy's statement as planned
    document = {
        "statement": [
            {
                "sid": "FirehoseAssumeRole",
                "effect": None,
                "actions": ["sts:AssumeRole"],
                "principals": [{"type": "Service", "identifiers": ["firehose.amazonaws.com"]}],
                "condition": [
                    {"test": "StringEquals", "variable": "sts:ExternalId", "values": ["1234"]}
                ],
            }
        ]
    }
    # WHEN rendered / THEN it is the IAM JSON, one-element lists as strings
    assert json.loads(render_policy_document(Args(document))) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "FirehoseAssumeRole",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"Service": "firehose.amazonaws.com"},
                "Condition": {"StringEquals": {"sts:ExternalId": "1234"}},
            }
        ],
    }


def test_plan_and_state_give_arguments_order_and_placeholders() -> None:
    # GIVEN a plan (the role's ARN unknown) and the mocked apply's state
    plan = {
        "resource_changes": [
            {
                "address": "aws_iam_role.r",
                "change": {"after": {"name": "r"}, "after_unknown": {"arn": True, "id": True}},
            },
            {
                "address": "aws_lambda_function.f",
                "change": {
                    "after": {"function_name": "f"},
                    "after_unknown": {"arn": True, "role": True, "region": True},
                },
            },
        ]
    }
    state = {
        "values": {
            "root_module": {
                "resources": [
                    {
                        "address": "aws_lambda_function.f",
                        "mode": "managed",
                        "type": "aws_lambda_function",
                        "values": {
                            "function_name": "f",
                            "arn": "funcarn1",
                            "role": "rolearn1",
                            "region": "regionx1",
                        },
                        "depends_on": ["aws_iam_role.r"],
                    },
                    {
                        "address": "aws_iam_role.r",
                        "mode": "managed",
                        "type": "aws_iam_role",
                        "values": {"name": "r", "arn": "rolearn1", "id": "roleid01"},
                    },
                ]
            },
            "outputs": {"function_arn": {"type": "string", "value": "funcarn1"}},
        }
    }
    # WHEN read
    stack = read_plan_and_state(plan, state)
    # THEN the role comes first; the function's role is an argument, its region (computed) not
    assert [i.address for i in stack.instances] == ["aws_iam_role.r", "aws_lambda_function.f"]
    function = stack.instances[1]
    assert function.arguments == {"function_name": "f", "role": "rolearn1"}
    assert function.placeholders == {"arn": "funcarn1", "region": "regionx1"}
    assert stack.owners()["rolearn1"][0].address == "aws_iam_role.r"
    assert stack.outputs["function_arn"] == {"type": "string", "value": "funcarn1"}


@needs_terraform
def test_the_root_module_is_provisioned_entirely() -> None:
    # GIVEN terraform/ planned as the e2e stack is
    stack = plan_stack(name_prefix="e2e-check", artifact=ARTIFACT, region="us-east-1")
    # WHEN checked / THEN every instance is known or skipped and every argument is used
    calls = check(stack, CTX)
    assert "module.delivery_stream.aws_kinesis_firehose_delivery_stream.this" in calls
    # AND the delivery role trusts Firehose only on behalf of the account (sts:ExternalId)
    trust = next(
        i
        for i in stack.instances
        if i.address.endswith("data.aws_iam_policy_document.assume_role")
        and i.address.startswith("module.delivery_stream")
    )
    assert json.loads(render_policy_document(Args(trust.arguments)))["Statement"][0][
        "Condition"
    ] == {"StringEquals": {"sts:ExternalId": "000000000000"}}


@needs_terraform
def test_a_setting_of_terraform_changes_the_stack() -> None:
    # GIVEN terraform/ planned with uncompressed archives and a smaller buffer
    stack = plan_stack(
        name_prefix="e2e-check",
        artifact=ARTIFACT,
        region="us-east-1",
        variables={"delivery_compression_format": "UNCOMPRESSED", "delivery_buffering_size": "5"},
    )
    # WHEN checked / THEN the delivery stream is created with Terraform's file extension and buffer
    calls = check(stack, CTX)["module.delivery_stream.aws_kinesis_firehose_delivery_stream.this"]
    params = next(c.params for c in calls if isinstance(c, Call))
    destination = params["ExtendedS3DestinationConfiguration"]
    assert destination["FileExtension"] == ".jsonl"
    assert destination["CompressionFormat"] == "UNCOMPRESSED"
    assert destination["BufferingHints"]["SizeInMBs"] == 5


def test_time_sleep_waits_its_create_duration_only() -> None:
    # GIVEN a planned time_sleep that delays only destruction
    instance = Instance(
        "module.delivery_stream.time_sleep.replacement_drain",
        "managed",
        "time_sleep",
        {"create_duration": None, "destroy_duration": "120s", "triggers": {"name": "d"}},
        {},
        (),
    )
    # WHEN checked / THEN nothing waits at creation (down deletes the whole stack at once)
    assert check(StackPlan(instances=(instance,), outputs={}), CTX) == {instance.address: []}
    # AND a create_duration is waited for
    waiting = Instance(
        instance.address, "managed", "time_sleep", {"create_duration": "1m30s"}, {}, ()
    )
    (wait,) = check(StackPlan(instances=(waiting,), outputs={}), CTX)[instance.address]
    assert isinstance(wait, Wait)
    assert wait.what.startswith("90 s")
