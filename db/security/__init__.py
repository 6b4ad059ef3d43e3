"""Who may do what, and proof of it: accounts and passwords, the access rules, the audit trail,
the content hash a signature covers."""
