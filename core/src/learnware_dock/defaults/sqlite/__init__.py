"""Built-in plugin ``defaults.sqlite``: the SQLite organizer (``hooks``), its store, schema,
content-addressed files and failure messages."""
