"""Built-in plugin ``defaults.semantic``: the semantic searcher (``hooks``, ``searcher``)."""
