"""hypewatch, the application: the command line, settings, the service, the site, the digest and the demo.

It sits on top of the three libraries it drives: `harvester` (the pipeline that fetches,
parses, identifies and stores items), `scoring` (pure: item in, labels with reasons out) and
`db` (SQLite). Nothing below imports it.
"""
