import os

# Test runs start several processes (pytest, API, workers) on few cores; torch's default of
# one OpenMP thread per core then makes them stall each other (docs/training.md measures it).
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

pytest_plugins = ["tests.fixtures.tiny_models", "tests.fixtures.tiny_t5", "tests.fixtures.classifiers"]
