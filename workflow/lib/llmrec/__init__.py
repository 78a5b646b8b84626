"""llmrec: the library behind the TF-LLMER reproduction workflow.

One room per concern, imports pointing down only: ``data`` (raw readers, preprocessing,
the processed format), ``graph``/``recpca``/``metrics``, ``encoders`` and ``lm`` (text
vectors, LLM fine-tuning), ``backbones`` (the models and their ``Backbone`` interface),
``methods`` (one module per method, each declaring what it needs), ``training`` and
``diagnostics``, ``plan`` (which jobs the experiment runs and what each receives),
``experiment`` (one grid cell) and ``report`` (tables and figures). The library never
imports snakemake; the scripts under ``workflow/scripts`` are thin rule adapters around
it, the tools under ``tools/`` call it from the command line.
"""

__version__ = "0.1.0"
