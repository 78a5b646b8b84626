"""The paper's outputs from the per-run result folders.

``collect`` reads run folders into tidy pandas frames (and says which planned runs are
missing), ``aggregate`` builds the main, ablation and cost tables, ``significance`` the
paired tests of TF-LLMER against each baseline, ``claims`` the paper's claims as
verdicts (holds / contradicted / inconclusive), ``render`` writes tables as CSV, Markdown
and LaTeX with footnotes, and ``figures`` draws the figures (matplotlib, Agg backend).
"""
