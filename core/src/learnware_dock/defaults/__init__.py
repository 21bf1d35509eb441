"""Built-in plugins: ordinary plugins registered last (``trylast``), each blockable."""
