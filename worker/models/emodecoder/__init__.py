"""The ``emodecoder`` kind: a frozen causal LM with emotion-conditioned dual-head adapters.

``architecture`` (the module), ``inference`` (masks, sampling, EMA, alignment), ``serving``
(``EmoDecoderModel``, the ChatModel the worker loads). Nothing is imported here so that
listing models never imports torch.
"""
