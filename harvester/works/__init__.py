"""Cited works resolved against Crossref, PubMed and ClinicalTrials.gov: parsers (bytes -> Work) and the resolver."""

from .model import Work, row_to_work, work_to_row

__all__ = ["Work", "row_to_work", "work_to_row"]
