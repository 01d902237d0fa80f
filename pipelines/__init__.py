"""Prefect flows and deployments: thin wrappers over kalshi_extract / kalshi_lake. The only package importing Prefect."""
