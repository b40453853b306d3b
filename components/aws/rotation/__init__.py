"""Lambda handlers shipped with the project (packaged by ``components.aws.secrets.SecretRotator``).

Each handler module is self-contained: the standard library and ``boto3`` (both in the Lambda Python runtime),
nothing from this repository, because the archive holds that one file only.
"""
