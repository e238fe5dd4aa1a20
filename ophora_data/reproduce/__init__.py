"""`ophora-data reproduce`: rebuild a release from its manifest and verify every clip's fingerprint."""
