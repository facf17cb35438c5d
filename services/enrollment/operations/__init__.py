"""What the enrollment service does: the one room where its transactions open.

- ``applications``: submit, withdraw and reject an application; read applications.
- ``enrollments``: change the terms of an enrolment, terminate it; read enrolments.
- ``reactions``: what consumed events do (a policy kept, documents verified or rejected, a bill
  overdue, arrears settled), in the unit of work the inbox consumer opened for the event.
- ``common``: the refusals operations raise for the routes to answer, the records they return.

An operation loads through the repository, asks the domain, stores, and emits its events with
``uow.emit`` so that they reach the outbox in the same transaction as the change.
"""
