"""An untrained qwen-empathetic artifact on a tiny base, in the recipe's exact layout."""

from __future__ import annotations

from pathlib import Path


def build_heads_artifact(base: Path, out: Path) -> Path:
    """The recipe's own functions write it: LoRA with the style tokens, the tokenizer, the two heads."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from training.recipes import psychotherapist as sft
    from training.recipes import qwen_empathetic as recipe
    from worker.models.heads import Heads

    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(base)
    labels = recipe.head_labels()
    style_ids = recipe.add_style_tokens(model, tokenizer, labels)
    config = recipe.Config(lora_r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"])
    sft.attach_lora(model, config, trainable_token_ids=style_ids).save_pretrained(out)
    tokenizer.save_pretrained(out)
    Heads.create(model.config.hidden_size, labels).save(out)
    return out
