"""Chaos engineering with chaostoolkit.

Two kinds of modules live here:

* run **inside the ``chaos run`` subprocess**, named by experiment files as Python providers:
  :mod:`assay.chaos.probes`, :mod:`assay.chaos.actions`, :mod:`assay.chaos.tolerances` (with their
  helpers :mod:`assay.chaos.target_api` and :mod:`assay.chaos.processes`);
* used **by the engine** (:mod:`assay.engines.chaos`) around that subprocess:
  :mod:`assay.chaos.experiment_file` (validate a file before running it), :mod:`assay.chaos.journal`
  (read the journal chaostoolkit writes), :mod:`assay.chaos.verdict` (checks, metrics, resilience score)
  and :mod:`assay.chaos.service` (start and always stop the service under test).

Nothing here imports airflow, and importing this package imports nothing heavy.
"""

from __future__ import annotations
