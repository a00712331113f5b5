"""Population models: every parameter carries a leading member axis K (see docs/architecture.md).

layers: init and affine maps; mlp: classifier forward, dropout, max-norm; rbm: Bernoulli RBM and
CD-k; autoencoder: (denoising) autoencoder loss and gradients.
"""

from layerwise.models import autoencoder, layers, mlp, rbm

__all__ = ["autoencoder", "layers", "mlp", "rbm"]
