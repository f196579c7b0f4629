"""The ports (``lockgate.ports``) implemented on AWS: DynamoDB, S3, EventBridge, SNS, Step Functions."""
