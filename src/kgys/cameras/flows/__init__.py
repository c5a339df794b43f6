"""Work of the cameras domain that builds on other parts: a site's system found within the caller's scope
and its compliance stored on the site (:mod:`.systems`), and the recorder and camera rows of a registry
import (:mod:`.imports`)."""
