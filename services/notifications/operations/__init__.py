"""The use cases of the notifications service, the only room where a transaction opens.

Reactions to consumed events (``projections``, ``notices``) work in the unit of work the
inbox consumer opened for the event; the delivery worker (``deliveries``), the reminder scan
(``reminders``) and the routes' reads and writes (``inbox``, ``preferences``, ``persons``)
open their own on ``UnitsOfWork``.
"""
