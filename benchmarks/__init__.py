"""Command-line benchmarks: ``python -m benchmarks.<name>``, each writing data and plots
into an output folder. Nothing in the project imports this package."""
