"""The logic behind the operator's command line (``shebao``, see ``tooling/cli.py``).

Each module does one job and returns plain results that the CLI prints:

- ``kafka``: clients, offsets and exclusive membership of a consumer group;
- ``topics``: topics, partitions, end offsets and each consumer group's lag;
- ``replay``: rewinding a stopped service's consumer group;
- ``dlq``: listing and redriving dead letters;
- ``outbox``: re-emitting sent events from a service's outbox;
- ``projections``: which tables of each service are projections, and rebuilding them;
- ``event_doc``: the event catalog table of ``docs/events.md``;
- ``events``, ``export``, ``columns``: analysts' ``events tail`` and ``events export`` (JSON Lines,
  Parquet with typed columns), personal data masked unless authorised;
- ``cli_support``, ``commands``, ``event_commands``: the command line on top of them.

A failure the operator can act on raises ``OpsError`` with a message saying what to do.
"""


class OpsError(Exception):
    """An operator command could not do its job; the message says why and what to do."""
