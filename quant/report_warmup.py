"""Preloaded by the report pool's forkserver (:mod:`quant.report_pool`): imports
:mod:`quant.report` and runs :func:`quant.report.warm_up` once.

Why: the first drawing in a process loads the fonts (FreeType faces for Agg, the AFM metrics of
the PDF core fonts) and fills matplotlib's font caches, ~0.1 s. Done here, before the workers
fork, every worker inherits the warm caches instead of paying it again while ``lungread stats``
waits for its figures.
"""

from quant.report import warm_up

warm_up()
