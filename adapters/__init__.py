"""recon adapters layer."""
