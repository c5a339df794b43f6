"""Live view and playback in the browser: HLS from the recorder's spool and index, tickets, clips."""
