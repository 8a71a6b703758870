"""Studies: grids of training runs on Dask, and their results."""
