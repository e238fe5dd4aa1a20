"""Fetching source videos: yt-dlp adapter, failure classification, backoff, archive, local links.

Nothing here imports yt-dlp at module level: local sources work without the `download` extra.
"""
