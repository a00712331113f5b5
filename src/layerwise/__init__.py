"""layerwise: a reproducible benchmark of greedy layer-wise pretraining of deep networks.

Larochelle et al. (ICML 2007; JMLR 2009), Vincent et al. (JMLR 2010), Hinton & Salakhutdinov
(Science 2006), Srivastava et al. (JMLR 2014). Importing the package imports nothing heavy: the
report must be buildable without torch, and training without mlflow.
"""

__version__ = "0.1.0"
