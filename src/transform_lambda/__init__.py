"""Firehose data-transformation processor: DynamoDB change records → plain NDJSON archive lines.

Handler string: ``transform_lambda.handler.lambda_handler``.
"""

__all__: list[str] = []
