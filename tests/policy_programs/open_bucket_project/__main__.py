"""A bucket whose policy lets anyone read it."""

import json

import pulumi_aws as aws

bucket = aws.s3.Bucket("downloads")
aws.s3.BucketPolicy("downloads-public", bucket=bucket.id, policy=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                   "Resource": "arn:aws:s3:::downloads/*"}],
}))
