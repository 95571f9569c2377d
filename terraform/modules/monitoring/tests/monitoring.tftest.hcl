mock_provider "aws" {
  mock_data "aws_region" {
    defaults = {
      region = "us-east-1"
    }
  }

  mock_resource "aws_sns_topic" {
    defaults = {
      arn = "arn:aws:sns:us-east-1:123456789012:test-alarms"
    }
  }
}

variables {
  name_prefix          = "test"
  alarm_topic_name     = "test-alarms"
  dashboard_name       = "test"
  table_name           = "test-table"
  change_stream_name   = "test-changes"
  function_name        = "test-transform"
  delivery_stream_name = "test-delivery"

  enable_alarms                    = true
  enable_alarm_topic               = true
  enable_dashboard                 = true
  alarm_actions                    = []
  iterator_age_threshold_ms        = 600000
  data_freshness_threshold_seconds = 900
  processing_failed_period_seconds = 300
  transform_metrics_namespace      = "DynamoDBChangeArchive"
  transform_metrics_dimensions     = ["DeliveryStreamName", "FunctionName"]
}

run "alarms_on_every_link" {
  command = apply

  assert {
    condition = toset([for alarm in aws_cloudwatch_metric_alarm.this : "${alarm.namespace} ${alarm.metric_name} ${jsonencode(alarm.dimensions)}"]) == toset([
      "AWS/Kinesis GetRecords.IteratorAgeMilliseconds {\"StreamName\":\"test-changes\"}",
      "AWS/Firehose DeliveryToS3.DataFreshness {\"DeliveryStreamName\":\"test-delivery\"}",
      "AWS/Firehose ExecuteProcessing.Success {\"DeliveryStreamName\":\"test-delivery\"}",
      "AWS/Firehose DeliveryToS3.Success {\"DeliveryStreamName\":\"test-delivery\"}",
      "AWS/Lambda Errors {\"FunctionName\":\"test-transform\"}",
      "AWS/Lambda Throttles {\"FunctionName\":\"test-transform\"}",
    ])
    error_message = "Each link must have its alarm on the right resource."
  }

  assert {
    condition     = strcontains(one(aws_cloudwatch_metric_alarm.table_streaming_throttles[0].metric_query).expression, "ThrottledPutRecordCount") && strcontains(one(aws_cloudwatch_metric_alarm.table_streaming_throttles[0].metric_query).expression, "TableName = 'test-table'")
    error_message = "The streaming-destination throttling alarm must watch the table."
  }

  assert {
    condition     = alltrue([for alarm in aws_cloudwatch_metric_alarm.this : alarm.alarm_actions == toset(["arn:aws:sns:us-east-1:123456789012:test-alarms"])])
    error_message = "Alarms must notify the alarm topic."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["delivery-data-freshness"].threshold == 900 && aws_cloudwatch_metric_alarm.this["change-stream-iterator-age"].threshold == 600000
    error_message = "Thresholds must come from the variables."
  }

  assert {
    condition     = output.dashboard_name == "test" && length(jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets) == 10
    error_message = "The dashboard must exist with a widget per metric group."
  }
}

run "processing_failed_records_alarm" {
  command = apply

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.transform_processing_failed[0].namespace == "DynamoDBChangeArchive" &&
      aws_cloudwatch_metric_alarm.transform_processing_failed[0].metric_name == "ProcessingFailed" &&
      aws_cloudwatch_metric_alarm.transform_processing_failed[0].statistic == "Sum" &&
      aws_cloudwatch_metric_alarm.transform_processing_failed[0].comparison_operator == "GreaterThanThreshold" &&
      aws_cloudwatch_metric_alarm.transform_processing_failed[0].threshold == 0 &&
      aws_cloudwatch_metric_alarm.transform_processing_failed[0].period == 300
    )
    error_message = "The alarm must fire on any ProcessingFailed record (Sum > 0) within the period."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.transform_processing_failed[0].dimensions == tomap({ DeliveryStreamName = "test-delivery", FunctionName = "test-transform" })
    error_message = "The alarm must use exactly the dimensions the transform emits."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.transform_processing_failed[0].alarm_actions == toset(["arn:aws:sns:us-east-1:123456789012:test-alarms"]) && aws_cloudwatch_metric_alarm.transform_processing_failed[0].ok_actions == toset(["arn:aws:sns:us-east-1:123456789012:test-alarms"])
    error_message = "The alarm must notify the alarm topic like the others."
  }

  assert {
    condition     = contains(keys(output.alarm_arns), "test-transform-processing-failed")
    error_message = "The alarm must be listed in alarm_arns."
  }
}

run "dashboard_plots_firehose_and_transform_metrics" {
  command = apply

  assert {
    condition = contains(
      flatten([for widget in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : [for metric in widget.properties.metrics : jsonencode(metric)]]),
      jsonencode(["AWS/Firehose", "SucceedProcessing.Records", "DeliveryStreamName", "test-delivery", { stat = "Sum" }])
    )
    error_message = "The dashboard must plot SucceedProcessing.Records (a Firehose metric)."
  }

  assert {
    condition     = !strcontains(aws_cloudwatch_dashboard.this[0].dashboard_body, "ExecuteProcessing.Records")
    error_message = "ExecuteProcessing.Records is not a Firehose metric."
  }

  assert {
    condition = contains(
      flatten([for widget in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : [for metric in widget.properties.metrics : jsonencode(metric)]]),
      jsonencode(["DynamoDBChangeArchive", "ProcessingFailed", "DeliveryStreamName", "test-delivery", "FunctionName", "test-transform", { stat = "Sum" }])
    )
    error_message = "The dashboard must plot the transform's ProcessingFailed records with the dimensions it emits."
  }
}

run "transform_metrics_with_one_dimension" {
  command = plan

  variables {
    transform_metrics_namespace      = "Team/Archive"
    transform_metrics_dimensions     = ["FunctionName"]
    processing_failed_period_seconds = 60
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.transform_processing_failed[0].dimensions == tomap({ FunctionName = "test-transform" }) && aws_cloudwatch_metric_alarm.transform_processing_failed[0].namespace == "Team/Archive" && aws_cloudwatch_metric_alarm.transform_processing_failed[0].period == 60
    error_message = "Namespace, dimensions and period must follow the variables."
  }
}

run "transform_metrics_without_dimensions" {
  command = plan

  variables {
    transform_metrics_dimensions = []
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.transform_processing_failed[0].dimensions) == 0
    error_message = "Without dimensions the alarm must watch the namespace-wide metric."
  }
}

run "invalid_processing_failed_period" {
  command = plan

  variables {
    processing_failed_period_seconds = 90
  }

  expect_failures = [var.processing_failed_period_seconds]
}

run "invalid_transform_metrics_namespace" {
  command = plan

  variables {
    transform_metrics_namespace = "AWS/Firehose"
  }

  expect_failures = [var.transform_metrics_namespace]
}

run "invalid_transform_metrics_namespace_2" {
  command = plan

  variables {
    transform_metrics_namespace = "Change Archive"
  }

  expect_failures = [var.transform_metrics_namespace]
}

run "invalid_transform_metrics_dimensions" {
  command = plan

  variables {
    transform_metrics_dimensions = ["TableName"]
  }

  expect_failures = [var.transform_metrics_dimensions]
}

run "duplicate_transform_metrics_dimensions" {
  command = plan

  variables {
    transform_metrics_dimensions = ["FunctionName", "FunctionName"]
  }

  expect_failures = [var.transform_metrics_dimensions]
}

run "everything_off" {
  command = plan

  variables {
    enable_alarms    = false
    enable_dashboard = false
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.this) == 0 && length(aws_cloudwatch_metric_alarm.table_streaming_throttles) == 0 && length(aws_cloudwatch_metric_alarm.transform_processing_failed) == 0 && length(aws_sns_topic.alarms) == 0 && length(aws_cloudwatch_dashboard.this) == 0
    error_message = "Switches must remove alarms, topic and dashboard."
  }

  assert {
    condition     = output.alarm_topic_arn == null && output.dashboard_name == null
    error_message = "Outputs of switched-off parts must be null."
  }
}

run "no_topic_uses_given_actions" {
  command = plan

  variables {
    enable_alarm_topic = false
    alarm_actions      = ["arn:aws:sns:us-east-1:123456789012:ops"]
  }

  assert {
    condition     = length(aws_sns_topic.alarms) == 0 && alltrue([for alarm in aws_cloudwatch_metric_alarm.this : alarm.alarm_actions == toset(["arn:aws:sns:us-east-1:123456789012:ops"])])
    error_message = "Without the topic, alarms must notify the given actions."
  }
}

run "invalid_iterator_age_threshold" {
  command = plan

  variables {
    iterator_age_threshold_ms = 0
  }

  expect_failures = [var.iterator_age_threshold_ms]
}

run "invalid_data_freshness_threshold" {
  command = plan

  variables {
    data_freshness_threshold_seconds = 0
  }

  expect_failures = [var.data_freshness_threshold_seconds]
}
