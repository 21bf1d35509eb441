"""Built-in plugin ``defaults.checkers``: the ``semantic`` and ``package`` checkers (``hooks``,
``checks``)."""
