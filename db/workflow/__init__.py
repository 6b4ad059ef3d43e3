"""The blinded reading workflow: trials and charter, worklists, reads (drafts, signatures, masks),
adjudication, progress, lock and unblinding."""
