"""DynamoDB change archive: the operator CLI and the library it shares with the end-to-end tests.

Modules: `aws` (boto3 clients, LocalStack-aware), `stack` (the deployed stack's names, from
`terraform output -json`), `archive` (reading the S3 archive), `demo_items` (demo items).
"""
