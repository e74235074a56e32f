"""Domain errors shared by every app.

`TransitionError` means "this cannot happen in the current state" (HTTP 409 in the API);
bad input raises Django's `ValidationError` (HTTP 400). Both carry a message written for the
person who will read it.
"""


class TransitionError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
