"""The simulated backend: MTJ physics, virtual lab, instrument emulators, faults."""
