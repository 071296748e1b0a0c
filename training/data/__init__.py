"""Dataset loaders over the compressed copies in the repo's ``data/`` folder (credited in data/SOURCES.md)."""
