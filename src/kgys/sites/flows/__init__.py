"""Work of the sites domain that builds on other parts: the audit log as a reader within a site scope sees
it (:mod:`.audit`), and provinces and districts of the shipped list made by accounts (:mod:`.jurisdictions`)."""
