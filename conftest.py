# Shared pytest fixtures live in tests/fixtures/, one module per owner, loaded here.
pytest_plugins = ["tests.fixtures.exchange", "tests.fixtures.prefect_harness"]
