"""Work of the devices domain that builds on other parts: lockdown orders decided on the alert queue, by an operator
or by a CAP message (:mod:`.lockdown`)."""
