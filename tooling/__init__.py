"""Platform tooling beside the kernel: the local platform's launcher and embedded servers,
the journey driver of the demo and end-to-end tests, and the operator's command line.

No service imports this package; it imports the kernel (``shared``) and, for the
launcher, starts the services as processes.
"""
