"""Static files with hashed names and gzip copies (WhiteNoise), tolerant of one thing only."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """Minified vendor files (static/vendor/) name source maps that are not shipped with
    them. Such a reference is left as written (a browser asks for it only with its developer
    tools open); any other missing file still fails `collectstatic`."""

    def hashed_name(self, name, content=None, filename=None):
        if content is None and name.endswith(".map") and not self.exists(name):
            return name
        return super().hashed_name(name, content, filename)
