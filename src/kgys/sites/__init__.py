"""Schools, kindergartens, colleges and city points; priorities; roll-out status; commissions."""
