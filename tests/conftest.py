pytest_plugins = ["tests.fixtures.tiny_models", "tests.fixtures.classifiers"]
