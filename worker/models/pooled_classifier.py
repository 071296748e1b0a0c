"""``MeanPooledClassifier``: an encoder, the mean of its token states, one linear layer to label logits.

Sentence-transformer encoders (the MiniLM we ship) are trained so that the *mean* of their token
states is the sentence's meaning; their ``[CLS]`` state, which ``AutoModelForSequenceClassification``
reads, is not. Classifying from the mean starts fine-tuning from features that already separate
emotions, so far fewer CPU epochs are needed (docs/training.md has the numbers).

On disk: the encoder's ``save_pretrained`` files plus ``classifier_head.safetensors``
(``weight``, ``bias``); ``labels.json`` says ``"pooling": "mean"``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoModel, PreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput

from worker.models.pooling import masked_mean

HEAD_FILE = "classifier_head.safetensors"


class MeanPooledClassifier(torch.nn.Module):
    def __init__(self, encoder: PreTrainedModel, num_labels: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = torch.nn.Dropout(dropout)
        self.classifier = torch.nn.Linear(encoder.config.hidden_size, num_labels)

    @classmethod
    def from_encoder(cls, source: str | Path, num_labels: int) -> MeanPooledClassifier:
        """A new head (random, like any classification head) on a pretrained encoder."""
        return cls(AutoModel.from_pretrained(source), num_labels)

    @classmethod
    def from_artifact(cls, directory: Path) -> MeanPooledClassifier:
        from safetensors.torch import load_file

        head = load_file(str(Path(directory) / HEAD_FILE))
        model = cls(AutoModel.from_pretrained(directory), num_labels=head["weight"].shape[0])
        model.classifier.load_state_dict(head)
        return model

    def save(self, directory: Path) -> None:
        from safetensors.torch import save_file

        self.encoder.save_pretrained(directory)
        head = {name: tensor.detach().contiguous().cpu() for name, tensor in self.classifier.state_dict().items()}
        save_file(head, str(Path(directory) / HEAD_FILE))

    def pooled(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The mean of the token states, padding excluded: one vector per text."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        states = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        return masked_mean(states.float(), attention_mask)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
    ) -> SequenceClassifierOutput:
        pooled = self.pooled(input_ids, attention_mask, token_type_ids)
        return SequenceClassifierOutput(logits=self.classifier(self.dropout(pooled)))
