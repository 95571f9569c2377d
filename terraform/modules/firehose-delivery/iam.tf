data "aws_caller_identity" "current" {}

################################################################################
# Role: only Firehose, on behalf of this account, may assume it.
################################################################################

data "aws_iam_policy_document" "assume_role" {
  statement {
    sid     = "FirehoseAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["firehose.amazonaws.com"]
    }

    # Firehose passes the account ID as the external ID (firehose/latest/dev/controlling-access.html, trust policy).
    condition {
      test     = "StringEquals"
      variable = "sts:ExternalId"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = var.role_name
  assume_role_policy = data.aws_iam_policy_document.assume_role.json
  tags               = var.tags
}

################################################################################
# Source: read the one stream, decrypt with its key only through Kinesis.
################################################################################

data "aws_iam_policy_document" "source" {
  statement {
    sid       = "ReadSourceStream"
    actions   = ["kinesis:DescribeStream", "kinesis:GetShardIterator", "kinesis:GetRecords", "kinesis:ListShards"]
    resources = [var.kinesis_stream_arn]
  }

  dynamic "statement" {
    for_each = var.kinesis_stream_kms_key_arn == null ? [] : [var.kinesis_stream_kms_key_arn]

    content {
      sid       = "DecryptSourceStream"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["kinesis.${data.aws_region.current.region}.amazonaws.com"]
      }

      condition {
        test     = "StringEquals"
        variable = "kms:EncryptionContext:aws:kinesis:arn"
        values   = [var.kinesis_stream_arn]
      }
    }
  }
}

resource "aws_iam_role_policy" "source" {
  name   = "source"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.source.json
}

################################################################################
# Processor: invoke the one transform function.
################################################################################

data "aws_iam_policy_document" "processor" {
  statement {
    sid       = "InvokeProcessor"
    actions   = ["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"]
    resources = [var.processor_function_arn, "${var.processor_function_arn}:*"]
  }
}

resource "aws_iam_role_policy" "processor" {
  name   = "processor"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.processor.json
}

################################################################################
# Destination: write objects into the one bucket (and use its key, if any, only through S3).
################################################################################

data "aws_iam_policy_document" "destination" {
  statement {
    sid       = "ListDestinationBucket"
    actions   = ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"]
    resources = [var.bucket_arn]
  }

  statement {
    sid       = "WriteDestinationObjects"
    actions   = ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"]
    resources = ["${var.bucket_arn}/*"]
  }

  dynamic "statement" {
    for_each = var.bucket_kms_key_arn == null ? [] : [var.bucket_kms_key_arn]

    content {
      sid       = "EncryptDestinationObjects"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${data.aws_region.current.region}.amazonaws.com"]
      }

      condition {
        test     = "StringLike"
        variable = "kms:EncryptionContext:aws:s3:arn"
        # With an S3 Bucket Key the context is the bucket ARN, not the object ARN (AmazonS3/latest/userguide/configuring-bucket-key.html).
        values = [var.bucket_arn, "${var.bucket_arn}/*"]
      }
    }
  }
}

resource "aws_iam_role_policy" "destination" {
  name   = "destination"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.destination.json
}

################################################################################
# Logs: write error events into the one log group.
################################################################################

data "aws_iam_policy_document" "logs" {
  statement {
    sid       = "WriteErrorLogs"
    actions   = ["logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:log-stream:*"]
  }
}

resource "aws_iam_role_policy" "logs" {
  name   = "logs"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.logs.json
}
