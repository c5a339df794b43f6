"""Work of the recording domain that builds on other parts: a camera's recordings read within the caller's
scope (:mod:`.reads`), legal holds placed and found by site and camera (:mod:`.holds`), and per-site
retention policies (:mod:`.policy`)."""
