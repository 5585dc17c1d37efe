"""Cited works resolved against Crossref, PubMed and ClinicalTrials.gov."""

from .model import Work

__all__ = ["Work"]
