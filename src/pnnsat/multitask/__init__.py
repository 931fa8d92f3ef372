"""Beyond classification (fig6, ``docs/multitask.md``): image reconstruction and image generation
with MRR weight banks as the physical layers, trained offline (bp, nat, sat) and evaluated under
thermal drift, beside the classification models of the method matrix.

* :mod:`.networks` — the autoencoder, the variational autoencoder and the digital feature
  classifier;
* :mod:`.frechet` — the Fréchet distance between two sets of images in that classifier's feature
  space;
* :mod:`.training` — the training loop of the two generative tasks and of the feature classifier;
* :mod:`.evaluation` — the metric of each task vs ΔT on the twin and on device A, as one table.
"""

from __future__ import annotations

from .frechet import frechet_distance
from .networks import TASK_NETWORKS, FeatureClassifier, MRRAutoencoder, MRRVariationalAutoencoder

#: the tasks of fig6 and the metric each reports (lower is better except accuracy)
TASK_METRICS = {"classification": "accuracy", "reconstruction": "mse",
                "generation": "frechet_distance"}

__all__ = ["TASK_METRICS", "TASK_NETWORKS", "FeatureClassifier", "MRRAutoencoder",
           "MRRVariationalAutoencoder", "frechet_distance"]
