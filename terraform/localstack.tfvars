# LocalStack community 4.14 (tflocal apply, `make localstack-test`): the same root module with
# the parts LocalStack lacks switched off. Only settings that differ from variables.tf are here.

# KMS is not among the services the LocalStack runs (SERVICES in scripts/localstack.sh):
# no stream encryption, no KMS table encryption.
change_stream_kms_key_id             = null
table_server_side_encryption_enabled = false

# LocalStack does not report ApproximateCreationDateTimePrecision back (DescribeKinesisStreamingDestination),
# so a set value would never converge: leave DynamoDB's default.
table_streaming_destination_precision = null

# SNS is not among the services the LocalStack runs.
enable_alarm_topic = false

# LocalStack community has no Glue: no catalog table (the archive itself is unchanged).
enable_archive_catalog = false
# Nor Athena (a LocalStack Pro service): no workgroup or named queries; `pipeline state` reads the archive itself.
enable_archive_queries = false

# Throwaway stack: let destroy remove the table and the bucket with its objects.
table_deletion_protection_enabled = false
archive_force_destroy             = true

# Throwaway stack: the shortest drain the buffering intervals allow (60 + 60 s), so destroying it
# waits two minutes rather than five.
delivery_replacement_drain_seconds = 120
