output "alarm_topic_arn" {
  description = "ARN of the alarm topic; null if none was created."
  value       = try(aws_sns_topic.alarms[0].arn, null)
}

output "alarm_arns" {
  description = "ARNs of the alarms, by name."
  value       = merge({ for alarm in aws_cloudwatch_metric_alarm.this : alarm.alarm_name => alarm.arn }, { for alarm in aws_cloudwatch_metric_alarm.table_streaming_throttles : alarm.alarm_name => alarm.arn }, { for alarm in aws_cloudwatch_metric_alarm.transform_processing_failed : alarm.alarm_name => alarm.arn })
}

output "dashboard_name" {
  description = "Name of the dashboard; null if none was created."
  value       = try(aws_cloudwatch_dashboard.this[0].dashboard_name, null)
}
