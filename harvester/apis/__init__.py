"""Research APIs, one module each (PubMed, Europe PMC, ClinicalTrials.gov), read like feeds.

``base`` holds the adapter contract and error boundary they share, ``fields`` the readers of
untrusted record fields; ``harvester.parsers`` registers each adapter under its source kind.
"""
