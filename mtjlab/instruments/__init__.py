"""Device interfaces, instrument adapters, the Bench and the NeuronArrays."""
