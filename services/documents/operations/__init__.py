"""The use cases of the documents service, one module per part of the trade: the dossiers
that enrollment's events open and close (``dossiers``), uploads (``uploads``), verdicts
(``reviews``), reads of dossiers, files and the review queue (``reading``) and the retention
purge (``retention``). The only room where a transaction opens: each opens its own unit of
work on ``units`` (or, for a consumed event, works in the unit it is handed), asks the
domain, stores through the repository and emits its events with ``uow.emit``.
"""
