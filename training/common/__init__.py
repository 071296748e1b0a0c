"""What every training recipe shares: config files, run bookkeeping, paths.

Importing this package imports neither torch nor transformers; ``training.common.hf``
(the Trainer callback) does, and is imported only by recipes that use it.
"""

from training.common.config import load_config
from training.common.paths import DATA_DIR, attune_home, configs_dir, expand_placeholders
from training.common.run import Run

__all__ = ["DATA_DIR", "Run", "attune_home", "configs_dir", "expand_placeholders", "load_config"]
