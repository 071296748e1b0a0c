pytest_plugins = ["tests.fixtures.tiny_models"]
