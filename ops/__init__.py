"""Operations tooling for the live cloud (boto3): ``python -m ops prices refresh`` regenerates the AWS price catalog."""
