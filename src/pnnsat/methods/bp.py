"""``bp``: plain backpropagation through the digital twin (in silico, offline): the base
class's step, unchanged."""

from __future__ import annotations

from .base import Method


class Backprop(Method):
    name = "bp"
