"""Work of the alerts domain that builds on other parts: the list of alerts of a site named by its code
(:mod:`.listing`). The supervisor's board reads the devices, which build on the queue: it is assembled in
:mod:`kgys.devices.flows.board`."""
