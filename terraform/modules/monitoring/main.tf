data "aws_region" "current" {}

################################################################################
# Alarm topic
################################################################################

resource "aws_sns_topic" "alarms" {
  count = var.enable_alarms && var.enable_alarm_topic ? 1 : 0

  # checkov:skip=CKV_AWS_26:CloudWatch alarms can publish only to a topic under a customer managed key whose policy allows cloudwatch.amazonaws.com (sns/latest/dg/sns-key-management.html#compatibility-with-aws-services); alias/aws/sns's policy cannot be changed. Set alarm_topic_kms_key_id to such a key.
  name              = var.alarm_topic_name
  kms_master_key_id = var.alarm_topic_kms_key_id
  tags              = var.tags
}

################################################################################
# Alarms: one per link of the pipeline
################################################################################

locals {
  alarm_actions = concat(aws_sns_topic.alarms[*].arn, var.alarm_actions)

  # Metric alarms. Success metrics of Firehose are ratios (1 = every call succeeded).
  metric_alarms = {
    change-stream-iterator-age = {
      description = "Change records wait too long in the change stream: the delivery stream is not keeping up."
      namespace   = "AWS/Kinesis"
      metric_name = "GetRecords.IteratorAgeMilliseconds"
      dimensions  = { StreamName = var.change_stream_name }
      statistic   = "Maximum"
      comparison  = "GreaterThanThreshold"
      threshold   = var.iterator_age_threshold_ms
      periods     = 3
    }
    delivery-data-freshness = {
      description = "The oldest record in the delivery stream is older than the threshold: the archive lags."
      namespace   = "AWS/Firehose"
      metric_name = "DeliveryToS3.DataFreshness"
      dimensions  = { DeliveryStreamName = var.delivery_stream_name }
      statistic   = "Maximum"
      comparison  = "GreaterThanThreshold"
      threshold   = var.data_freshness_threshold_seconds
      periods     = 3
    }
    delivery-processing-success = {
      description = "Transform invocations by the delivery stream failed: batches go to the error prefix."
      namespace   = "AWS/Firehose"
      metric_name = "ExecuteProcessing.Success"
      dimensions  = { DeliveryStreamName = var.delivery_stream_name }
      statistic   = "Minimum"
      comparison  = "LessThanThreshold"
      threshold   = 1
      periods     = 1
    }
    delivery-s3-success = {
      description = "Writes of the delivery stream to the archive bucket failed."
      namespace   = "AWS/Firehose"
      metric_name = "DeliveryToS3.Success"
      dimensions  = { DeliveryStreamName = var.delivery_stream_name }
      statistic   = "Minimum"
      comparison  = "LessThanThreshold"
      threshold   = 1
      periods     = 1
    }
    transform-errors = {
      description = "The transform function failed (an error or a timeout)."
      namespace   = "AWS/Lambda"
      metric_name = "Errors"
      dimensions  = { FunctionName = var.function_name }
      statistic   = "Sum"
      comparison  = "GreaterThanThreshold"
      threshold   = 0
      periods     = 1
    }
    transform-throttles = {
      description = "Invocations of the transform function were throttled."
      namespace   = "AWS/Lambda"
      metric_name = "Throttles"
      dimensions  = { FunctionName = var.function_name }
      statistic   = "Sum"
      comparison  = "GreaterThanThreshold"
      threshold   = 0
      periods     = 1
    }
  }
}

# The transform's own metrics (Embedded Metric Format in its summary log line), with exactly the
# dimensions it emits: an alarm on another dimension set would watch a metric that never arrives.
locals {
  transform_dimension_values = { DeliveryStreamName = var.delivery_stream_name, FunctionName = var.function_name }
  transform_dimensions       = { for name in var.transform_metrics_dimensions : name => local.transform_dimension_values[name] }
}

# Firehose's ExecuteProcessing.Success counts whole invocations: a batch whose records the transform
# marked ProcessingFailed still succeeds. This counts the records, which go to the error prefix.
resource "aws_cloudwatch_metric_alarm" "transform_processing_failed" {
  count = var.enable_alarms ? 1 : 0

  alarm_name          = "${var.name_prefix}-transform-processing-failed"
  alarm_description   = "The transform marked change records ProcessingFailed: they are under the error prefix (pipeline failures, pipeline redrive)."
  namespace           = var.transform_metrics_namespace
  metric_name         = "ProcessingFailed"
  dimensions          = local.transform_dimensions
  statistic           = "Sum"
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  period              = var.processing_failed_period_seconds
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = var.enable_alarms ? local.metric_alarms : {}

  alarm_name          = "${var.name_prefix}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric_name
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  comparison_operator = each.value.comparison
  threshold           = each.value.threshold
  period              = 300
  evaluation_periods  = each.value.periods
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

# ThrottledPutRecordCount's dimensions are TableName and DelegatedOperation, statistic Maximum
# (AmazonCloudWatch/latest/monitoring/Best_Practice_Recommended_Alarms_AWS_Services.html); the
# DelegatedOperation values are not documented, so a Metrics Insights query (PutMetricAlarm accepts
# one) takes the maximum over all of them instead of a plain alarm on a guessed value. DynamoDB
# publishes this metric at five-minute granularity (amazondynamodb/latest/developerguide/metrics-dimensions.html).
resource "aws_cloudwatch_metric_alarm" "table_streaming_throttles" {
  count = var.enable_alarms ? 1 : 0

  alarm_name          = "${var.name_prefix}-table-streaming-throttles"
  alarm_description   = "The change stream throttled change records DynamoDB sent to it: add capacity to the stream."
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "throttled"
    expression  = "SELECT MAX(ThrottledPutRecordCount) FROM SCHEMA(\"AWS/DynamoDB\", DelegatedOperation, TableName) WHERE TableName = '${var.table_name}'"
    period      = 300
    return_data = true
  }

  tags = var.tags
}

################################################################################
# Dashboard
################################################################################

locals {
  region = data.aws_region.current.region

  dashboard_widgets = [
    { title = "Change stream: incoming records", metrics = [["AWS/Kinesis", "IncomingRecords", "StreamName", var.change_stream_name, { stat = "Sum" }]] },
    { title = "Change stream: iterator age (ms)", metrics = [["AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", "StreamName", var.change_stream_name, { stat = "Maximum" }]] },
    { title = "Table: throttled change records", metrics = [[{ expression = "SELECT SUM(ThrottledPutRecordCount) FROM SCHEMA(\"AWS/DynamoDB\", DelegatedOperation, TableName) WHERE TableName = '${var.table_name}'", id = "throttled", label = "ThrottledPutRecordCount" }]] },
    { title = "Transform: invocations, errors, throttles", metrics = [for metric in ["Invocations", "Errors", "Throttles"] : ["AWS/Lambda", metric, "FunctionName", var.function_name, { stat = "Sum" }]] },
    { title = "Transform: duration (ms)", metrics = [["AWS/Lambda", "Duration", "FunctionName", var.function_name, { stat = "Maximum" }]] },
    { title = "Transform: records by result", metrics = [for metric in ["Records", "Ok", "Dropped", "ProcessingFailed", "TurnedForResponseLimit"] : concat([var.transform_metrics_namespace, metric], flatten([for name, value in local.transform_dimensions : [name, value]]), [{ stat = "Sum" }])] },
    { title = "Transform: bytes in and out", metrics = [for metric in ["BytesIn", "BytesOut"] : concat([var.transform_metrics_namespace, metric], flatten([for name, value in local.transform_dimensions : [name, value]]), [{ stat = "Sum" }])] },
    # SucceedProcessing.Records: records the transform returned Ok or Dropped (firehose/latest/dev/monitoring-with-cloudwatch-metrics.html).
    { title = "Delivery: records in and processed", metrics = [for metric in ["DataReadFromKinesisStream.Records", "SucceedProcessing.Records", "DeliveryToS3.Records"] : ["AWS/Firehose", metric, "DeliveryStreamName", var.delivery_stream_name, { stat = "Sum" }]] },
    { title = "Delivery: success ratios", metrics = [for metric in ["ExecuteProcessing.Success", "DeliveryToS3.Success"] : ["AWS/Firehose", metric, "DeliveryStreamName", var.delivery_stream_name, { stat = "Minimum" }]] },
    { title = "Delivery: data freshness (s)", metrics = [["AWS/Firehose", "DeliveryToS3.DataFreshness", "DeliveryStreamName", var.delivery_stream_name, { stat = "Maximum" }]] },
  ]
}

resource "aws_cloudwatch_dashboard" "this" {
  count = var.enable_dashboard ? 1 : 0

  dashboard_name = var.dashboard_name
  dashboard_body = jsonencode({
    widgets = [
      for index, widget in local.dashboard_widgets : {
        type   = "metric"
        x      = (index % 2) * 12
        y      = floor(index / 2) * 6
        width  = 12
        height = 6
        properties = {
          title   = widget.title
          region  = local.region
          metrics = widget.metrics
          view    = "timeSeries"
          period  = 300
        }
      }
    ]
  })
}
