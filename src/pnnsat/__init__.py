"""pnnsat: sharpness-aware training (SAT) of physical neural networks.

Four words organise the library (see ``platforms.base``): control parameters Θ, the digital twin,
the device (twin + hidden fabrication errors drawn from a seed) and the perturbation (drift,
misalignment applied after deployment, never written into Θ).
"""

__version__ = "0.1.0"
