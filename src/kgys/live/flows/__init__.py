"""Work of the live domain that builds on other parts: opening live views and playbacks, the timeline and the
footage a ticket reaches (:mod:`.viewing`), and clip export (:mod:`.clip`)."""
