"""Chaos engineering with chaostoolkit (``assay_weekly_chaos``): one experiment file, one ``chaos run``.

* :mod:`.runner` runs an experiment: validates the file, runs ``chaos run`` as a subprocess and returns a
  :class:`~.runner.ChaosResult` (``run_experiment``, ``discover_experiments``, ``validate_experiment``);
* around that subprocess: :mod:`.experiment_file` (validate a file before running it), :mod:`.journal`
  (read the journal chaostoolkit writes) and :mod:`.verdict` (checks, metrics, resilience score);
* :mod:`.providers` runs **inside the ``chaos run`` subprocess**: the Python providers the experiment files
  name by module (``assay.engines.chaos.providers.probes`` ...).

The service under test is started by :mod:`assay.service`, shared with the other engines that need one.

This ``__init__`` imports nothing, on purpose: ``chaos run`` imports it on its way to the providers, and
they must stay light (no SQLAlchemy, no pydantic). Import the runner from :mod:`.runner`.
Nothing here imports airflow.
"""

from __future__ import annotations
