"""Device-in-the-loop training: network, gradient methods, optimisers, trainer."""
