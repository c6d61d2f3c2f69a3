"""recon domain layer."""
