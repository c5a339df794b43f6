"""Work of the devices domain that builds on other parts: the site a device is provisioned at or listed of,
looked up by the sites domain within scope (:mod:`.registry`); the supervisor's board of the alert queue with the
devices offline (:mod:`.board`); lockdown orders decided on the alert queue, by an operator or by a CAP message
(:mod:`.lockdown`)."""
