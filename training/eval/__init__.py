"""Evaluation targets for ``attune eval <target>``: each module exposes ``main(argv) -> int``."""
