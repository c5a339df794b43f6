"""Where dispatch builds on other domains: incidents (recommending, assigning, closing) and the alert queue."""
