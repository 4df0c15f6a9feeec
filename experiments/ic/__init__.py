"""[IC] Identity crisis: memorization and generalization under extreme overparameterization."""
