"""asv benchmarks for fastmlp."""
