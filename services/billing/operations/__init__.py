"""What the billing service does, called alike by its routes, its handlers and its scheduled
jobs: each use case opens its unit of work (or takes the one of the event it handles), asks
the domain, stores through the repository and emits the events it causes."""
