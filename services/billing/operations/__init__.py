"""What the billing service does, called alike by its routes and its scheduled jobs:
each function opens its transactions, asks the domain, stores through the repository
and writes the events it causes to the outbox in the same transaction."""
