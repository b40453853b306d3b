"""GCP components (not built yet: the settings model is cloud-neutral, the AWS stack is the first)."""
