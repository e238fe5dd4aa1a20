"""ffmpeg/ffprobe argv builders, one runner, frame sampling."""
