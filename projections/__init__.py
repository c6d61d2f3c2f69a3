"""recon projections layer."""
