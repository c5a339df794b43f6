"""Recording: ffmpeg supervision, spool → verify → hash → store → index, gaps, health, retention and holds."""
