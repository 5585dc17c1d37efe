"""Research APIs, one module each (PubMed, Europe PMC, ClinicalTrials.gov), read like feeds."""
