"""The alert queue: every alarm of every source (school panic buttons, protected persons' app, access control,
the recorder's technical alarms) as one kind of alert, in one queue that operators work."""
