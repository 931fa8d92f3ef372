"""Networks of the reconstruction and generation tasks, whose physical layers are MRR weight
banks exactly as in the classification network (:class:`pnnsat.platforms.mrr.MRRWeightBank`:
the same Lorentzian, fabrication errors and thermal drift), and the digital classifier whose
features define the Fréchet distance.

Images are Fashion-MNIST, 28 × 28; the networks take them normalised (as every model of the
project does) and produce pixel intensities in [0, 1].
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..platforms.base import PNN, LayerErrors
from ..platforms.mrr import MRRPerturbation, MRRPhysics, MRRWeightBank

PIXELS = 28 * 28


def _errors(device: Any | None, name: str) -> LayerErrors | None:
    return None if device is None else device.for_layer(name)


class MRRAutoencoder(PNN):
    """Image reconstruction: digital encoder 784 → ``hidden`` (ReLU), then two weight banks
    ``hidden`` → ``code`` → ``hidden`` (ReLU after each: the bottleneck and its expansion are
    photonic), then a digital decoder ``hidden`` → 784 with a sigmoid.

    ``features`` is the digital encoder (unchanged by devices and drift); ``head`` returns the
    reconstructed pixel intensities (B, 784) in [0, 1].
    """

    def __init__(self, physics: MRRPhysics, hidden: int = 128, code: int = 32) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(PIXELS, hidden), nn.ReLU())
        self.bank1 = MRRWeightBank(hidden, code, physics, layer_index=0)
        self.bank2 = MRRWeightBank(code, hidden, physics, layer_index=1)
        self.decoder = nn.Linear(hidden, PIXELS)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def head(self, h: torch.Tensor, device: Any | None = None,
             perturbation: MRRPerturbation | None = None) -> torch.Tensor:
        code = F.relu(self.bank1(h, _errors(device, "bank1"), perturbation))
        h = F.relu(self.bank2(code, _errors(device, "bank2"), perturbation))
        return torch.sigmoid(self.decoder(h))


class MRRVariationalAutoencoder(PNN):
    """Image generation: a variational autoencoder (Kingma & Welling 2014) whose **decoder** — the
    generator — carries the weight banks: latent z (``latent``) → digital ``decoder[0]`` (ReLU; z
    may be negative, optical powers may not) → banks ``decoder[0]`` → ``decoder[1]`` →
    ``decoder[2]`` (ReLU after each) → digital 784 with a sigmoid. The encoder (784 → ``hidden``
    → 2·``latent``: mean and log-variance) is digital and only used in training.

    Training input: the flattened normalised image followed by the reparameterisation's unit
    normal noise, (B, 784 + latent), drawn by the training loop, so that both forwards of a SAT
    step see the same noise. ``forward`` returns (B, 784 + 2·latent): the decoder's logits, then
    the posterior mean and log-variance (the ELBO's inputs, :func:`vae_loss`).

    ``features``/``head`` make the generator a :class:`~pnnsat.platforms.base.PNN`: ``features``
    maps latents to the first bank's input, ``head`` returns images (B, 784) in [0, 1].
    """

    def __init__(self, physics: MRRPhysics, latent: int = 16, hidden: int = 256,
                 decoder: tuple[int, int, int] = (64, 128, 256)) -> None:
        super().__init__()
        if len(decoder) != 3:
            raise ValueError(f"generation.decoder = {list(decoder)}: give three widths (the "
                             "digital layer, then the two banks' outputs).")
        self.latent = latent
        self.encoder = nn.Sequential(nn.Linear(PIXELS, hidden), nn.ReLU(),
                                     nn.Linear(hidden, 2 * latent))
        self.decoder_in = nn.Sequential(nn.Linear(latent, decoder[0]), nn.ReLU())
        self.bank1 = MRRWeightBank(decoder[0], decoder[1], physics, layer_index=0)
        self.bank2 = MRRWeightBank(decoder[1], decoder[2], physics, layer_index=1)
        self.decoder_out = nn.Linear(decoder[2], PIXELS)

    def features(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder_in(z)

    def logits(self, h: torch.Tensor, device: Any | None = None,
               perturbation: MRRPerturbation | None = None) -> torch.Tensor:
        h = F.relu(self.bank1(h, _errors(device, "bank1"), perturbation))
        h = F.relu(self.bank2(h, _errors(device, "bank2"), perturbation))
        return self.decoder_out(h)

    def head(self, h: torch.Tensor, device: Any | None = None,
             perturbation: MRRPerturbation | None = None) -> torch.Tensor:
        return torch.sigmoid(self.logits(h, device, perturbation))

    def generate(self, z: torch.Tensor, device: Any | None = None,
                 perturbation: MRRPerturbation | None = None) -> torch.Tensor:
        """Images (B, 784) in [0, 1] decoded from latents ``z`` on ``device`` under
        ``perturbation`` (None: the twin at nominal conditions)."""
        return self.head(self.features(z), device, perturbation)

    def forward(self, x: torch.Tensor, device: Any | None = None,
                perturbation: MRRPerturbation | None = None) -> torch.Tensor:
        images, noise = x[:, :PIXELS], x[:, PIXELS:]
        mean, log_var = self.encoder(images).chunk(2, dim=1)
        z = mean + torch.exp(0.5 * log_var) * noise
        return torch.cat([self.logits(self.features(z), device, perturbation), mean, log_var], 1)


def vae_loss(outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Negative ELBO per pixel: (Bernoulli reconstruction + KL(q(z|x) ‖ N(0, I))) / 784, mean
    over the batch. ``outputs`` as returned by :meth:`MRRVariationalAutoencoder.forward`;
    ``target``: pixel intensities (B, 784) in [0, 1]."""
    logits, rest = outputs[:, :PIXELS], outputs[:, PIXELS:]
    mean, log_var = rest.chunk(2, dim=1)
    reconstruction = F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(1)
    kl = 0.5 * (mean.pow(2) + log_var.exp() - 1.0 - log_var).sum(1)
    return ((reconstruction + kl) / PIXELS).mean()


class FeatureClassifier(nn.Module):
    """A digital LeNet-5 (conv 6 → conv 16 → 120 → 84 → 10, BatchNorm, ReLU) trained here on the
    training split: its 84 penultimate activations are the feature space of the Fréchet distance
    (the role Inception-v3 plays in FID; no pretrained weights are reachable offline, and a
    network trained on the data set itself is the usual substitute for 28 × 28 images)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        )
        self.classifier = nn.Linear(84, 10)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The 84 features of normalised images ``x`` (B, 1, 28, 28)."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.embed(x))


#: task -> (network class, the keys of its config block it takes)
TASK_NETWORKS: dict[str, type[PNN]] = {
    "reconstruction": MRRAutoencoder,
    "generation": MRRVariationalAutoencoder,
}
