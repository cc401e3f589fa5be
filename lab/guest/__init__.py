"""What a check can learn about the guest: its system (services, files,
packages, users, sockets, listeners), its nginx configuration and its HTTP
answers. Checks reach these through `ctx.guest` and `ctx.http`; a new guest
fact goes in here, never in a step's module."""
