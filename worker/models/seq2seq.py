"""Encoder-decoder responders (T5 / Flan-T5, optionally with a LoRA adapter): kind ``seq2seq``.

The founding EmotiBot answers one message at a time: the encoder reads an instruction that
names the person's emotion and quotes their message (``EMOTIBOT_PROMPT``), and the decoder
writes the reply. The ``emotibot-responder`` recipe trains the adapter on that same prompt,
built by the same ``emotibot_prompt``, so serving and training cannot drift apart.

Everything else is the causal kinds' machinery: ``load_pretrained`` (hub id or local dir,
dtype, NF4, ``PeftModel.from_pretrained``), the continuous batching step loop with its per-row
sampling rules, detokenizer, cancel and busy limits (``worker.engine.seq2seq``), and the
decoding settings the registry resolved.
"""

from __future__ import annotations

from typing import Any

from attune.contract import EmotionReading
from worker.models.base import GenerationRequest
from worker.models.causal_lm import CausalLM

# The founding project's instruction, in Flan-T5's own style ("Respond ... to ...: <input>").
EMOTIBOT_PROMPT = "Respond empathetically to a person feeling {emotion}: {text}"
DEFAULT_EMOTION = "neutral"  # when no reading of the user's message is available
DEFAULT_MAX_INPUT_TOKENS = 512  # Flan-T5's training length; longer messages keep their beginning


def emotibot_prompt(emotion: str, text: str, template: str = EMOTIBOT_PROMPT) -> str:
    """The encoder's input for one message: the instruction with the emotion and the message filled in."""
    return template.format(emotion=emotion.strip() or DEFAULT_EMOTION, text=" ".join(text.split()))


class Seq2SeqLM(CausalLM):
    """A ChatModel of kind ``seq2seq``: answers the newest user message, conditioned on its emotion.

    Options: ``prompt_template`` (default ``EMOTIBOT_PROMPT``; keep it the template the adapter was
    trained with), ``default_emotion``, ``max_input_tokens``, and the engine's ``max_batch_size`` /
    ``max_queued``. T5 has no system turn, so a system prompt is not used.
    """

    def _new_engine(self, model: Any, tokenizer: Any, **settings: Any) -> Any:
        from worker.engine.seq2seq import Seq2SeqBatchEngine

        return Seq2SeqBatchEngine(model, tokenizer, **settings)

    def submit(self, engine: Any, request: GenerationRequest, sampling: Any) -> Any:
        # A resumed reply continues in the decoder, after the text already streamed.
        return engine.submit(
            request.request_id,
            self.prompt_ids(request, sampling.max_new_tokens),
            sampling,
            decoder_prefix=self.prefix_ids(request),
        )

    def emotion_label(self, reading: EmotionReading | None) -> str:
        return reading.label if reading is not None else str(self.spec.options.get("default_emotion", DEFAULT_EMOTION))

    def prompt_text(self, request: GenerationRequest) -> str:
        """The founding prompt over the person's newest message (earlier turns are not read)."""
        text = next((turn.content for turn in reversed(request.history) if turn.role == "user"), "")
        template = str(self.spec.options.get("prompt_template", EMOTIBOT_PROMPT))
        return emotibot_prompt(self.emotion_label(request.user_emotion), text, template)

    def prompt_ids(self, request: GenerationRequest, max_new_tokens: int) -> list[int]:
        """The encoder's input ids (the reply's length does not limit them: the decoder has its own)."""
        limit = int(self.spec.options.get("max_input_tokens", DEFAULT_MAX_INPUT_TOKENS))
        return self._tokenizer(self.prompt_text(request), truncation=True, max_length=limit).input_ids
