"""The ``emodecoder`` kind: a frozen causal LM with emotion-conditioned dual-head adapters.

``architecture`` (the module, its masks and decode state), ``inference`` (the EMA of the reply's
emotion, the alignment score), ``serving`` (``EmoDecoderModel``, the ChatModel the worker loads,
decoding through ``worker.engine.emodecoder``). Nothing is imported here so that
listing models never imports torch.
"""
