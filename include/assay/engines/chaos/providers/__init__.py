"""chaostoolkit Python providers, run inside the ``chaos run`` subprocess and named by experiment files as
``"module": "assay.engines.chaos.providers.<module>"``.

* :mod:`.probes`: steady-state and recovery probes against the model-serving API;
* :mod:`.actions`: the faults (and their rollbacks) injected into it;
* :mod:`.tolerances`: tolerance functions for probe outputs;
* helpers: :mod:`.target_api` (HTTP calls, endpoints, secrets) and :mod:`.processes` (the server's processes).

These modules import only the standard library, numpy, requests and psutil, and each other: nothing else of
Assay is loaded in the chaostoolkit process.
"""

from __future__ import annotations
