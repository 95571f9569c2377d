# Created here, before the function, so Terraform owns its retention (Lambda would create it
# without one) and the role needs no logs:CreateLogGroup.
# trivy and checkov: CloudWatch Logs encrypts log events itself; a customer key would need a key policy for logs.<region>.amazonaws.com.
#trivy:ignore:AWS-0017
resource "aws_cloudwatch_log_group" "this" {
  # checkov:skip=CKV_AWS_158:Log events are encrypted by CloudWatch Logs; a customer key would need a key policy for logs.<region>.amazonaws.com, out of scope here.
  name              = "/aws/lambda/${var.function_name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

# trivy and checkov: X-Ray needs a wildcard-resource policy and adds nothing to a synchronous Firehose processor.
#trivy:ignore:AWS-0066
resource "aws_lambda_function" "this" {
  # checkov:skip=CKV_AWS_50:X-Ray needs a wildcard-resource policy and traces nothing useful for a synchronous Firehose processor.
  # checkov:skip=CKV_AWS_115:Firehose sizes its invocations itself; a concurrency cap would only throttle delivery.
  # checkov:skip=CKV_AWS_116:Firehose invokes synchronously and retries itself, then writes failed batches to the error prefix; a DLQ only applies to asynchronous invocations.
  # checkov:skip=CKV_AWS_117:The function calls no AWS API and reaches no private resource; a VPC would add ENIs and NAT for nothing.
  # checkov:skip=CKV_AWS_173:The environment holds configuration only (no secrets); Lambda encrypts it at rest with the AWS managed key.
  # checkov:skip=CKV_AWS_272:The package is built reproducibly by scripts/build_artifact.py and pinned by source_code_hash; code signing needs a Signer profile, out of scope here.
  function_name    = var.function_name
  role             = aws_iam_role.this.arn
  filename         = var.artifact_path
  source_code_hash = filebase64sha256(var.artifact_path)
  handler          = var.handler
  runtime          = var.runtime
  architectures    = [var.architecture]
  memory_size      = var.memory_size
  timeout          = var.timeout

  environment {
    variables = var.environment_variables
  }

  tags = var.tags

  depends_on = [
    aws_cloudwatch_log_group.this,
    aws_iam_role_policy.logs,
  ]
}
