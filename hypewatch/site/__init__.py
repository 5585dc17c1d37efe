"""The public site: Datasette plugins (labels, search, pages, charts, feeds), registered as an entry point."""
