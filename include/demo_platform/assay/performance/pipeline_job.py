"""One training pipeline run of the demo platform, as the nightly pipeline-execution test runs it N at a time.

Run with the demo platform on the path (``PYTHONPATH=include/demo_platform``, as include/config/assay.yaml's
``pipeline_load`` sets it); exits non-zero when the
pipeline fails or its accuracy misses the bar, which counts as an incomplete run.
"""

import torch
from fraud import TrainingPipeline, make_fraud_dataset

torch.set_num_threads(1)
df = make_fraud_dataset(2000, seed=0)
pipeline = TrainingPipeline(epochs=3, seed=0).fit(df)
accuracy = pipeline.evaluate(df)["accuracy"]
assert accuracy >= 0.85, f"accuracy {accuracy:.3f} < 0.85"
print(pipeline.model_id)
