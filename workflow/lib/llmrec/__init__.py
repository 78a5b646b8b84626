"""llmrec: the library behind the TF-LLMER reproduction workflow.

One room per concern: ``data`` (raw readers, preprocessing, the processed format),
``backbones``, ``training``, ``metrics``, and later ``encoders``, ``methods``,
``diagnostics`` and ``plots``. The library never imports snakemake; the scripts under
``workflow/scripts`` are thin adapters around it.
"""

__version__ = "0.1.0"
