"""Evidence: footage requests under judicial authority. An investigator asks for cameras × time ranges of an
investigation; the footage is held at once (provisionally, lapsing by itself); the judicial liaison records the
court's or prosecutor's decision (granted with a scope no wider than asked, or refused); a second person approves
the release (never the requester); the investigator plays back only what an approved, valid decision covers; the
release leaves as a signed package that anyone can verify (``kgys-verify``), faces of bystanders redacted where
asked. Every step is written to the audit log with its legal basis."""
