"""Protected persons' panic alerts (KADES-like): protection orders, the phones registered against them, and the
app's press and position updates, which become P1 alerts in the queue."""
