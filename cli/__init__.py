"""recon cli layer."""
