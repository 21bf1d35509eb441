"""Built-in plugin ``defaults.inprocess``: the ``inprocess`` container for trusted packages
(``hooks``, ``container``)."""
