"""Datasets: raw readers per source, preprocessing, and the one processed format."""
