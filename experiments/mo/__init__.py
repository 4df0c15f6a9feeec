"""[MO1]/[MO2] Memorization in overparameterized autoencoders (v1 and v2 of the paper)."""
