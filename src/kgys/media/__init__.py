"""Media tools every domain may use: reading MPEG-TS segments and the names of segment files. Pure, no
database; part of the shared kernel (it imports no domain)."""
