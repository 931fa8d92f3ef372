"""pnnsat: sharpness-aware training (SAT) of physical neural networks.

Four words organise the library (see ``platforms.base``): control parameters Θ, the digital twin,
the device (twin + hidden fabrication errors drawn from a seed) and the perturbation (drift,
misalignment applied after deployment, never written into Θ).
"""

from .numerics import pin as _pin_numerics

__version__ = "0.1.0"

# Before torch runs anything: the same kernels on every CPU (see pnnsat.numerics).
_pin_numerics()
