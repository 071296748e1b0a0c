"""Training recipes: each module exposes ``Config`` and ``run(config) -> Path`` (the artifact dir)."""
