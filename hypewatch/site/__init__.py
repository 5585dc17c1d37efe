"""The public site: small Datasette plugins (labels, markup, search, cells, charts, pages, feeds, guard, sandbox).

Each module below registers its own hooks through the ``datasette`` entry points
of this distribution (pyproject.toml), so they load however Datasette starts
(``hypewatch serve`` or a plain ``datasette`` command) once hypewatch is installed.
``data`` holds what the pages and charts share, ``pagedata`` what the item and study pages read
(citations checked, a study's paper, trial and tellings) and ``headers`` the security headers guard
sends; none of them registers hooks.
"""

#: The name the database is published under, whatever its file is called.
DATABASE = "hypewatch"


def site_config(datasette) -> dict:
    """This site's plugin settings (``plugins: hypewatch:`` in metadata.yaml)."""
    return datasette.plugin_config("hypewatch") or {}
