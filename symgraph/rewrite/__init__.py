"""Graph rewrites: the engine, merge, and the phases of rules."""
