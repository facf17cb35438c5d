"""What the documents service talks to outside itself: the file store (``storage``) and the
multipart body of an upload as it streams in (``intake``)."""
