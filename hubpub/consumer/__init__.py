"""The consumer's side: ``hub.Module`` and ``hub.load`` (``module``)."""
