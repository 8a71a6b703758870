"""mtjlab: train neural networks of physical magnetic tunnel junctions in the loop."""

__version__ = "0.1.0"
