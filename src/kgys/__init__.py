"""kgys — Kent Güvenlik Yönetim Sistemi, an open City Security Management System."""

__version__ = "0.1.0"
