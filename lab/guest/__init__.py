"""What a check can learn about the guest: its system (services, files,
packages, users, sockets, listeners), its nginx configuration and its HTTP
answers. Checks reach these probes through `ctx.guest` and `ctx.http`; a new
one goes in here, never in a step's module (the deployment's facts, what the
probes are compared with, are provision/facts.py's)."""
