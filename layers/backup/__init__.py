"""Backup and restore of a Linde database with its photo and evidence folders, on either engine.

``archive`` says what a backup file holds and what both directions share,
``write`` makes one (``backup``), ``restore`` puts one back (``restore``).
"""
